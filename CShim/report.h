/*
 * report.h: the one deny path's report. Lines are built in a stack buffer
 * with async-signal-safe appends and written with one write(2), so that a
 * signal handler may deny and concurrent processes never interleave.
 */
#ifndef SAFESOCK_REPORT_H
#define SAFESOCK_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct safesock_line {
	char text[1024];
	size_t length;
};

void safesock_line_add(struct safesock_line *line, const char *text);
void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n);
void safesock_line_add_uint(struct safesock_line *line, uint64_t value);

/* `safesock: permission denied for host HOST port PORT (RULES)` on stderr;
 * `rules` is NULL-terminated text such as "home.cfg:4" or "default". */
void safesock_report_denial(const char *op, const char *host, unsigned port, const char *why, int learn);

/* One line, once per process, saying why there is no table. */
void safesock_report_no_table(const char *fault);

#endif

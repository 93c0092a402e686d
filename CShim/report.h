/*
 * report.h: the one deny path's report. With SAFESOCK_LOG set, a JSON
 * record per denial (in learn mode, per decision) is appended to the log;
 * without it, a denial prints one line on standard error. Each is built in
 * a stack buffer with async-signal-safe appends and written with one
 * write(2), so a signal handler may deny and concurrent processes never
 * interleave.
 */
#ifndef SAFESOCK_REPORT_H
#define SAFESOCK_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define SAFESOCK_RECORD_RULES 8
#define SAFESOCK_RULE_TEXT 300

struct safesock_record {
	const char *op;      /* connect, sendto, sendmsg, sendmmsg, resolve, service, bind, listen, getpeername */
	const char *host;    /* the name the program used, or the address */
	const char *address; /* canonical address text, or NULL */
	int port;            /* -1: none */
	int allowed;         /* only learn mode records allowed decisions */
	int learn;           /* learn mode: a would-be denial, not enforced */
	const char *reason;  /* why, when no rule decided (no table, datagrams deny, ...) */
	size_t rule_count;   /* the deciding rules, "FILE:LINE" */
	char rules[SAFESOCK_RECORD_RULES][SAFESOCK_RULE_TEXT];
};

void safesock_report(const struct safesock_record *record);

/* One line, once per process, saying why there is no table. */
void safesock_report_no_table(const char *fault);

/* Opens the audit log named by SAFESOCK_LOG (state.c calls it at load). */
void safesock_log_open(const char *path);

struct safesock_line {
	char text[2048];
	size_t length;
};
void safesock_line_add(struct safesock_line *line, const char *text);
void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n);
void safesock_line_add_uint(struct safesock_line *line, uint64_t value);

#endif

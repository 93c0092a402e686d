/*
 * report.c: denial lines on standard error (the audit log comes with the
 * name memory, issue 5). Async-signal-safe: no stdio, no allocation.
 */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n)
{
	size_t room = sizeof line->text - 1 - line->length;
	if (n > room)
		n = room;
	memcpy(line->text + line->length, text, n);
	line->length += n;
}

void safesock_line_add(struct safesock_line *line, const char *text)
{
	safesock_line_add_n(line, text, strlen(text));
}

void safesock_line_add_uint(struct safesock_line *line, uint64_t value)
{
	char digits[20];
	size_t n = 0;
	do {
		digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value > 0);
	safesock_line_add_n(line, digits + sizeof digits - n, n);
}

static void emit(struct safesock_line *line)
{
	line->text[line->length++] = '\n';
	/* One write: short writes to stderr are the terminal's, not ours. */
	ssize_t ignored = write(STDERR_FILENO, line->text, line->length);
	(void)ignored;
}

void safesock_report_denial(const char *op, const char *host, unsigned port, const char *why, int learn)
{
	struct safesock_line line = { .length = 0 };
	safesock_line_add(&line, learn ? "safesock: learn: would deny " : "safesock: permission denied for ");
	if (strcmp(op, "connect") != 0) {
		safesock_line_add(&line, op);
		safesock_line_add(&line, " to ");
	}
	safesock_line_add(&line, "host ");
	safesock_line_add(&line, host);
	safesock_line_add(&line, " port ");
	safesock_line_add_uint(&line, port);
	safesock_line_add(&line, " (");
	safesock_line_add(&line, why);
	safesock_line_add(&line, ")");
	emit(&line);
}

void safesock_report_no_table(const char *fault)
{
	static _Atomic int said;
	if (atomic_exchange(&said, 1))
		return;
	struct safesock_line line = { .length = 0 };
	safesock_line_add(&line, "safesock: no usable policy table (");
	safesock_line_add(&line, fault);
	safesock_line_add(&line, "): every network connection is denied");
	emit(&line);
}

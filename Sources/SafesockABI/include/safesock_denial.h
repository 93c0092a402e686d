/*
 * safesock_denial.h: the one writer of denial lines and audit records, for
 * both enforcers (CShim/report.c, and the supervisor's Supervisor.swift).
 * The record's fields are docs/audit-log.md's. A denial line
 * says what was refused, why, by which policy, and the command that shows
 * why:
 *
 *   safesock: permission denied for host api.example.com port 443
 *     (no rule allows it; policy ci.cfg) — safesock explain ci.cfg api.example.com 443
 *
 * (one line). Async-signal-safe: no stdio, no allocation; text is built
 * in a caller's stack buffer.
 */
#ifndef SAFESOCK_DENIAL_H
#define SAFESOCK_DENIAL_H

#include <stddef.h>
#include <stdint.h>

struct safesock_line {
	char text[2048];
	size_t length;
	int escape; /* SAFESOCK_ESCAPE_*: how text is escaped as it is added */
};
/* Inside a JSON string: `"` and `\` escaped (the text added is printable ASCII). */
#define SAFESOCK_ESCAPE_JSON 1
/* Inside an RFC 5424 PARAM-VALUE: `"`, `\` and `]` escaped, a control byte
 * written \xHH, a byte above 0x7e as the UTF-8 of the code point of its
 * value (what the JSON reader gets for it). */
#define SAFESOCK_ESCAPE_SD 2
/* A line a person reads (the journal's MESSAGE, syslog's MSG): control
 * bytes and bytes above 0x7e written \xHH, so a name cannot end it. */
#define SAFESOCK_ESCAPE_TEXT 3
void safesock_line_add(struct safesock_line *line, const char *text);
void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n);
void safesock_line_add_uint(struct safesock_line *line, uint64_t value);
/* The decimal digits of `value` at the start of `out`; how many. */
size_t safesock_decimal(char out[20], uint64_t value);

struct safesock_denial {
	const char *layer;   /* "" for the library, "kernel" for the supervisor */
	int learn;           /* learn mode: "would deny" */
	const char *op;      /* connect, sendto, resolve, bind, getpeername, ... */
	const char *host;    /* the name the program used, or the address; "" for none */
	const char *address; /* canonical address text, or NULL */
	int port;            /* -1: none */
	const char *reason;  /* the decision's reason, or NULL */
	const char *rules;   /* the deciding rules, "FILE:LINE", each ended by a NUL */
	size_t rules_length; /* 0: none */
	const char *policy;  /* the table's label: explain's words, NUL-separated */
	size_t policy_length; /* 0: no label known */
	const char *origin;  /* the program's origin, or NULL or "" */
	/* For the audit record only: */
	int allowed;         /* verdict allow (learn mode, a masked getpeername) */
	int32_t pid;
	const char *program; /* the process's name, or NULL */
	uint64_t time_ms;    /* when, in milliseconds since the epoch */
};

/* The audit record's version: its "v" field (docs/audit-log.md). */
#define SAFESOCK_AUDIT_VERSION 1

/* The audit record, one JSON object without its newline (docs/audit-log.md,
 * every field). 0, or -1 when it did not fit in the line: then it must not
 * be written, half a record is not JSON. */
int safesock_audit_record(struct safesock_line *line, const struct safesock_denial *d);

/* The denial line, without its newline. Every text a program chose (its
 * host) is written as it is; the explain command only when every word of
 * it is printable ASCII. */
void safesock_denial_line(struct safesock_line *line, const struct safesock_denial *d);

/* The label as words a shell reads back ("--profile pypi"); nothing when
 * there is none or it cannot be quoted. */
void safesock_denial_policy(struct safesock_line *line, const struct safesock_denial *d);

/* `safesock explain ...` for this denial; returns 0 and writes nothing when
 * explain cannot judge it (no label, no port, no host), when a word is not
 * printable ASCII, or when the line has no room for all of it. */
int safesock_denial_explain(struct safesock_line *line, const struct safesock_denial *d);

#endif

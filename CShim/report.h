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

#include "safesock_denial.h"

#define SAFESOCK_RECORD_RULES 8
#define SAFESOCK_RULE_TEXT 300
#define SAFESOCK_POLICY_TEXT 512

struct safesock_record {
	const char *op;      /* connect, sendto, sendmsg, sendmmsg, resolve, service, bind, listen, getpeername */
	const char *host;    /* the name the program used, or the address */
	const char *address; /* canonical address text, or NULL */
	int port;            /* -1: none */
	int allowed;         /* only learn mode records allowed decisions */
	int learn;           /* learn mode: a would-be denial, not enforced */
	const char *reason;  /* why, when no rule decided (no table, datagrams deny, ...) */
	/* The deciding rules, "FILE:LINE" each ended by a NUL, and the
	 * table's label (explain's words, NUL-separated), copied while the
	 * table was held (verdict.c); lengths 0: none. */
	size_t rules_length;
	char rules[SAFESOCK_RECORD_RULES * SAFESOCK_RULE_TEXT];
	size_t policy_length;
	char policy[SAFESOCK_POLICY_TEXT];
	const char *origin;  /* the program's origin, or NULL */
};

void safesock_report(const struct safesock_record *record);

/* One line, once per process, saying why there is no table. */
void safesock_report_no_table(const char *fault);

/* Opens the audit log named by SAFESOCK_LOG (state.c calls it at load). */
void safesock_log_open(const char *path);


#endif

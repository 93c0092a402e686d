/*
 * safesock_audit.h: where audit records go besides a file, for both
 * enforcers. `--log journal` and `--log syslog` send each record as one
 * datagram to a unix socket: the systemd journal's native protocol
 * (FIELD=value lines) or an RFC 5424 line with the fields as structured
 * data. The fields are the JSON record's, written by the same walk
 * (denial.c); docs/audit-log.md maps them. Async-signal-safe, no
 * allocation: built in the caller's line, sent by the caller
 * (MSG_DONTWAIT: a full socket drops the record, never blocks).
 */
#ifndef SAFESOCK_AUDIT_H
#define SAFESOCK_AUDIT_H

#include "safesock_denial.h"

enum safesock_audit_sink {
	SAFESOCK_AUDIT_FILE,    /* JSON lines appended to a file */
	SAFESOCK_AUDIT_JOURNAL, /* the journal's native protocol */
	SAFESOCK_AUDIT_SYSLOG,  /* RFC 5424 */
};

#define SAFESOCK_JOURNAL_SOCKET "/run/systemd/journal/socket"
#define SAFESOCK_SYSLOG_SOCKET "/dev/log"
/* RFC 5424's SD-ID: a name of our own under 32473, the example private
 * enterprise number RFC 5612 reserves for documentation. */
#define SAFESOCK_SYSLOG_SD_ID "safesock@32473"

/* What a --log value names: "journal", "journal:PATH", "syslog",
 * "syslog:PATH", else a file. `*path` is the file, or the socket; NULL for
 * a socket PATH that is not absolute (no records are sent there). */
enum safesock_audit_sink safesock_audit_sink_of(const char *spec, const char **path);

/* The record as one journal datagram: SAFESOCK_* fields, PRIORITY,
 * SYSLOG_IDENTIFIER, MESSAGE last (cut short if it must be). 0, or -1 when
 * the fields did not fit: then it must not be sent. */
int safesock_audit_journal(struct safesock_line *line, const struct safesock_denial *d);

/* The record as one RFC 5424 message, `hostname` its HOSTNAME ("-" when
 * NULL or not printable); 0 or -1 as above. */
int safesock_audit_syslog(struct safesock_line *line, const struct safesock_denial *d, const char *hostname);

/* The syslog severity of a record: 4 (warning) a denial, 5 (notice) a
 * learn-mode would-be denial, 6 (info) an allowed call. */
int safesock_audit_priority(const struct safesock_denial *d);

#endif

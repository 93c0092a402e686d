/*
 * report.c: denial lines and audit records. Async-signal-safe: no stdio,
 * no allocation; the log file is checked (fstat) before each record, so a
 * program that closed our descriptor and reused its number never has a
 * record written into its own file. `journal` and `syslog` logs are a unix
 * datagram socket opened at load (safesock_audit.h): each record is one
 * datagram sent with the library's own system call (raw.c), never through
 * its own sendto, and MSG_DONTWAIT: a full socket or a missing listener
 * drops the record, said once on standard error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "raw.h"
#include "report.h"
#include "safesock_audit.h"

extern char *program_invocation_short_name;

static char log_path[PATH_MAX];
static _Atomic int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;
static enum safesock_audit_sink log_sink;
static struct sockaddr_un log_socket;
static char log_hostname[sizeof ((struct utsname *)0)->nodename];
static _Atomic int said_dropped;

/* A datagram socket for a journal or syslog listener at `path`; -1 when
 * the path cannot be a socket's. Not connected: a listener that starts
 * later still gets the records after it. */
static int open_socket(const char *path)
{
	if (path == NULL || strlen(path) >= sizeof log_socket.sun_path)
		return -1;
	log_socket.sun_family = AF_UNIX;
	strcpy(log_socket.sun_path, path);
	struct utsname names;
	if (uname(&names) == 0)
		memcpy(log_hostname, names.nodename, sizeof log_hostname);
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

void safesock_log_open(const char *spec)
{
	if (spec == NULL || *spec == '\0' || strlen(spec) >= sizeof log_path)
		return;
	if (spec != log_path) /* a reopen passes log_path itself */
		strcpy(log_path, spec);
	const char *path;
	log_sink = safesock_audit_sink_of(log_path, &path);
	int fd = log_sink == SAFESOCK_AUDIT_FILE ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : open_socket(path);
	if (fd < 0)
		return;
	/* Out of the way of the low numbers programs reuse. */
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 512);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	log_dev = st.st_dev;
	log_ino = st.st_ino;
	atomic_store(&log_fd, fd);
}

/* The log's descriptor if it is still our file, reopened if it is not. */
static int current_log(void)
{
	int fd = atomic_load(&log_fd);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == log_dev && st.st_ino == log_ino)
		return fd;
	atomic_store(&log_fd, -1);
	safesock_log_open(log_path);
	return atomic_load(&log_fd);
}

static void emit(int fd, struct safesock_line *line)
{
	line->text[line->length++] = '\n';
	int saved = errno;
	ssize_t ignored = write(fd, line->text, line->length);
	(void)ignored;
	errno = saved;
}

/* The record as the one denial writer takes it. */
static void denial_of(const struct safesock_record *r, struct safesock_denial *d)
{
	*d = (struct safesock_denial){ .layer = "", .learn = r->learn, .op = r->op, .host = r->host, .address = r->address,
				       .port = r->port, .reason = r->reason, .rules = r->rules, .rules_length = r->rules_length,
				       .policy = r->policy, .policy_length = r->policy_length, .origin = r->origin,
				       .allowed = r->allowed };
}

/* The record with who and when, for the audit record. */
static void stamped(const struct safesock_record *r, struct safesock_denial *d)
{
	denial_of(r, d);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	d->time_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	d->pid = (int32_t)getpid();
	d->program = program_invocation_short_name;
}

static void json_record(const struct safesock_record *r, int fd)
{
	struct safesock_denial d;
	stamped(r, &d);
	struct safesock_line line = { .length = 0 };
	if (safesock_audit_record(&line, &d) == 0)
		emit(fd, &line); /* else cut short by the buffer: no JSON, not written */
}

/* Said once: records the listener did not take. */
/* Said once: records the listener did not take. In `line`, the record's
 * own, which the failed send leaves free: a second 2 KB line on the deny
 * path's stack would be too many for a signal handler's. */
static void say_dropped(int error, struct safesock_line *line)
{
	if (atomic_exchange(&said_dropped, 1))
		return;
	*line = (struct safesock_line){ .length = 0 };
	safesock_line_add(line, "safesock: the audit log ");
	safesock_line_add(line, log_socket.sun_path);
	safesock_line_add(line, error == EAGAIN ? " is full" : error == ENOENT || error == ECONNREFUSED ? " has no listener" : " refused a record");
	safesock_line_add(line, ": records it does not take are dropped");
	emit(STDERR_FILENO, line);
}

static void socket_record(const struct safesock_record *r, int fd)
{
	struct safesock_denial d;
	stamped(r, &d);
	struct safesock_line line = { .length = 0 };
	int made = log_sink == SAFESOCK_AUDIT_JOURNAL ? safesock_audit_journal(&line, &d)
						      : safesock_audit_syslog(&line, &d, log_hostname);
	int saved = errno;
	if (made == 0) {
		if (log_sink == SAFESOCK_AUDIT_JOURNAL)
			line.text[line.length++] = '\n';
		long sent = safesock_raw_syscall(SYS_sendto, fd, (long)line.text, (long)line.length, MSG_DONTWAIT | MSG_NOSIGNAL,
						 (long)&log_socket, sizeof log_socket);
		if (sent < 0)
			say_dropped(errno, &line);
	} /* else its fields did not fit: not sent, as for the file */
	errno = saved;
}

void safesock_report(const struct safesock_record *r)
{
	if (log_path[0] != '\0') {
		int fd = current_log();
		if (fd >= 0 && log_sink != SAFESOCK_AUDIT_FILE) {
			socket_record(r, fd);
			return;
		}
		if (fd >= 0) {
			json_record(r, fd);
			return;
		}
	}
	if (r->allowed)
		return; /* without a log only denials are said */
	struct safesock_denial d;
	denial_of(r, &d);
	struct safesock_line line = { .length = 0 };
	safesock_denial_line(&line, &d);
	emit(STDERR_FILENO, &line);
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
	emit(STDERR_FILENO, &line);
}

/*
 * report.c: denial lines and audit records. Async-signal-safe: no stdio,
 * no allocation; the log file is checked (fstat) before each record, so a
 * program that closed our descriptor and reused its number never has a
 * record written into its own file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

extern char *program_invocation_short_name;

static char log_path[PATH_MAX];
static _Atomic int log_fd = -1;
static dev_t log_dev;
static ino_t log_ino;

void safesock_log_open(const char *path)
{
	if (path == NULL || *path == '\0' || strlen(path) >= sizeof log_path)
		return;
	strcpy(log_path, path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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

static void json_record(const struct safesock_record *r, int fd)
{
	struct safesock_denial d;
	denial_of(r, &d);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	d.time_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
	d.pid = (int32_t)getpid();
	d.program = program_invocation_short_name;
	struct safesock_line line = { .length = 0 };
	if (safesock_audit_record(&line, &d) == 0)
		emit(fd, &line); /* else cut short by the buffer: no JSON, not written */
}

void safesock_report(const struct safesock_record *r)
{
	if (log_path[0] != '\0') {
		int fd = current_log();
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

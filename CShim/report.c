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

/* A JSON string: quotes, backslash and control bytes escaped; bytes above
 * 0x7e escaped too, so a record is valid JSON whatever a program sent. */
static void add_json_string(struct safesock_line *line, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	safesock_line_add(line, "\"");
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			safesock_line_add_n(line, e, 2);
		} else if (*p < 0x20 || *p > 0x7e) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			safesock_line_add_n(line, e, 6);
		} else {
			safesock_line_add_n(line, (const char *)p, 1);
		}
	}
	safesock_line_add(line, "\"");
}

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
				       .policy = r->policy, .policy_length = r->policy_length, .origin = r->origin };
}

static void json_record(const struct safesock_record *r, int fd)
{
	struct safesock_line line = { .length = 0 };
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	safesock_line_add(&line, "{\"time\":");
	safesock_line_add_uint(&line, (uint64_t)now.tv_sec);
	char millis[5] = { '.', (char)('0' + now.tv_nsec / 100000000), (char)('0' + now.tv_nsec / 10000000 % 10),
			   (char)('0' + now.tv_nsec / 1000000 % 10), 0 };
	safesock_line_add(&line, millis);
	safesock_line_add(&line, ",\"pid\":");
	safesock_line_add_uint(&line, (uint64_t)getpid());
	safesock_line_add(&line, ",\"program\":");
	add_json_string(&line, program_invocation_short_name ? program_invocation_short_name : "");
	safesock_line_add(&line, ",\"op\":");
	add_json_string(&line, r->op);
	safesock_line_add(&line, ",\"host\":");
	add_json_string(&line, r->host);
	if (r->address) {
		safesock_line_add(&line, ",\"addr\":");
		add_json_string(&line, r->address);
	}
	if (r->port >= 0) {
		safesock_line_add(&line, ",\"port\":");
		safesock_line_add_uint(&line, (uint64_t)r->port);
	}
	safesock_line_add(&line, r->allowed ? ",\"verdict\":\"allow\"" : ",\"verdict\":\"deny\"");
	if (r->learn)
		safesock_line_add(&line, ",\"mode\":\"learn\"");
	/* SPEC: a decision names its rules, or "default" when none matched. */
	safesock_line_add(&line, ",\"rules\":[");
	for (size_t i = 0, start = 0; i < r->rules_length; i++) {
		if (r->rules[i] != '\0')
			continue;
		if (start > 0)
			safesock_line_add(&line, ",");
		add_json_string(&line, r->rules + start);
		start = i + 1;
	}
	if (r->rules_length == 0 && r->reason == NULL)
		safesock_line_add(&line, "\"default\"");
	safesock_line_add(&line, "]");
	if (r->reason) {
		safesock_line_add(&line, ",\"reason\":");
		add_json_string(&line, r->reason);
	}
	struct safesock_denial d;
	denial_of(r, &d);
	/* Written in place, escaped as they go (line.json): their words are
	 * printable ASCII, or they are not written at all. */
	size_t mark = line.length;
	safesock_line_add(&line, ",\"policy\":\"");
	line.json = 1;
	size_t start = line.length;
	safesock_denial_policy(&line, &d);
	line.json = 0;
	if (line.length == start)
		line.length = mark;
	else
		safesock_line_add(&line, "\"");
	mark = line.length;
	safesock_line_add(&line, ",\"explain\":\"");
	line.json = 1;
	int explained = !r->allowed && safesock_denial_explain(&line, &d);
	line.json = 0;
	if (explained)
		safesock_line_add(&line, "\"");
	else
		line.length = mark;
	safesock_line_add(&line, "}");
	/* A record cut short by the buffer is no JSON: drop it, say so. */
	if (line.length >= sizeof line.text - 2)
		return;
	emit(fd, &line);
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

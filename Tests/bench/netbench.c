/*
 * netbench: the workloads `make bench` times, bare and under each preload
 * library (safesock-bench runs it; docs/benchmarks.md says what each means).
 *
 *   netbench serve PORT SECONDS    accept and close on 0.0.0.0:PORT, then exit
 *   netbench connect HOST PORT N [K]  N x (socket, connect, close); prints
 *                                  ns/op (a HOST name is resolved once,
 *                                  first; with K, HOST has a %d and the
 *                                  loop goes round K destinations)
 *   netbench deny HOST PORT N      N x connect on one socket, each refused
 *                                  (by a preload library); prints ns/op
 *   netbench resolve NAME N        N x getaddrinfo(NAME) + freeaddrinfo
 *   netbench spawn N PROGRAM...    N x posix_spawn + waitpid; prints ns/op
 *                                  (NETBENCH_CHILD_X=v is X=v for the child
 *                                  only: the spawner itself runs bare)
 *   netbench reload HOST PORT MAX  connect until one succeeds (the table was
 *                                  republished); prints CLOCK_MONOTONIC ns
 *
 * Every loop is bounded; a failure exits 1 with a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long started;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "netbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* An address, or a name resolved once (so that a preload library that
 * remembers names judges the name as well as the address). */
static struct sockaddr_in destination(const char *host, const char *port)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, host, &to.sin_addr) == 1)
		return to;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *list = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &list);
	if (rc != 0) {
		fprintf(stderr, "netbench: getaddrinfo %s: %s\n", host, gai_strerror(rc));
		exit(1);
	}
	to.sin_addr = ((const struct sockaddr_in *)list->ai_addr)->sin_addr;
	freeaddrinfo(list);
	return to;
}

/* 0 connected, else errno */
static int connect_once(const struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	int rc = connect(fd, (const struct sockaddr *)to, sizeof *to);
	int saved = rc == 0 ? 0 : errno;
	/* Reset, not TIME_WAIT: thousands of these a run would otherwise fill
	 * the ephemeral ports, and the kernel's search for a free one made
	 * some runs three times slower than others. */
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	if (rc == 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
	close(fd);
	return saved;
}

static _Noreturn void serve(const char *port, int seconds)
{
	alarm((unsigned)seconds); /* bounded: the bench kills it sooner */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	if (bind(fd, (struct sockaddr *)&any, sizeof any) != 0 || listen(fd, 4096) != 0)
		fail("listen");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

/* Untimed first, so that one-time costs (a preload library's first
 * decision checks its table) are not averaged in. With `cycle` > 1, HOST
 * holds a %d and the loop goes round `cycle` destinations. */
static int connect_loop(const char *host, const char *port, long n, int cycle)
{
	enum { MAX_CYCLE = 256 };
	struct sockaddr_in to[MAX_CYCLE];
	if (cycle < 1 || cycle > MAX_CYCLE) {
		fprintf(stderr, "netbench: cycle must be 1 to %d\n", MAX_CYCLE);
		return 2;
	}
	for (int k = 0; k < cycle; k++) {
		char name[256];
		snprintf(name, sizeof name, host, k);
		to[k] = destination(cycle > 1 ? name : host, port);
	}
	for (long i = -1; i < n; i++) {
		if (i == 0)
			started = now_ns();
		int e = connect_once(&to[(i < 0 ? 0 : i) % cycle]);
		if (e != 0) {
			errno = e;
			fail("connect");
		}
	}
	printf("%.1f\n", (double)(now_ns() - started) / (double)n);
	return 0;
}

/* Only the refused call is timed: no socket is made or closed per round. */
static int deny_loop(const char *host, const char *port, long n)
{
	struct sockaddr_in to = destination(host, port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		fail("socket");
	for (long i = -1; i < n; i++) { /* untimed first, as above */
		if (i == 0)
			started = now_ns();
		if (connect(fd, (const struct sockaddr *)&to, sizeof to) == 0 || errno != EACCES)
			fail("expected EACCES");
	}
	printf("%.1f\n", (double)(now_ns() - started) / (double)n);
	close(fd);
	return 0;
}

static int resolve_loop(const char *name, long n)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	for (long i = -1; i < n; i++) { /* untimed first, as above */
		if (i == 0)
			started = now_ns();
		struct addrinfo *list = NULL;
		int rc = getaddrinfo(name, NULL, &hints, &list);
		if (rc != 0) {
			fprintf(stderr, "netbench: getaddrinfo %s: %s\n", name, gai_strerror(rc));
			return 1;
		}
		freeaddrinfo(list);
	}
	printf("%.1f\n", (double)(now_ns() - started) / (double)n);
	return 0;
}

static int spawn_loop(long n, char **argv)
{
	static const char prefix[] = "NETBENCH_CHILD_";
	char *env[512];
	size_t k = 0;
	for (char **e = environ; *e != NULL && k < 511; e++)
		env[k++] = strncmp(*e, prefix, sizeof prefix - 1) == 0 ? *e + sizeof prefix - 1 : *e;
	env[k] = NULL;
	long long start = now_ns();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int status;
		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, env) != 0)
			fail("posix_spawn");
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "netbench: %s did not exit 0\n", argv[0]);
			return 1;
		}
	}
	printf("%.1f\n", (double)(now_ns() - start) / (double)n);
	return 0;
}

static int reload_wait(const char *address, const char *port, long max)
{
	struct sockaddr_in to = destination(address, port);
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < max; i++) {
		int e = connect_once(&to);
		if (e == 0) {
			printf("%lld\n", now_ns());
			return 0;
		}
		if (e != EACCES)
			fail("connect");
	}
	fprintf(stderr, "netbench: the table never changed\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "serve") == 0)
		serve(argv[2], atoi(argv[3]));
	if ((argc == 5 || argc == 6) && strcmp(argv[1], "connect") == 0)
		return connect_loop(argv[2], argv[3], atol(argv[4]), argc == 6 ? atoi(argv[5]) : 1);
	if (argc == 5 && strcmp(argv[1], "deny") == 0)
		return deny_loop(argv[2], argv[3], atol(argv[4]));
	if (argc == 4 && strcmp(argv[1], "resolve") == 0)
		return resolve_loop(argv[2], atol(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "spawn") == 0)
		return spawn_loop(atol(argv[2]), argv + 3);
	if (argc == 5 && strcmp(argv[1], "reload") == 0)
		return reload_wait(argv[2], argv[3], atol(argv[4]));
	fprintf(stderr, "usage: netbench serve|connect|deny|resolve|spawn|reload ...\n");
	return 2;
}

/*
 * static_client: a statically linked client the preload library cannot
 * see, for the kernel backstop's tests (Tests/SafesockShimTests/KernelTests).
 * Prints "ok" or "errno N" for each attempt.
 *
 *   static_client connect ADDR PORT     libc's connect (linked in)
 *   static_client syscall ADDR PORT     syscall(SYS_connect, ...)
 *   static_client uring                 io_uring_setup
 *   static_client sctp                  socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)
 *   static_client race ADDR GOOD BAD N  N connects while a second thread
 *                                       flips the sockaddr's port between
 *                                       GOOD and BAD; prints how many
 *                                       connects succeeded
 *   static_client exec PROGRAM ARG...   clears the environment, execs
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct sockaddr_in address(const char *host, const char *port)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET, host, &to.sin_addr);
	return to;
}

static int report(int rc)
{
	if (rc == 0)
		printf("ok\n");
	else
		printf("errno %d\n", errno);
	return 0;
}

static volatile struct sockaddr_in shared;
static atomic_int stop;
static uint16_t good, bad;

static void *flipper(void *unused)
{
	(void)unused;
	/* Bounded: stops when the main thread is done. */
	while (!atomic_load(&stop)) {
		shared.sin_port = bad;
		shared.sin_port = good;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "connect") == 0) {
		struct sockaddr_in to = address(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return report(connect(fd, (struct sockaddr *)&to, sizeof to));
	}
	if (argc == 4 && strcmp(argv[1], "syscall") == 0) {
		struct sockaddr_in to = address(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return report((int)syscall(SYS_connect, fd, &to, sizeof to));
	}
	if (argc == 2 && strcmp(argv[1], "sctp") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
		return report(fd < 0 ? -1 : 0);
	}
	if (argc == 2 && strcmp(argv[1], "uring") == 0) {
		struct io_uring_params params;
		memset(&params, 0, sizeof params);
		long fd = syscall(SYS_io_uring_setup, 4, &params);
		return report(fd < 0 ? -1 : 0);
	}
	if (argc == 6 && strcmp(argv[1], "race") == 0) {
		struct sockaddr_in start = address(argv[2], argv[3]);
		good = start.sin_port;
		bad = htons((uint16_t)atoi(argv[4]));
		memcpy((void *)&shared, &start, sizeof start);
		pthread_t thread;
		pthread_create(&thread, NULL, flipper, NULL);
		int reached = 0, n = atoi(argv[5]);
		for (int i = 0; i < n; i++) {
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(fd, (struct sockaddr *)&shared, sizeof shared) == 0)
				reached++;
			close(fd);
		}
		atomic_store(&stop, 1);
		pthread_join(thread, NULL);
		printf("reached %d\n", reached);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
		clearenv();
		execv(argv[2], argv + 2);
		return report(-1);
	}
	fprintf(stderr, "usage: static_client connect|syscall|uring|race|exec ...\n");
	return 2;
}

/*
 * connect_client: a small C client for the library's tests.
 *   connect_client [-u] [-d] [-n] ADDRESS PORT
 *   -u  a UDP socket instead of TCP      -d  call __connect, not connect
 *   -n  print the connect outcome only, do not exit non-zero on failure
 * Prints "ok" or "errno N" and exits 0 or 1. ADDRESS is numeric (v4/v6).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

extern int __connect(int, const struct sockaddr *, socklen_t);

int main(int argc, char **argv)
{
	int udp = 0, dunder = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		udp |= strcmp(argv[i], "-u") == 0;
		dunder |= strcmp(argv[i], "-d") == 0;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: connect_client [-u] [-d] ADDRESS PORT\n");
		return 2;
	}
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	socklen_t len;
	int family;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[i], &in->sin_addr) == 1) {
		family = in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)atoi(argv[i + 1]));
		len = sizeof *in;
	} else if (inet_pton(AF_INET6, argv[i], &in6->sin6_addr) == 1) {
		family = in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)atoi(argv[i + 1]));
		len = sizeof *in6;
	} else {
		fprintf(stderr, "not a numeric address: %s\n", argv[i]);
		return 2;
	}
	int fd = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	int rc = dunder ? __connect(fd, (struct sockaddr *)&ss, len) : connect(fd, (struct sockaddr *)&ss, len);
	if (rc == 0) {
		printf("ok\n");
		return 0;
	}
	printf("errno %d\n", errno);
	return 1;
}

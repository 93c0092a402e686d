/*
 * static_client: a statically linked client the preload library cannot
 * see, for the kernel backstop's tests (Tests/SafesockShimTests/KernelTests).
 * Prints "ok" or "errno N" for each attempt.
 *
 *   static_client connect ADDR PORT     libc's connect (linked in)
 *   static_client syscall ADDR PORT     syscall(SYS_connect, ...)
 *   static_client uring                 io_uring_setup
 *   static_client sctp                  socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)
 *   static_client mptcp                 socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP)
 *   static_client raw                   socket(AF_INET, SOCK_RAW, IPPROTO_UDP), then
 *                                       socket(AF_PACKET, SOCK_RAW, 0): two lines
 *   static_client race ADDR GOOD BAD N  N connects while a second thread
 *                                       flips the sockaddr's port between
 *                                       GOOD and BAD; prints how many
 *                                       connects succeeded
 *   static_client exec PROGRAM ARG...   clears the environment, execs
 *   static_client udp-sendto ADDR PORT  one datagram, addressed
 *   static_client udp-sendmsg ADDR PORT sendmsg with msg_name
 *   static_client udp-sendmmsg ADDR PORT PORT2
 *                                       two addressed messages; "sent N"
 *   static_client udp-connected ADDR PORT
 *                                       connect, then sendmmsg of two
 *                                       unaddressed messages, as glibc's
 *                                       resolver does; "sent N"
 *   static_client tfo ADDR PORT         sendto(MSG_FASTOPEN) on TCP
 *   static_client peername ADDR PORT    getpeername before connect, and after:
 *                                       "errno N" or "peer ADDR PORT", two lines
 *   static_client route ADDR PORT HOP   setsockopt(IP_OPTIONS) with a loose
 *                                       source route through HOP, then a
 *                                       datagram to ADDR (two lines)
 *   static_client malformed ADDR PORT   sends the kernel refuses (no header, too
 *                                       many iovecs, a long name, huge control,
 *                                       bad pointers, an oversized datagram,
 *                                       sendmmsg of none): one line each
 *   static_client bad-connect ADDR PORT connects the kernel refuses or treats
 *                                       apart (no address, no length, too long,
 *                                       too short, bad pointer, AF_UNSPEC, an
 *                                       IPv4-mapped IPv6 address on an IPv4
 *                                       socket): one line each; with a 5th
 *                                       word, no bad pointer
 *   static_client retopts ADDR PORT HOP the same route as an IP_RETOPTS
 *                                       control message of sendmsg
 *
 * Built twice (Makefile): static, which only the kernel backstop sees, and
 * dynamic (`client`), which the preload library sees too.
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

/* A loose source route (RFC 791 LSRR) through `hop`, NOP-padded to 8 bytes. */
static void lsrr(const char *hop, unsigned char option[8])
{
	option[0] = 1; /* NOP */
	option[1] = 131;
	option[2] = 7;
	option[3] = 4;
	inet_pton(AF_INET, hop, option + 4);
}

static int datagrams(int argc, char **argv)
{
	const char *mode = argv[1];
	struct sockaddr_in to = address(argv[2], argv[3]);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char data[] = "datagram";
	struct iovec iov = { data, sizeof data - 1 };
	if (strcmp(mode, "udp-sendto") == 0)
		return report(sendto(fd, data, iov.iov_len, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0);
	if (strcmp(mode, "udp-sendmsg") == 0) {
		struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 };
		return report(sendmsg(fd, &msg, 0) < 0 ? -1 : 0);
	}
	if ((strcmp(mode, "udp-sendmmsg") == 0 && argc == 5) || strcmp(mode, "udp-connected") == 0) {
		struct sockaddr_in second = argc == 5 ? address(argv[2], argv[4]) : to;
		int connected = strcmp(mode, "udp-connected") == 0;
		if (connected && connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
			return report(-1);
		struct mmsghdr vec[2];
		memset(vec, 0, sizeof vec);
		for (int i = 0; i < 2; i++) {
			vec[i].msg_hdr.msg_iov = &iov;
			vec[i].msg_hdr.msg_iovlen = 1;
			if (!connected) {
				vec[i].msg_hdr.msg_name = i == 0 ? &to : &second;
				vec[i].msg_hdr.msg_namelen = sizeof to;
			}
		}
		int sent = sendmmsg(fd, vec, 2, 0);
		if (sent < 0)
			return report(-1);
		printf("sent %d", sent);
		for (int i = 0; i < sent; i++)
			printf(" %u", vec[i].msg_len);
		printf("\n");
		return 0;
	}
	if (strcmp(mode, "malformed") == 0) {
		static char big[70000];
		static struct iovec many[1025];
		for (int i = 0; i < 1025; i++)
			many[i] = iov;
		char room[64];
		struct msghdr h[] = {
			{ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = many, .msg_iovlen = 1025 },
			{ .msg_name = &to, .msg_namelen = 200, .msg_iov = &iov, .msg_iovlen = 1 },
			{ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = room,
			  .msg_controllen = 1 << 20 },
			{ .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = (struct iovec *)1, .msg_iovlen = 1 },
			{ .msg_name = (void *)1, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1 },
		};
		report(sendmsg(fd, NULL, 0) < 0 ? -1 : 0);
		for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
			report(sendmsg(fd, &h[i], 0) < 0 ? -1 : 0);
		report(sendto(fd, big, 65535, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0);
		printf("sendmmsg of none: %d\n", sendmmsg(fd, (struct mmsghdr *)&h[0], 0, 0));
		report(sendmmsg(fd, NULL, 1, 0) < 0 ? -1 : 0);
		return 0;
	}
	if (strcmp(mode, "route") == 0 && argc == 5) {
		unsigned char option[8];
		lsrr(argv[4], option);
		report(setsockopt(fd, IPPROTO_IP, IP_OPTIONS, option, sizeof option));
		return report(sendto(fd, data, iov.iov_len, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0);
	}
	if (strcmp(mode, "retopts") == 0 && argc == 5) {
		union {
			struct cmsghdr header;
			unsigned char bytes[CMSG_SPACE(8)];
		} control;
		memset(&control, 0, sizeof control);
		struct msghdr msg = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_RETOPTS;
		c->cmsg_len = CMSG_LEN(8);
		lsrr(argv[4], CMSG_DATA(c));
		return report(sendmsg(fd, &msg, 0) < 0 ? -1 : 0);
	}
	fprintf(stderr, "static_client: bad datagram arguments\n");
	return 2;
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
	if (argc == 2 && strcmp(argv[1], "mptcp") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 262 /* IPPROTO_MPTCP */);
		return report(fd < 0 ? -1 : 0);
	}
	if (argc == 2 && strcmp(argv[1], "raw") == 0) {
		report(socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP) < 0 ? -1 : 0);
		return report(socket(AF_PACKET, SOCK_RAW, 0) < 0 ? -1 : 0);
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
	if (argc >= 4 && (strncmp(argv[1], "udp-", 4) == 0 || strcmp(argv[1], "route") == 0 ||
			  strcmp(argv[1], "retopts") == 0 || strcmp(argv[1], "malformed") == 0))
		return datagrams(argc, argv);
	if (argc == 4 && strcmp(argv[1], "peername") == 0) {
		struct sockaddr_in to = address(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		for (int round = 0; round < 2; round++) {
			if (round == 1 && connect(fd, (struct sockaddr *)&to, sizeof to) != 0)
				return report(-1);
			struct sockaddr_in peer;
			memset(&peer, 0xff, sizeof peer);
			socklen_t length = sizeof peer;
			if (getpeername(fd, (struct sockaddr *)&peer, &length) != 0) {
				report(-1);
				continue;
			}
			char text[INET_ADDRSTRLEN] = "";
			inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
			printf("peer %s %u\n", text, ntohs(peer.sin_port));
		}
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "tfo") == 0) {
		struct sockaddr_in to = address(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return report(sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0);
	}
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "bad-connect") == 0) {
		int skip_bad_pointer = argc == 5; /* the preload library faults on it (docs/enforcement.md) */
		struct sockaddr_in to = address(argv[2], argv[3]);
		struct sockaddr_in6 mapped = { .sin6_family = AF_INET6, .sin6_port = to.sin_port };
		mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&mapped.sin6_addr.s6_addr[12], &to.sin_addr, 4);
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		struct { const void *address; socklen_t length; } cases[] = {
			{ NULL, sizeof to }, { NULL, 0 }, { &to, 0 }, { &to, 200 }, { &to, 8 },
			{ (const void *)1, sizeof to }, { &unspec, sizeof unspec }, { &mapped, sizeof mapped },
		};
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
			if (skip_bad_pointer && cases[i].address == (const void *)1)
				continue;
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			report(connect(fd, cases[i].address, cases[i].length));
			close(fd);
		}
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

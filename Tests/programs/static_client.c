/*
 * static_client: a statically linked client the preload library cannot
 * see, for the kernel backstop's tests (Tests/SafesockEndToEndTests/KernelTests).
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
 *   static_client family-race ADDR PORT N
 *                                       N connects of a name whose family a
 *                                       second thread flips between AF_UNIX
 *                                       and AF_INET (the rest an inet name of
 *                                       ADDR:PORT); "reached K"
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
 *   static_client connect6-24 ADDR6 PORT
 *                                       TCP over IPv6, raw connect with a
 *                                       24-byte name (SIN6_LEN_RFC2133)
 *   static_client udp6-24 ADDR6 PORT    the same for UDP, then write()s "x"
 *   static_client udp6-inet KIND ADDR PORT
 *                                       an IPv4 name (16 bytes) on an IPv6 UDP
 *                                       socket; KIND connect (then write) or
 *                                       sendto|sendmsg|sendmmsg, raw
 *   static_client unspec-send KIND ADDR PORT
 *                                       UDP, KIND sendto|sendmsg|sendmmsg (raw)
 *                                       to a sockaddr_in whose family is
 *                                       AF_UNSPEC: Linux sends to it anyway
 *   static_client unspec-send-libc KIND ADDR PORT
 *                                       the same through libc's calls
 *   static_client unspec-raw-libc ADDR PORT
 *                                       the same name on a raw IPv4 socket
 *                                       (IPPROTO_UDP, a datagram built by
 *                                       hand), through libc's sendto
 *   static_client unspec-send6 KIND ADDR6 PORT
 *                                       the same on IPv6, where AF_UNSPEC means
 *                                       no name: bare, EDESTADDRREQ
 *   static_client nodump MODE ARG...    PR_SET_DUMPABLE 0, then MODE
 *   static_client dup2-race UNIXPATH ADDR PORT ROUNDS
 *                                       raw connects of a descriptor a second
 *                                       thread keeps swapping (dup2) between a
 *                                       unix stream socket (connected to
 *                                       UNIXPATH unless "-") and a TCP one:
 *                                       "connected K"
 *   static_client dup2-race-udp UNIXPATH ADDR PORT ROUNDS
 *                                       the same with a unix datagram and a UDP
 *                                       socket, and raw sendto: "sent K"
 *   static_client caps                  capget, bpf, AF_XDP, /etc/hosts for
 *                                       writing, ptrace of the parent,
 *                                       AF_PACKET, unshare, setns, mount: one
 *                                       line each, then "done"
 *   static_client maps N MODE ARG...    N separate mappings (a big
 *                                       /proc/self/maps), then MODE
 *   static_client resolve-connect NAME PORT
 *                                       getaddrinfo (IPv4, TCP), raw connect to
 *                                       the first answer; "gai N" if it fails
 *   static_client bind0 ADDR            raw bind of TCP to ADDR port 0
 *   static_client bind0-connect ADDR PORT
 *                                       bind to 127.0.0.1:0, then raw connect
 *   static_client nonblock-connect ADDR PORT
 *                                       O_NONBLOCK connect, poll, SO_ERROR, then
 *                                       sends "x": "ok", or "ok read N" if the
 *                                       peer answered within 2 s
 *   static_client udp-reply ADDR PORT   "ping", then "reply N bytes" within 2 s
 *
 * Built twice (Makefile): static, which only the kernel backstop sees, and
 * dynamic (`client`), which the preload library sees too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
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
	if (strcmp(mode, "udp-reply") == 0) {
		struct timeval wait = { .tv_sec = 2 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
		if (sendto(fd, "ping", 4, 0, (struct sockaddr *)&to, sizeof to) < 0)
			return report(-1);
		char reply[512];
		ssize_t got = recvfrom(fd, reply, sizeof reply, 0, NULL, NULL);
		if (got < 0)
			return report(-1); /* EAGAIN: nothing within 2 s */
		printf("reply %zd bytes\n", got);
		return 0;
	}
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

static void *family_flipper(void *unused)
{
	(void)unused;
	while (!atomic_load(&stop)) { /* bounded: stops when the main thread is done */
		shared.sin_family = AF_UNIX;
		shared.sin_family = AF_INET;
	}
	return NULL;
}

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

/* `n` connects to `shared` while `change` runs in a second thread: "reached K". */
static int connects_while(void *(*change)(void *), int n)
{
	pthread_t thread;
	pthread_create(&thread, NULL, change, NULL);
	int reached = 0;
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

static struct sockaddr_in6 address6(const char *host, const char *port)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET6, host, &to.sin6_addr);
	return to;
}

static int known_kind(const char *kind)
{
	return strcmp(kind, "sendto") == 0 || strcmp(kind, "sendmsg") == 0 || strcmp(kind, "sendmmsg") == 0;
}

/* "x" to `name` by a raw sendto, sendmsg or sendmmsg (known_kind); 0 or -1. */
/* Set by the -libc modes: sends through libc (where a preload library
 * sees them), not raw system calls. */
static int through_libc;

static int send_raw(const char *kind, int fd, const void *name, socklen_t length)
{
	char data[] = "x";
	struct iovec iov = { data, 1 };
	struct mmsghdr vec = { .msg_hdr = { .msg_name = (void *)name, .msg_namelen = length, .msg_iov = &iov,
					    .msg_iovlen = 1 } };
	long rc;
	if (through_libc && strcmp(kind, "sendto") == 0)
		rc = sendto(fd, data, 1, 0, name, length);
	else if (through_libc && strcmp(kind, "sendmsg") == 0)
		rc = sendmsg(fd, &vec.msg_hdr, 0);
	else if (through_libc)
		rc = sendmmsg(fd, &vec, 1, 0);
	else if (strcmp(kind, "sendto") == 0)
		rc = syscall(SYS_sendto, fd, data, 1, 0, name, length);
	else if (strcmp(kind, "sendmsg") == 0)
		rc = syscall(SYS_sendmsg, fd, &vec.msg_hdr, 0);
	else
		rc = syscall(SYS_sendmmsg, fd, &vec, 1, 0);
	return rc < 0 ? -1 : 0;
}

/* Names the kernel takes though they are not the socket's own family or size. */
static int odd_names(int argc, char **argv)
{
	const char *mode = argv[1];
	if (argc == 4 && (strcmp(mode, "connect6-24") == 0 || strcmp(mode, "udp6-24") == 0)) {
		/* 24 is SIN6_LEN_RFC2133: a sockaddr_in6 without sin6_scope_id. */
		struct sockaddr_in6 to = address6(argv[2], argv[3]);
		int udp = strcmp(mode, "udp6-24") == 0;
		int fd = socket(AF_INET6, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		long rc = syscall(SYS_connect, fd, &to, 24);
		if (rc != 0 || !udp)
			return report((int)rc);
		return report(write(fd, "x", 1) < 0 ? -1 : 0);
	}
	int connects = argc == 5 && strcmp(argv[2], "connect") == 0;
	if (argc == 5 && strcmp(mode, "udp6-inet") == 0 && (known_kind(argv[2]) || connects)) {
		/* An IPv6 UDP socket goes over to IPv4 for an AF_INET name. */
		struct sockaddr_in to = address(argv[3], argv[4]);
		int fd = socket(AF_INET6, SOCK_DGRAM, 0);
		if (!connects)
			return report(send_raw(argv[2], fd, &to, sizeof to));
		if (syscall(SYS_connect, fd, &to, sizeof to) != 0)
			return report(-1);
		return report(write(fd, "x", 1) < 0 ? -1 : 0);
	}
	if (argc == 4 && strcmp(mode, "unspec-raw-libc") == 0) {
		/* raw_sendmsg takes AF_UNSPEC as AF_INET too: a UDP datagram
		 * built by hand (checksum 0: none, as IPv4 allows). Needs
		 * CAP_NET_RAW. */
		struct sockaddr_in to = address(argv[2], argv[3]);
		to.sin_family = AF_UNSPEC;
		int fd = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
		if (fd < 0)
			return report(-1);
		unsigned char datagram[9] = { 0x30, 0x39, 0, 0, 0, 9, 0, 0, 'x' }; /* from port 12345 */
		memcpy(datagram + 2, &to.sin_port, 2);
		return report(sendto(fd, datagram, sizeof datagram, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0);
	}
	through_libc = strcmp(mode, "unspec-send-libc") == 0;
	if (argc == 5 && (strcmp(mode, "unspec-send") == 0 || through_libc) && known_kind(argv[2])) {
		/* udp_sendmsg takes AF_UNSPEC as AF_INET. */
		struct sockaddr_in to = address(argv[3], argv[4]);
		to.sin_family = AF_UNSPEC;
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		return report(send_raw(argv[2], fd, &to, sizeof to));
	}
	if (argc == 5 && strcmp(mode, "unspec-send6") == 0 && known_kind(argv[2])) {
		/* udpv6_sendmsg takes AF_UNSPEC as no name at all. */
		struct sockaddr_in6 to = address6(argv[3], argv[4]);
		to.sin6_family = AF_UNSPEC;
		int fd = socket(AF_INET6, SOCK_DGRAM, 0);
		return report(send_raw(argv[2], fd, &to, sizeof to));
	}
	fprintf(stderr, "static_client: bad %s arguments\n", mode);
	return 2;
}

static atomic_int swapping, swapper_ready;
static int slot, swap_inet, swap_unix;

static void *swapper(void *unused)
{
	(void)unused;
	atomic_store(&swapper_ready, 1);
	/* Bounded: stops when the main thread's call has returned. */
	while (atomic_load(&swapping)) {
		dup2(swap_inet, slot);
		dup2(swap_unix, slot);
	}
	return NULL;
}

/*
 * A supervisor that looks at the descriptor (a unix socket, say, so no
 * inet policy) and then lets the call go on may find an inet socket
 * there when the kernel resumes it.
 */
static int dup2_race(char **argv)
{
	int udp = strcmp(argv[1], "dup2-race-udp") == 0;
	struct sockaddr_un peer = { .sun_family = AF_UNIX };
	strncpy(peer.sun_path, argv[2], sizeof peer.sun_path - 1);
	struct sockaddr_in to = address(argv[3], argv[4]);
	int rounds = atoi(argv[5]), succeeded = 0;
	for (int i = 0; i < rounds; i++) {
		swap_inet = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		swap_unix = socket(AF_UNIX, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (strcmp(argv[2], "-") != 0 && connect(swap_unix, (struct sockaddr *)&peer, sizeof peer) != 0)
			return report(-1);
		slot = dup(swap_unix);
		atomic_store(&swapping, 1);
		atomic_store(&swapper_ready, 0);
		pthread_t thread;
		pthread_create(&thread, NULL, swapper, NULL);
		while (!atomic_load(&swapper_ready))
			; /* Bounded: the thread's first act. Spun, so the call races the swaps. */
		long rc = udp ? syscall(SYS_sendto, slot, "x", 1, 0, &to, sizeof to)
			      : syscall(SYS_connect, slot, &to, sizeof to);
		atomic_store(&swapping, 0);
		pthread_join(thread, NULL);
		if (rc >= 0)
			succeeded++;
		close(slot);
		close(swap_inet);
		close(swap_unix);
	}
	printf("%s %d\n", udp ? "sent" : "connected", succeeded);
	return 0;
}

/* Reports whether `fd` is open, and closes it. */
static void opened(int fd)
{
	report(fd < 0 ? -1 : 0);
	if (fd >= 0)
		close(fd);
}

/* Attaches to the parent and lets it go at once, its SIGSTOP undelivered. */
static void trace_parent(void)
{
	pid_t parent = getppid();
	if (ptrace(PTRACE_ATTACH, parent, 0, 0) != 0) {
		report(-1);
		return;
	}
	report(0);
	int status;
	/* Bounded: other signals that stop it first are passed on. */
	for (int i = 0; i < 16 && waitpid(parent, &status, __WALL) == parent && WIFSTOPPED(status); i++) {
		if (WSTOPSIG(status) == SIGSTOP)
			break;
		ptrace(PTRACE_CONT, parent, 0, WSTOPSIG(status));
	}
	ptrace(PTRACE_DETACH, parent, 0, 0);
}

/* What the sandbox leaves of root's powers beyond sockets: one line each, then "done". */
static int caps(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &header, data) != 0)
		report(-1);
	else
		printf("effective %08x%08x\n", data[1].effective, data[0].effective);

	/* r0 = 1; exit: a connect hook that allows everything. */
	struct bpf_insn program[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
	attr.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
	attr.insns = (uint64_t)(uintptr_t)program;
	attr.insn_cnt = sizeof program / sizeof program[0];
	attr.license = (uint64_t)(uintptr_t)"GPL";
	opened((int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr));

	opened(socket(44 /* AF_XDP */, SOCK_RAW, 0));
	opened(open("/etc/hosts", O_WRONLY | O_APPEND | O_CLOEXEC)); /* nothing written */
	trace_parent();
	opened(socket(AF_PACKET, SOCK_RAW, 0));
	report(unshare(CLONE_NEWNET));
	int ns = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		report(-1);
	} else {
		report(setns(ns, CLONE_NEWNET));
		close(ns);
	}
	char dir[] = "/tmp/static_client.XXXXXX";
	if (mkdtemp(dir) == NULL) {
		report(-1);
	} else {
		int rc = mount("none", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k");
		report(rc);
		if (rc == 0)
			umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
	printf("done\n");
	return 0;
}

/* Many small mappings that cannot merge: a /proc/self/maps of >100 KB for N = 3000. */
static int many_maps(int n)
{
	for (int i = 0; i < n; i++) {
		int protection = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		if (mmap(NULL, 4096, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
			report(-1);
			return -1;
		}
	}
	return 0;
}

static int resolve_connect(const char *name, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *answer;
	int rc = getaddrinfo(name, port, &hints, &answer);
	if (rc != 0) {
		printf("gai %d\n", rc);
		return 0;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	return report((int)syscall(SYS_connect, fd, answer->ai_addr, answer->ai_addrlen));
}

static int nonblock_connect(const char *host, const char *port)
{
	struct sockaddr_in to = address(host, port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	/* Over loopback it may even be done at once. */
	if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)
		return report(-1);
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	if (poll(&p, 1, 3000) != 1) {
		errno = ETIMEDOUT;
		return report(-1);
	}
	int error = 0;
	socklen_t length = sizeof error;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
		return report(-1);
	if (error != 0) {
		errno = error;
		return report(-1);
	}
	/* MSG_NOSIGNAL: a peer gone already must not kill us before we print. */
	if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
		return report(-1);
	p.events = POLLIN;
	char reply[100];
	ssize_t got = poll(&p, 1, 2000) == 1 ? read(fd, reply, sizeof reply) : 0;
	if (got > 0)
		printf("ok read %zd\n", got);
	else
		printf("ok\n");
	return 0;
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
		return connects_while(flipper, atoi(argv[5]));
	}
	if (argc == 5 && strcmp(argv[1], "family-race") == 0) {
		struct sockaddr_in start = address(argv[2], argv[3]);
		memcpy((void *)&shared, &start, sizeof start);
		return connects_while(family_flipper, atoi(argv[4]));
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
	if (argc >= 4 && (strcmp(argv[1], "connect6-24") == 0 || strcmp(argv[1], "udp6-24") == 0 ||
			  strcmp(argv[1], "udp6-inet") == 0 || strncmp(argv[1], "unspec-send", 11) == 0 ||
			  strcmp(argv[1], "unspec-raw-libc") == 0))
		return odd_names(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "nodump") == 0) {
		/* /proc/PID/mem and pidfd_getfd of us now need CAP_SYS_PTRACE. */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
			return report(-1);
		return main(argc - 1, argv + 1);
	}
	if (argc == 6 && (strcmp(argv[1], "dup2-race") == 0 || strcmp(argv[1], "dup2-race-udp") == 0))
		return dup2_race(argv);
	if (argc == 2 && strcmp(argv[1], "caps") == 0)
		return caps();
	if (argc >= 4 && strcmp(argv[1], "maps") == 0) {
		if (many_maps(atoi(argv[2])) != 0)
			return 0; /* reported */
		return main(argc - 2, argv + 2);
	}
	if (argc == 4 && strcmp(argv[1], "resolve-connect") == 0)
		return resolve_connect(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "bind0") == 0) {
		struct sockaddr_in here = address(argv[2], "0");
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return report((int)syscall(SYS_bind, fd, &here, sizeof here));
	}
	if (argc == 4 && strcmp(argv[1], "bind0-connect") == 0) {
		/* As curl --interface 127.0.0.1 does. */
		struct sockaddr_in here = address("127.0.0.1", "0"), to = address(argv[2], argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (syscall(SYS_bind, fd, &here, sizeof here) != 0)
			return report(-1);
		return report((int)syscall(SYS_connect, fd, &to, sizeof to));
	}
	if (argc == 4 && strcmp(argv[1], "nonblock-connect") == 0)
		return nonblock_connect(argv[2], argv[3]);
	fprintf(stderr, "usage: static_client connect|syscall|uring|race|exec ...\n");
	return 2;
}

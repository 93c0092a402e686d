/*
 * notify_floor: the floor of `run --kernel`'s design on this machine, for
 * `make bench`: N x (socket, connect, close) as netbench connect does, with
 * connect trapped by a seccomp user-notification filter and answered by
 * the least a supervisor of that design can do: a new socket of its own,
 * connected to the same address, installed in the caller with
 * SECCOMP_IOCTL_NOTIF_ADDFD (SECCOMP_ADDFD_FLAG_SETFD), then the answer.
 * No judging, no copying of options or flags, nothing read from the
 * caller: what safesock adds over this is its own.
 *
 * With `reads`, the floor also makes the reads this design cannot do
 * without before it may connect for the caller (what safesock's supervisor
 * reads for an IPv4 stream, each a system call): the caller's socket
 * (pidfd_getfd), its domain, type, protocol and network namespace, its
 * close-on-exec and status flags (/proc/PID/fdinfo, kept open), the
 * address (process_vm_readv), that the notification is still live, the
 * options a program may have set (11 + 3 timeouts: the kernel keeps no
 * record of which were set, so each is asked), and its local address.
 * Nothing is judged and nothing copied: the values are read and dropped.
 *
 *   notify_floor HOST PORT N [reads]     prints ns per connect
 *
 * Every loop is bounded; a failure exits 1 with a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *what)
{
	fprintf(stderr, "notify_floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The reads safesock's supervisor makes of the caller's IPv4 stream
 * socket before it connects one of its own (see the top of this file).
 * The caller's socket, or -1; closed by the caller after the answer. */
static int read_as_safesock(int listener, int pidfd, pid_t pid, const struct seccomp_notif *req)
{
	static int fdinfo = -1;
	int theirs = (int)syscall(SYS_pidfd_getfd, pidfd, (int)req->data.args[0], 0);
	if (theirs < 0)
		return -1;
	static const int asked[][2] = {
		{ SOL_SOCKET, SO_DOMAIN }, { SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_PROTOCOL }, { SOL_SOCKET, SO_NETNS_COOKIE },
		{ SOL_SOCKET, SO_KEEPALIVE }, { SOL_SOCKET, SO_RCVBUF }, { SOL_SOCKET, SO_SNDBUF }, { SOL_SOCKET, SO_PRIORITY },
		{ SOL_SOCKET, SO_OOBINLINE }, { SOL_SOCKET, SO_RCVLOWAT }, { IPPROTO_TCP, TCP_NODELAY },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT }, { IPPROTO_TCP, TCP_SYNCNT }, { IPPROTO_IP, IP_TOS }, { IPPROTO_IP, IP_TTL },
		{ SOL_SOCKET, SO_RCVTIMEO }, { SOL_SOCKET, SO_SNDTIMEO }, { SOL_SOCKET, SO_LINGER },
	};
	if (fdinfo < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, (int)req->data.args[0]);
		fdinfo = open(path, O_RDONLY | O_CLOEXEC);
	}
	char text[256];
	if (fdinfo >= 0 && pread(fdinfo, text, sizeof text, 0) < 0)
		fail("fdinfo");
	struct sockaddr_in copy;
	struct iovec here = { &copy, sizeof copy }, there = { (void *)(uintptr_t)req->data.args[1], sizeof copy };
	if (process_vm_readv(pid, &here, 1, &there, 1, 0) != (ssize_t)sizeof copy)
		fail("process_vm_readv");
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) != 0)
		fail("NOTIF_ID_VALID");
	for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
		long long value[4];
		socklen_t n = sizeof value;
		getsockopt(theirs, asked[i][0], asked[i][1], value, &n);
	}
	struct sockaddr_storage local;
	socklen_t length = sizeof local;
	getsockname(theirs, (struct sockaddr *)&local, &length);
	return theirs;
}

/* The child: the listener to the parent over `channel`, then the loop. */
static void client(int channel, const struct sockaddr_in *to, int n)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = { sizeof filter / sizeof filter[0], filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		fail("no_new_privs");
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
	if (listener < 0)
		fail("seccomp");
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec byte = { "x", 1 };
	struct msghdr m = { .msg_iov = &byte, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_RIGHTS, h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &listener, sizeof listener);
	if (sendmsg(channel, &m, 0) != 1)
		fail("sendmsg");
	close(listener);
	long long started = now_ns();
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof *to) != 0)
			fail("connect");
		struct linger quick = { 1, 0 }; /* no TIME_WAIT pile-up, as netbench */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &quick, sizeof quick);
		close(fd);
	}
	printf("%.1f\n", (double)(now_ns() - started) / n);
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && strcmp(argv[4], "reads") == 0))
		return fprintf(stderr, "usage: notify_floor HOST PORT N [reads]\n"), 2;
	int reads = argc == 5;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1)
		return fprintf(stderr, "notify_floor: not an IPv4 address: %s\n", argv[1]), 2;
	int n = atoi(argv[3]), pair[2];
	if (n <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
		fail("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0)
		client(pair[1], &to, n);
	char control[CMSG_SPACE(sizeof(int))], byte;
	struct iovec one = { &byte, 1 };
	struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	if (recvmsg(pair[0], &m, 0) != 1 || CMSG_FIRSTHDR(&m) == NULL)
		fail("recvmsg");
	int listener;
	memcpy(&listener, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof listener);
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); /* as safesock asks */
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (int answered = 0; answered < n; answered++) {
		struct pollfd p[2] = { { .fd = listener, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
		if (poll(p, 2, 60000) <= 0 || !(p[0].revents & POLLIN))
			break;
		struct seccomp_notif req;
		memset(&req, 0, sizeof req);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
			continue;
		struct seccomp_notif_resp resp = { .id = req.id };
		int theirs = reads ? read_as_safesock(listener, pidfd, pid, &req) : -1;
		int ours = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int failed = ours < 0 ? errno : 0;
		if (failed == 0 && connect(ours, (const struct sockaddr *)&to, sizeof to) != 0)
			failed = errno;
		if (failed == EINPROGRESS) {
			/* Done already on loopback, as a second connect says; if not,
			 * waited for, as safesock's worker waits. */
			failed = connect(ours, (const struct sockaddr *)&to, sizeof to) == 0 ? 0 : errno;
			if (failed == EALREADY) {
				struct pollfd out = { .fd = ours, .events = POLLOUT };
				socklen_t n = sizeof failed;
				if (poll(&out, 1, 10000) != 1 || getsockopt(ours, SOL_SOCKET, SO_ERROR, &failed, &n) != 0)
					failed = ETIMEDOUT;
			}
		}
		if (failed != 0) {
			resp.error = -failed;
		} else {
			int blocking = 0;
			ioctl(ours, FIONBIO, &blocking);
			struct seccomp_notif_addfd addfd = { .id = req.id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = (uint32_t)ours,
							     .newfd = (uint32_t)req.data.args[0] };
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0)
				resp.error = -EBADF;
		}
		if (ours >= 0)
			close(ours);
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		if (theirs >= 0)
			close(theirs);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

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
 *   notify_floor HOST PORT N     prints ns per connect
 *
 * Every loop is bounded; a failure exits 1 with a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
	if (argc != 4)
		return fprintf(stderr, "usage: notify_floor HOST PORT N\n"), 2;
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
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

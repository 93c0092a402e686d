/*
 * kernel.c: the kernel backstop's system side (safesock_kernel.h): the
 * filter, the wall, the start of the program, and the trapped calls
 * received, inspected and answered (calls.c makes the ones the supervisor
 * makes in the caller's stead).
 *
 * The child installs a seccomp filter before it execs: the calls that can
 * reach a host wait for the supervisor (user notification), io_uring_setup
 * fails, foreign system call ABIs fail. The filter survives exec and is
 * inherited by every thread and child, so nothing the program starts can
 * leave it; it needs no library in the program, so static binaries, raw
 * system calls and Go-style runtimes are seen too.
 *
 * Time of check and time of use: the supervisor never lets a connect go on
 * with the caller's memory. It takes a duplicate of the caller's socket
 * (pidfd_getfd), judges the address it copied, and makes the connect on
 * that socket itself; the caller's memory is not read again. Calls are let
 * go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE) only where what the memory says
 * cannot change what is reached: a socket that is not inet (its domain is
 * fixed at creation, and the kernel refuses an inet address on it), a send
 * on a stream socket without MSG_FASTOPEN (the address is ignored), a send
 * with no address pointer at all (registers, not memory).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel_private.h"
#include "safesock_abi.h"
#include "safesock_kernel.h"
#include "safesock_source_route.h"

_Static_assert(sizeof(((struct safesock_kernel_call *)0)->address) == sizeof(struct sockaddr_storage), "address bytes");

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6; Debian 12's headers predate it */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
/* Landlock's network rules (ABI 4, Linux 6.7), spelled here for headers
 * that predate them. */
#define LANDLOCK_VERSION_QUERY (1U << 0)
#define LANDLOCK_NET_PORT_RULE 2
#define LANDLOCK_CONNECT_TCP (1ULL << 1)
struct landlock_attributes {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};
struct landlock_port {
	uint64_t allowed_access;
	uint64_t port;
};
#define X32_SYSCALL_BIT 0x40000000u

static void say(char *error, size_t size, const char *what)
{
	snprintf(error, size, "%s: %s", what, strerror(errno));
}

/* The filter, built for the calls to trap. Layout: architecture check,
 * x32 check, source routes, SCTP, io_uring_setup, one test a trapped
 * call, then the returns. */
static int install_filter(int trap)
{
	int trapped[10];
	int n = 0;
	trapped[n++] = __NR_connect;
	trapped[n++] = __NR_sendto;
	trapped[n++] = __NR_sendmsg;
	trapped[n++] = __NR_sendmmsg;
	if (trap & SAFESOCK_KERNEL_TRAP_SERVERS) {
		trapped[n++] = __NR_bind;
		trapped[n++] = __NR_listen;
	}
	if (trap & SAFESOCK_KERNEL_TRAP_PEERNAME)
		trapped[n++] = __NR_getpeername;
	struct sock_filter f[64];
	int k = 0;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	/* No source route: IP_OPTIONS (LSRR, SSRR) and IPv6 routing headers
	 * send a connection or datagram first to a host named in the option,
	 * not the one connect or sendto judged. setsockopt(_, IP, IP_OPTIONS)
	 * and (_, IPV6, IPV6_RTHDR and its RFC 2292 forms) with a non-empty
	 * value go to the supervisor, which refuses them (EPERM) and records
	 * it. Block layout: 13 instructions, then nr again. */
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 0, 12);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 10, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_SOL_IP, 0, 2);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_IP_OPTIONS, 5, 6);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_SOL_IPV6, 0, 5);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_IPV6_RTHDR, 2, 0);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_IPV6_2292RTHDR, 1, 0);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_IPV6_2292PKTOPTIONS, 0, 1);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* Sockets that go around what is trapped, each to the supervisor,
	 * which refuses them (Kernel.swift says with which errno) and records
	 * it: SCTP (it connects through setsockopt, sctp_connectx); MPTCP
	 * (Landlock's TCP port rules do not hold for it, seen on Linux 6.18);
	 * raw sockets (AF_PACKET, or SOCK_RAW in AF_INET/AF_INET6: with
	 * CAP_NET_RAW they write packets to any host and port). Block layout:
	 * 15 instructions, then nr. */
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 13);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_SCTP, 0, 1);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SAFESOCK_IPPROTO_MPTCP, 0, 1);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_PACKET, 5, 0);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 4);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]));
	f[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf); /* the type without SOCK_NONBLOCK, SOCK_CLOEXEC */
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOCK_RAW, 0, 1);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* Tests, then: allow, notify. io_uring_setup goes to the supervisor
	 * too, which refuses it (and records it; in learn mode lets it be). */
	trapped[n++] = __NR_io_uring_setup;
	int allow = k + n, notify = allow + 1;
	for (int i = 0; i < n; i++, k++)
		f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)trapped[i], (unsigned char)(notify - k - 1), 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	struct sock_fprog program = { .len = (unsigned short)k, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	/* Killable wait: once the supervisor holds a call, a signal cannot make
	 * the caller restart it (and make a connect that was made twice). */
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &program);
	if (fd < 0 && errno == EINVAL) /* kernels before 5.19 */
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
	return (int)fd;
}

/* The second wall: TCP connects only to `ports` (a bitmap of 65,536), by
 * Landlock, in the child, for good. The ABI, or -1 when there is none
 * that knows ports (the wall is then not built). */
static int build_wall(const uint8_t *ports)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_VERSION_QUERY);
	if (abi < 4)
		return -1;
	struct landlock_attributes attributes = { .handled_access_net = LANDLOCK_CONNECT_TCP };
	int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attributes, sizeof attributes, 0);
	if (ruleset < 0)
		return -1;
	for (uint32_t port = 0; port < 65536; port++) {
		if (!(ports[port / 8] & (1u << (port % 8))))
			continue;
		struct landlock_port rule = { .allowed_access = LANDLOCK_CONNECT_TCP, .port = port };
		if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_NET_PORT_RULE, &rule, 0) != 0) {
			close(ruleset);
			return -1;
		}
	}
	long rc = syscall(SYS_landlock_restrict_self, ruleset, 0);
	close(ruleset);
	return rc == 0 ? (int)abi : -1;
}

/* What the child tells the parent once it is walled in: the numbers,
 * and beside them (SCM_RIGHTS) the listener, its network namespace and
 * the DNS sockets. */
struct setup {
	int error;          /* 0, or the errno of what failed */
	int stage;          /* what failed: 1 namespace, 2 capabilities, 4 read-only publications */
	int landlock;
	int namespace;
	int user_namespace;
	int namespace_error;
	int capabilities;
	int dns_count;
	int read_only;
};

static void child_setup(int trap, const struct safesock_kernel_nameserver *nameservers, int count,
			const uint8_t *ports, int channel)
{
	static const uint8_t no_ports[65536 / 8];
	struct setup setup = { .capabilities = -1 };
	int fds[1 + 2 * SAFESOCK_KERNEL_MAX_NAMESERVERS];
	int nfds = 0;
	int udp[SAFESOCK_KERNEL_MAX_NAMESERVERS], tcp[SAFESOCK_KERNEL_MAX_NAMESERVERS];
	if (count > SAFESOCK_KERNEL_MAX_NAMESERVERS)
		count = SAFESOCK_KERNEL_MAX_NAMESERVERS;
	if (trap & SAFESOCK_KERNEL_NAMESPACE) {
		int as_root = geteuid() == 0;
		int made = safesock_kernel_enter_namespace(as_root, nameservers, count, udp, tcp);
		if (made == 0) {
			setup.namespace = 1;
			setup.user_namespace = !as_root;
			setup.dns_count = count;
		} else {
			setup.namespace_error = errno ? errno : EPERM;
			/* Once unshared there is no way back: a half-made wall is an
			 * error, as is a namespace that was required. */
			if ((trap & SAFESOCK_KERNEL_REQUIRE_NAMESPACE) || made == -2) {
				setup.error = setup.namespace_error, setup.stage = 1;
				goto tell;
			}
		}
	}
	if ((trap & SAFESOCK_KERNEL_READ_ONLY_PUBLICATIONS) && (setup.namespace || geteuid() == 0)) {
		/* A published table must not be republished by the program it judges. */
		if (safesock_kernel_read_only_publications() != 0) {
			setup.error = errno ? errno : EPERM, setup.stage = 4;
			goto tell;
		}
		setup.read_only = 1;
	}
	int network = setup.namespace ? open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
	setup.capabilities = safesock_kernel_drop_capabilities();
	if (setup.capabilities < 0)
		setup.error = errno ? errno : EPERM, setup.stage = 2;
	if (network >= 0)
		fds[nfds++] = network;
	for (int i = 0; i < setup.dns_count; i++) {
		fds[nfds++] = udp[i];
		fds[nfds++] = tcp[i];
	}
tell:;
	/* Sent before the filter, which would hold this sendmsg for the
	 * supervisor that is waiting for it. */
	union {
		struct cmsghdr header;
		uint8_t bytes[CMSG_SPACE(sizeof fds)];
	} control;
	memset(&control, 0, sizeof control);
	struct iovec data = { .iov_base = &setup, .iov_len = sizeof setup };
	struct msghdr m = { .msg_iov = &data, .msg_iovlen = 1 };
	if (nfds > 0) {
		m.msg_control = control.bytes;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(channel, &m, MSG_NOSIGNAL) != (ssize_t)sizeof setup || setup.error != 0)
		_exit(127);
	/* The parent has its copies: this process, and the program it becomes,
	 * must keep none (with a DNS socket it could answer its own lookups). */
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	/* Then the filter and the wall; the listener's number goes by write,
	 * which is not trapped, and the parent takes it (pidfd_getfd). */
	int walled[3] = { install_filter(trap), 0, -1 };
	walled[1] = walled[0] < 0 ? errno : 0;
	/* In the namespace the program makes no TCP connect of its own: the
	 * supervisor makes them all, so a call let go on can never be one. */
	if (walled[0] >= 0 && setup.namespace)
		walled[2] = build_wall(no_ports);
	else if (walled[0] >= 0 && ports != NULL)
		walled[2] = build_wall(ports);
	if (write(channel, walled, sizeof walled) != (ssize_t)sizeof walled || walled[0] < 0)
		_exit(127);
	char go;
	if (read(channel, &go, 1) != 1)
		_exit(127);
	/* With the listener a thread could answer its own calls. */
	close(walled[0]);
}

int safesock_kernel_spawn(const char *path, char *const argv[], char *const envp[], int trap,
			  const struct safesock_kernel_nameserver *nameservers, int nameserver_count,
			  const uint8_t *ports, struct safesock_kernel_child *child, char *error, size_t error_size)
{
	int up[2], channel[2];
	if (pipe2(up, O_CLOEXEC) != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel) != 0) {
		say(error, error_size, "pipe");
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		say(error, error_size, "fork");
		return -1;
	}
	if (pid == 0) {
		/* Only system calls from here to exec: the parent may have threads. */
		close(up[0]);
		close(channel[0]);
		child_setup(trap, nameservers, nameserver_count, ports, channel[1]);
		execve(path, argv, envp);
		int failed = errno;
		ssize_t ignored = write(up[1], &failed, sizeof failed);
		(void)ignored;
		_exit(127);
	}
	close(up[1]);
	close(channel[1]);
	/* The supervisor runs unconfined: a program of the same user must not
	 * be able to ptrace it, or read and write its memory, to make it
	 * connect. Not dumpable: only a privileged process can. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(child, 0, sizeof *child);
	child->listener = child->pidfd = -1;
	struct setup setup;
	int fds[1 + 2 * SAFESOCK_KERNEL_MAX_NAMESERVERS];
	int nfds = 0;
	union {
		struct cmsghdr header;
		uint8_t bytes[CMSG_SPACE(sizeof fds)];
	} control;
	struct iovec data = { .iov_base = &setup, .iov_len = sizeof setup };
	struct msghdr m = { .msg_iov = &data, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
	ssize_t got = recvmsg(channel[0], &m, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)nfds);
		}
	}
	if (got != (ssize_t)sizeof setup || setup.error != 0 || nfds < (setup.namespace ? 1 + 2 * setup.dns_count : 0)) {
		errno = got == (ssize_t)sizeof setup && setup.error != 0 ? setup.error : EIO;
		const char *what = got != (ssize_t)sizeof setup ? "cannot start the program" :
				   setup.stage == 1 ? "cannot make the network namespace (--require-namespace, or a half-made one)" :
				   setup.stage == 4 ? "cannot make the publications read-only for the program" :
				   "cannot drop the capabilities";
		say(error, error_size, what);
		goto fail;
	}
	int at = 0;
	if (setup.namespace) {
		struct stat st;
		int network = fds[at++];
		if (fstat(network, &st) != 0) {
			say(error, error_size, "cannot read the program's network namespace");
			goto fail;
		}
		child->network = st.st_ino;
		close(network);
		fds[0] = -1;
		for (int i = 0; i < setup.dns_count; i++) {
			child->dns_udp[i] = fds[at++];
			child->dns_tcp[i] = fds[at++];
		}
		/* The namespace's cookie: one getsockopt tells a socket's
		 * namespace, where SIOCGSKNS costs a descriptor and an fstat. */
		uint64_t cookie = 0;
		socklen_t n = sizeof cookie;
		if (setup.dns_count > 0 && getsockopt(child->dns_udp[0], SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &n) == 0)
			child->network_cookie = cookie;
	}
	int walled[3];
	if (read(channel[0], walled, sizeof walled) != (ssize_t)sizeof walled || walled[0] < 0) {
		errno = walled[0] < 0 ? walled[1] : EIO;
		say(error, error_size, "cannot install the seccomp filter");
		goto fail;
	}
	child->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (child->pidfd >= 0)
		child->listener = (int)syscall(SYS_pidfd_getfd, child->pidfd, walled[0], 0);
	if (child->listener < 0) {
		say(error, error_size, "cannot take the seccomp listener (pidfd_getfd)");
		goto fail;
	}
	setup.landlock = walled[2];
	child->dns_count = setup.dns_count;
	child->namespace = setup.namespace;
	child->user_namespace = setup.user_namespace;
	child->namespace_error = setup.namespace_error;
	child->capabilities = setup.capabilities;
	child->read_only_publications = setup.read_only;
	child->landlock = setup.landlock;
	if (write(channel[0], "g", 1) != 1) {
		say(error, error_size, "cannot start the program");
		goto fail;
	}
	close(channel[0]);
	int failed;
	got = read(up[0], &failed, sizeof failed); /* EOF: the exec happened */
	close(up[0]);
	if (got == (ssize_t)sizeof failed) {
		errno = failed;
		say(error, error_size, path);
		close(child->listener);
		close(child->pidfd);
		for (int i = 1; i < nfds; i++)
			close(fds[i]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	/* The caller waits while the supervisor answers: ask the scheduler to
	 * hand the CPU straight between them (best effort: Linux 6.6). */
	ioctl(child->listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	child->pid = pid;
	return 0;
fail:
	close(up[0]);
	close(channel[0]);
	for (int i = 0; i < nfds; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (child->pidfd >= 0)
		close(child->pidfd);
	if (child->listener >= 0)
		close(child->listener);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

int safesock_kernel_socket_inside(int fd, const struct safesock_kernel_child *child)
{
	if (child->network == 0)
		return 0;
	uint64_t cookie = 0;
	socklen_t n = sizeof cookie;
	if (child->network_cookie != 0 && getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &n) == 0)
		return cookie == child->network_cookie; /* cookies are never reused while the system runs */
	int ns = ioctl(fd, SIOCGSKNS);
	if (ns < 0)
		return 0; /* unknown: treated as outside, where nothing is let go on */
	struct stat st;
	int inside = fstat(ns, &st) == 0 && st.st_ino == child->network;
	close(ns);
	return inside;
}

/* The callers' pidfds, kept between calls (two system calls a call
 * saved). A pidfd names one task for ever: once that task is gone it
 * fails with ESRCH, even when its thread id is reused, and it is opened
 * again. Only the answering thread uses it. */
#define PIDFDS 64
static struct { pid_t tid; int pidfd; } pidfds[PIDFDS]; /* tid 0: empty */

static int open_pidfd(pid_t tid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (pidfd < 0)
		pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
	return pidfd;
}

/* Our duplicate of the caller's descriptor `fd`, or -1 with errno. */
static int their_socket(pid_t tid, int fd)
{
	unsigned slot = (unsigned)tid % PIDFDS;
	if (pidfds[slot].tid == tid) {
		int copy = (int)syscall(SYS_pidfd_getfd, pidfds[slot].pidfd, fd, 0);
		if (copy >= 0 || errno != ESRCH)
			return copy;
		/* The kept pidfd's task is gone: this caller is another with its id. */
	}
	if (pidfds[slot].tid != 0)
		close(pidfds[slot].pidfd);
	pidfds[slot].tid = 0;
	int pidfd = open_pidfd(tid);
	if (pidfd < 0)
		return -1;
	pidfds[slot].tid = tid, pidfds[slot].pidfd = pidfd;
	return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

/* Copies `length` bytes at `remote` in `pid` to `local`; 0, or an errno. */
int safesock_kernel_copy_in(pid_t pid, uint64_t remote, void *local, size_t length)
{
	struct iovec here = { .iov_base = local, .iov_len = length };
	struct iovec there = { .iov_base = (void *)(uintptr_t)remote, .iov_len = length };
	ssize_t n = process_vm_readv(pid, &here, 1, &there, 1, 0);
	return n == (ssize_t)length ? 0 : EFAULT;
}


/* Fills what the notification itself says: 0, or -1 to skip it. */
static int describe(int listener, const struct seccomp_notif *req, struct safesock_kernel_call *call)
{
	memset(call, 0, sizeof *call);
	call->id = req->id;
	call->pid = (pid_t)req->pid;
	call->instruction = req->data.instruction_pointer;
	call->socket = -1;
	call->status_flags = -1;
	for (int i = 0; i < 6; i++)
		call->args[i] = req->data.args[i];
	switch (req->data.nr) {
	case __NR_connect:
		call->op = SAFESOCK_KERNEL_CONNECT;
		break;
	case __NR_sendto:
		call->op = SAFESOCK_KERNEL_SENDTO;
		call->flags = (int)req->data.args[3];
		break;
	case __NR_sendmsg:
		call->op = SAFESOCK_KERNEL_SENDMSG;
		call->flags = (int)req->data.args[2];
		break;
	case __NR_sendmmsg:
		call->op = SAFESOCK_KERNEL_SENDMMSG;
		call->flags = (int)req->data.args[3];
		break;
	case __NR_bind:
		call->op = SAFESOCK_KERNEL_BIND;
		break;
	case __NR_listen:
		call->op = SAFESOCK_KERNEL_LISTEN;
		break;
	case __NR_getpeername:
		call->op = SAFESOCK_KERNEL_GETPEERNAME;
		break;
	case __NR_socket: /* only the kinds the filter refuses reach here */
		call->op = SAFESOCK_KERNEL_SOCKET;
		break;
	case __NR_setsockopt: /* only source routes */
		call->op = SAFESOCK_KERNEL_SETSOCKOPT;
		break;
	case __NR_io_uring_setup:
		call->op = SAFESOCK_KERNEL_IO_URING;
		break;
	default: /* not trapped by our filter */
		safesock_kernel_fail(listener, call, ENOSYS);
		return -1;
	}
	return 0;
}

/* The caller's descriptor flags, from /proc/TID/fdinfo/FD: its file's
 * status flags, with O_CLOEXEC when the descriptor has FD_CLOEXEC. Such a
 * file names a task and a descriptor number, not a file: read again, it
 * says what the number holds now, and once the task is gone it fails. So
 * it is kept open between calls and read again from offset 0 (opening one
 * makes and frees a proc inode and dentry: the dearest part of a connect's
 * inspection). Only the answering thread uses it. Fidelity only: what
 * these flags decide is how the socket put in the caller's place behaves,
 * never whether anything is reached. */
#define FDINFOS 64
static struct { pid_t tid; int fd; int file; } fdinfos[FDINFOS]; /* tid 0: empty */

static int descriptor_flags(pid_t tid, int fd, unsigned long *flags)
{
	unsigned slot = ((unsigned)tid * 31u + (unsigned)fd) % FDINFOS;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (fdinfos[slot].tid != tid || fdinfos[slot].fd != fd) {
			if (fdinfos[slot].tid != 0)
				close(fdinfos[slot].file);
			fdinfos[slot].tid = 0;
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)tid, fd);
			int file = open(path, O_RDONLY | O_CLOEXEC);
			if (file < 0)
				return -1;
			fdinfos[slot].tid = tid, fdinfos[slot].fd = fd, fdinfos[slot].file = file;
		}
		char text[256];
		ssize_t n = pread(fdinfos[slot].file, text, sizeof text - 1, 0);
		if (n > 0) {
			text[n] = '\0';
			const char *field = strstr(text, "flags:");
			if (field == NULL)
				return -1;
			*flags = strtoul(field + 6, NULL, 8);
			return 0;
		}
		/* That task is gone (this caller is another with its id) or the
		 * number was closed: opened again, once. */
		close(fdinfos[slot].file);
		fdinfos[slot].tid = 0;
	}
	return -1;
}

int safesock_kernel_inspect(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_child *child)
{
	uint64_t address = 0, length = 0;
	switch (call->op) {
	case SAFESOCK_KERNEL_CONNECT:
	case SAFESOCK_KERNEL_BIND:
		address = call->args[1], length = call->args[2];
		break;
	case SAFESOCK_KERNEL_SENDTO:
		address = call->args[4], length = call->args[5];
		break;
	}
	call->socket = their_socket(call->pid, (int)call->args[0]);
	if (call->socket < 0) {
		call->socket_error = errno ? errno : EBADF;
	} else {
		socklen_t n = sizeof call->domain;
		if (getsockopt(call->socket, SOL_SOCKET, SO_DOMAIN, &call->domain, &n) != 0) {
			call->socket_error = errno;
			close(call->socket);
			call->socket = -1;
		} else {
			n = sizeof call->type;
			getsockopt(call->socket, SOL_SOCKET, SO_TYPE, &call->type, &n);
			n = sizeof call->protocol;
			getsockopt(call->socket, SOL_SOCKET, SO_PROTOCOL, &call->protocol, &n);
			call->inside = safesock_kernel_socket_inside(call->socket, child);
			/* Only a connect or a send puts a socket in the caller's place. */
			unsigned long flags;
			call->status_flags = -1;
			if (call->op == SAFESOCK_KERNEL_CONNECT || call->op == SAFESOCK_KERNEL_SENDTO ||
			    call->op == SAFESOCK_KERNEL_SENDMSG || call->op == SAFESOCK_KERNEL_SENDMMSG) {
				if (descriptor_flags(call->pid, (int)call->args[0], &flags) == 0) {
					call->close_on_exec = (flags & O_CLOEXEC) != 0;
					call->status_flags = (int)(flags & ~(unsigned long)O_CLOEXEC);
				}
			}
		}
	}
	if (address == 0 && length > 0 && call->op != SAFESOCK_KERNEL_SENDTO) {
		call->has_address = -EFAULT; /* connect and bind read a NULL address: EFAULT, as the kernel says */
	} else if (address != 0) {
		if (length > sizeof call->address) {
			call->has_address = -EINVAL; /* as the kernel would say */
		} else if (safesock_kernel_copy_in(call->pid, address, call->address, (size_t)length) != 0) {
			call->has_address = -EFAULT;
		} else {
			call->has_address = 1;
			call->address_length = (uint32_t)length;
		}
	}
	/* The copy is of this call's caller only if the call is still pending. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &call->id) != 0) {
		if (call->socket >= 0)
			close(call->socket);
		call->socket = -1;
		return -1;
	}
	return 0;
}

int safesock_kernel_receive(const struct safesock_kernel_child *child, struct safesock_kernel_call *call)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = child->listener, .events = POLLIN }, { .fd = child->pidfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents & POLLIN) {
			struct seccomp_notif req;
			memset(&req, 0, sizeof req);
			if (ioctl(child->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
				if (errno == EINTR || errno == ENOENT)
					continue; /* the caller vanished */
				return -1;
			}
			if (describe(child->listener, &req, call) == 0)
				return 1;
			continue;
		}
		if (p[1].revents & POLLIN)
			return 0;
		if (p[0].revents & (POLLHUP | POLLERR))
			return 0;
	}
}

int safesock_kernel_respond(int listener, uint64_t id, int64_t value, int error, uint32_t flags)
{
	struct seccomp_notif_resp resp = { .id = id, .val = value, .error = error, .flags = flags };
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

void safesock_kernel_release(struct safesock_kernel_call *call)
{
	if (call->socket >= 0)
		close(call->socket);
	call->socket = -1;
}

int safesock_kernel_continue(int listener, struct safesock_kernel_call *call)
{
	safesock_kernel_release(call);
	return safesock_kernel_respond(listener, call->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}

int safesock_kernel_fail(int listener, struct safesock_kernel_call *call, int error)
{
	safesock_kernel_release(call);
	return safesock_kernel_respond(listener, call->id, 0, -error, 0);
}

int safesock_kernel_wait(struct safesock_kernel_child *child)
{
	/* Closed first: should the supervisor stop before the child (an error
	 * receiving), the child's trapped calls then fail (ENOSYS) rather than
	 * wait for an answer that cannot come while we wait for it. */
	close(child->listener);
	int status = 0;
	while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(child->pidfd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

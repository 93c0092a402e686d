/*
 * namespace.c: the wall of `run --kernel`, made in the child before it
 * execs: a network namespace of its own with only a loopback (as an
 * ordinary user, inside a user namespace that maps the caller's uid and
 * gid to themselves), the nameservers' addresses on that loopback with
 * safesock's DNS sockets bound there, and no capability left.
 *
 * Everything here runs in the forked child, where the parent may have had
 * threads: only system calls, no allocation, no stdio.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernel_private.h"

/* Writes `text` to `path` whole: 0, or -1. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* "ID ID 1\n" without stdio. */
static void id_map(char *out, unsigned id)
{
	char digits[12];
	int n = 0;
	do {
		digits[n++] = (char)('0' + id % 10);
		id /= 10;
	} while (id > 0);
	char *p = out;
	for (int twice = 0; twice < 2; twice++) {
		for (int i = n - 1; i >= 0; i--)
			*p++ = digits[i];
		*p++ = ' ';
	}
	*p++ = '1';
	*p++ = '\n';
	*p = '\0';
}

static int loopback_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	struct ifreq request;
	memset(&request, 0, sizeof request);
	strcpy(request.ifr_name, "lo");
	int rc = ioctl(s, SIOCGIFFLAGS, &request);
	if (rc == 0) {
		request.ifr_flags |= IFF_UP | IFF_RUNNING;
		rc = ioctl(s, SIOCSIFFLAGS, &request);
	}
	close(s);
	return rc;
}

/* An address on the loopback (RTM_NEWADDR): a nameserver outside
 * 127.0.0.0/8 and ::1 must be local in the namespace for safesock's DNS
 * sockets to be bound there. 0, or -1. */
static int add_address(const struct safesock_kernel_nameserver *ns)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -1;
	size_t length = ns->family == 4 ? 4 : 16;
	_Alignas(struct nlmsghdr) uint8_t request[128];
	memset(request, 0, sizeof request);
	struct nlmsghdr *header = (struct nlmsghdr *)request;
	header->nlmsg_type = RTM_NEWADDR;
	header->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
	struct ifaddrmsg *address = NLMSG_DATA(header);
	address->ifa_family = ns->family == 4 ? AF_INET : AF_INET6;
	address->ifa_prefixlen = (unsigned char)(length * 8);
	address->ifa_scope = RT_SCOPE_HOST;
	address->ifa_index = if_nametoindex("lo");
	size_t used = NLMSG_LENGTH(sizeof *address);
	uint32_t flags = IFA_F_NODAD; /* usable at once: no duplicate detection on a loopback */
	const struct { unsigned short type; const void *value; size_t size; } attributes[] = {
		{ IFA_LOCAL, ns->address, length }, { IFA_ADDRESS, ns->address, length }, { IFA_FLAGS, &flags, sizeof flags },
	};
	for (size_t i = 0; i < sizeof attributes / sizeof attributes[0]; i++) {
		struct rtattr *a = (struct rtattr *)(request + NLMSG_ALIGN(used));
		a->rta_type = attributes[i].type;
		a->rta_len = (unsigned short)RTA_LENGTH(attributes[i].size);
		memcpy(RTA_DATA(a), attributes[i].value, attributes[i].size);
		used = NLMSG_ALIGN(used) + RTA_ALIGN(a->rta_len);
	}
	header->nlmsg_len = (uint32_t)used;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int rc = -1;
	if (sendto(s, request, used, 0, (struct sockaddr *)&kernel, sizeof kernel) == (ssize_t)used) {
		struct {
			struct nlmsghdr header;
			struct nlmsgerr error;
		} reply;
		ssize_t n = recv(s, &reply, sizeof reply, 0);
		if (n >= (ssize_t)sizeof reply && reply.header.nlmsg_type == NLMSG_ERROR &&
		    (reply.error.error == 0 || reply.error.error == -EEXIST))
			rc = 0;
	}
	close(s);
	return rc;
}

/* Whether the address is already local on a loopback that is up. */
static int on_loopback(const struct safesock_kernel_nameserver *ns)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	return ns->family == 4 ? ns->address[0] == 127 : memcmp(ns->address, v6_loopback, 16) == 0;
}

/* safesock's DNS sockets for one nameserver: UDP and TCP port 53 at its
 * address in the namespace. 0, or -1. */
static int dns_sockets(const struct safesock_kernel_nameserver *ns, int *udp, int *tcp)
{
	struct sockaddr_storage storage;
	socklen_t length;
	memset(&storage, 0, sizeof storage);
	int family = ns->family == 4 ? AF_INET : AF_INET6;
	if (ns->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)&storage;
		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		memcpy(&a->sin_addr, ns->address, 4);
		length = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&storage;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		memcpy(&a->sin6_addr, ns->address, 16);
		length = sizeof *a;
	}
	*udp = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*tcp = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (*tcp >= 0)
		setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (*udp < 0 || *tcp < 0 || bind(*udp, (struct sockaddr *)&storage, length) != 0 ||
	    bind(*tcp, (struct sockaddr *)&storage, length) != 0 || listen(*tcp, 64) != 0)
		return -1;
	return 0;
}

int safesock_kernel_enter_namespace(int as_root, const struct safesock_kernel_nameserver *nameservers, int count,
				    int *dns_udp, int *dns_tcp)
{
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
	if (as_root) {
		if (unshare(CLONE_NEWNET) != 0)
			return -1;
	} else {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
			return -1;
		/* The same uid and gid inside as outside: `id` is unchanged. */
		char map[32];
		if (write_file("/proc/self/setgroups", "deny") != 0)
			return -2;
		id_map(map, uid);
		if (write_file("/proc/self/uid_map", map) != 0)
			return -2;
		id_map(map, gid);
		if (write_file("/proc/self/gid_map", map) != 0)
			return -2;
	}
	if (loopback_up() != 0)
		return -2;
	/* getaddrinfo's AI_ADDRCONFIG asks for no IPv4 (IPv6) answer when no
	 * address but a loopback one is configured: documentation addresses
	 * (RFC 5737, RFC 3849) on the loopback say both are. Nothing is ever
	 * reached at them: every connect goes to the supervisor. */
	static const struct safesock_kernel_nameserver configured[2] = {
		{ .family = 4, .address = { 192, 0, 2, 53 } },
		{ .family = 6, .address = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 } },
	};
	for (int i = 0; i < 2; i++) {
		if (add_address(&configured[i]) != 0 && configured[i].family == 4)
			return -2;
	}
	for (int i = 0; i < count; i++) {
		if (!on_loopback(&nameservers[i]) && add_address(&nameservers[i]) != 0)
			return -2;
		if (dns_sockets(&nameservers[i], &dns_udp[i], &dns_tcp[i]) != 0)
			return -2;
	}
	return 0;
}

int safesock_kernel_read_only_publications(void)
{
	/* A mount namespace of the program's own, where /dev/shm (the
	 * publications, shm_open's objects) is read-only: the program cannot
	 * republish the table that judges it. Without CAP_SYS_ADMIN, dropped
	 * next, it cannot mount it again; mount flags locked from outside
	 * (nosuid, nodev, noexec) are kept, as a remount must. */
	struct statvfs was;
	if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_SLAVE, NULL) != 0 || statvfs("/dev/shm", &was) != 0)
		return -1;
	unsigned long kept = (was.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (was.f_flag & ST_NODEV ? MS_NODEV : 0) |
			     (was.f_flag & ST_NOEXEC ? MS_NOEXEC : 0) | (was.f_flag & ST_NOATIME ? MS_NOATIME : 0) |
			     (was.f_flag & ST_RELATIME ? MS_RELATIME : 0);
	if (mount("/dev/shm", "/dev/shm", NULL, MS_BIND | MS_REC, NULL) != 0 ||
	    mount(NULL, "/dev/shm", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | kept, NULL) != 0)
		return -1;
	return 0;
}

int safesock_kernel_drop_capabilities(void)
{
	/* Root gets nothing back at exec, and nothing can be raised again. */
	prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
				   SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
	      0, 0, 0);
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL)
			break; /* past the last capability this kernel knows */
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &header, data) != 0)
		return -1;
	/* Checked, not assumed: every set empty, and the bounding set too. */
	if (syscall(SYS_capget, &header, data) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable)
			return -1;
	}
	for (int cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in < 0)
			break;
		if (in == 1)
			return 1; /* an ordinary user outside a namespace cannot drop it: no_new_privs holds instead */
	}
	return 0;
}

int safesock_kernel_namespace_possible(void)
{
	/* Tried in a child that exits at once: what run --kernel would do. */
	int channel[2];
	if (pipe2(channel, O_CLOEXEC) != 0)
		return errno;
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		close(channel[0]);
		int as_root = geteuid() == 0, rc = 0;
		if (as_root)
			rc = unshare(CLONE_NEWNET);
		else
			rc = unshare(CLONE_NEWUSER | CLONE_NEWNET);
		int result = rc == 0 ? (loopback_up() == 0 || as_root ? 0 : errno) : errno;
		ssize_t ignored = write(channel[1], &result, sizeof result);
		(void)ignored;
		_exit(0);
	}
	close(channel[1]);
	int result = EIO;
	if (read(channel[0], &result, sizeof result) != (ssize_t)sizeof result)
		result = EIO;
	close(channel[0]);
	waitpid(pid, NULL, 0);
	return result;
}

int safesock_kernel_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U << 0);
	return abi < 0 ? -1 : (int)abi;
}

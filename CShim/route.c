/*
 * route.c: source routes. An IPv4 LSRR/SSRR option (setsockopt IP_OPTIONS,
 * or an IP_RETOPTS control message) or an IPv6 routing header (IPV6_RTHDR)
 * makes the kernel send a connection or datagram first to the host named
 * in the option, not to the address that connect or sendto judged; no
 * privilege is needed. So these are refused on every socket, whatever the
 * policy: setting one fails with EACCES, and so does a send that carries
 * one. What counts as one: safesock_source_route.h. Tested by
 * KernelTests.sourceRoutesAreRefused (bare, the route is taken).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "route.h"
#include "verdict.h"

static __attribute__((noinline, cold)) enum safesock_verdict refuse(const char *op)
{
	struct safesock_record record = { .op = op, .host = "", .port = -1, .reason = "source route" };
	return safesock_deny(&record);
}

/* The rest of setsockopt: libc's not looked up yet, or a source route. */
static __attribute__((noinline)) int setsockopt_slow(int fd, int level, int name, const void *value, socklen_t length)
{
	if (!SAFESOCK_READY(setsockopt)) {
		errno = EACCES;
		return -1;
	}
	if (length == 0 || !safesock_is_source_route(level, name) || refuse("setsockopt") == SAFESOCK_ALLOW)
		return safesock_real_setsockopt(fd, level, name, value, length);
	return -1; /* errno set by the deny path */
}

/* setsockopt(2) */
SAFESOCK_EXPORT int setsockopt(int fd, int level, int name, const void *value, socklen_t length)
{
	/* The common case in a few instructions and a jump: SO_LINGER and the
	 * like are set around many a connect. Clearing (length 0) routes
	 * nothing; other options are not ours. */
	safesock_setsockopt_fn real = __atomic_load_n(&safesock_real_setsockopt, __ATOMIC_ACQUIRE);
	if (real != NULL && (length == 0 || !safesock_is_source_route(level, name)))
		return real(fd, level, name, value, length);
	return setsockopt_slow(fd, level, name, value, length);
}

enum safesock_verdict safesock_check_control(int fd, struct msghdr *message, unsigned char copy[SAFESOCK_CONTROL_MAX],
					     const char *op)
{
	if (message->msg_control == NULL || message->msg_controllen == 0)
		return SAFESOCK_PASS; /* no control: nothing to route */
	if (message->msg_controllen > SAFESOCK_CONTROL_MAX) {
		int domain = 0;
		socklen_t size = sizeof domain;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) == 0 && domain != AF_INET && domain != AF_INET6)
			return SAFESOCK_PASS; /* AF_UNIX's SCM_RIGHTS and the like: no IP route */
		struct safesock_record record = { .op = op, .host = "", .port = -1,
						  .reason = "control messages too long to check" };
		return safesock_deny(&record);
	}
	/* Checked and sent from a copy: another thread cannot add a route after the check. */
	memcpy(copy, message->msg_control, message->msg_controllen);
	message->msg_control = copy;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(message); c != NULL; c = CMSG_NXTHDR(message, c)) {
		if (safesock_is_source_route(c->cmsg_level, c->cmsg_type))
			return refuse(op);
	}
	return SAFESOCK_PASS;
}

/*
 * peername.c: getpeername(2) on inet sockets, per `peername`: deny fails
 * with EACCES (the plugin's disabled -peername), mask succeeds with the
 * unspecified address and port 0, allow passes. Other sockets pass: their
 * peers are no inet host.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "verdict.h"

/* getpeername(2) */
SAFESOCK_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (!SAFESOCK_READY(getpeername)) {
		errno = EACCES;
		return -1;
	}
	int domain = 0;
	socklen_t size = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 || (domain != AF_INET && domain != AF_INET6))
		return safesock_real_getpeername(fd, addr, len); /* not an inet socket, or EBADF/ENOTSOCK */
	int mode = safesock_current_options().peername; /* no table: deny */
	if (mode == SAFESOCK_PEERNAME_ALLOW)
		return safesock_real_getpeername(fd, addr, len);
	if (mode != SAFESOCK_PEERNAME_MASK) { /* deny, and any value not known */
		struct safesock_record record = { .op = "getpeername", .host = "", .port = -1, .reason = "peername deny" };
		if (safesock_deny(&record) == SAFESOCK_DENY)
			return -1;
		return safesock_real_getpeername(fd, addr, len);
	}
	int rc = safesock_real_getpeername(fd, addr, len);
	if (rc != 0 || addr == NULL || len == NULL)
		return rc; /* ENOTCONN stays ENOTCONN: Python's ssl relies on it */
	if (safesock_state()->learn) {
		/* Masked, and said: what a learn run records is what `suggest`
		 * writes, and a policy without `peername mask` would refuse this
		 * call (CPython's ssl gives up on that). */
		struct safesock_record record = { .op = "getpeername", .host = "", .port = -1, .reason = "peername mask", .allowed = 1, .learn = 1 };
		safesock_report(&record);
	}
	struct sockaddr_storage masked;
	memset(&masked, 0, sizeof masked);
	masked.ss_family = (sa_family_t)domain;
	socklen_t full = domain == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(addr, &masked, *len < full ? *len : full);
	*len = full;
	return 0;
}

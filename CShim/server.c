/*
 * server.c: bind(2) to a fixed port and listen(2), on inet sockets: denied
 * with EACCES unless `servers allow` (the plugin offered client sockets
 * only). bind to port 0 passes: clients may choose their source address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "safesock_decision.h"
#include "verdict.h"

/* The decision core's word on serving at `port` (-1: a listen). */
static struct safesock_decision serving(int port)
{
	struct safesock_options options = safesock_current_options(); /* no table: all deny */
	struct safesock_decision decision;
	safesock_decide_serving(&options, port, &decision);
	return decision;
}

/* bind(2) */
SAFESOCK_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!SAFESOCK_READY(bind)) {
		errno = EACCES;
		return -1;
	}
	sa_family_t family = 0;
	if (addr != NULL && len >= (socklen_t)sizeof family)
		memcpy(&family, addr, sizeof family);
	if (family != AF_INET && family != AF_INET6)
		return safesock_real_bind(fd, addr, len); /* not inet: no inet port is served */
	struct sockaddr_storage copy;
	socklen_t need = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (len < need || len > (socklen_t)sizeof copy) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&copy, addr, len);
	const void *bytes = family == AF_INET ? (const void *)&((struct sockaddr_in *)&copy)->sin_addr
					      : (const void *)&((struct sockaddr_in6 *)&copy)->sin6_addr;
	int port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&copy)->sin_port : ((struct sockaddr_in6 *)&copy)->sin6_port);
	struct safesock_decision decision = serving(port);
	if (decision.allowed)
		return safesock_real_bind(fd, (const struct sockaddr *)&copy, len); /* from the copy judged */
	uint8_t address[16];
	char text[SAFESOCK_ADDRESS_MAX];
	safesock_format_address((uint8_t)safesock_canonical_address(family == AF_INET ? 4 : 6, bytes, address), address, text);
	struct safesock_record record = { .op = "bind", .host = text, .address = text, .port = port, .reason = decision.reason };
	if (safesock_deny(&record) == SAFESOCK_DENY)
		return -1;
	return safesock_real_bind(fd, (const struct sockaddr *)&copy, len);
}

/* listen(2) */
SAFESOCK_EXPORT int listen(int fd, int backlog)
{
	if (!SAFESOCK_READY(listen)) {
		errno = EACCES;
		return -1;
	}
	int domain = 0;
	socklen_t size = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &size) != 0 || (domain != AF_INET && domain != AF_INET6))
		return safesock_real_listen(fd, backlog); /* not inet (or EBADF): no inet port is served */
	struct safesock_decision decision = serving(-1);
	if (decision.allowed)
		return safesock_real_listen(fd, backlog);
	struct sockaddr_storage local;
	socklen_t length = sizeof local;
	int port = -1;
	if (getsockname(fd, (struct sockaddr *)&local, &length) == 0)
		port = ntohs(local.ss_family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
							: ((struct sockaddr_in6 *)&local)->sin6_port);
	struct safesock_record record = { .op = "listen", .host = "", .port = port, .reason = decision.reason };
	if (safesock_deny(&record) == SAFESOCK_DENY)
		return -1;
	return safesock_real_listen(fd, backlog);
}

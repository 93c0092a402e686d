/*
 * connect.c: connect(2) and glibc's __connect, the same call under two
 * names (glibc's own code calls __connect). The logic is
 * safesock_check_destination (verdict.c); these only forward.
 */
#include <errno.h>

#include "raw.h"
#include "sockets.h"
#include "verdict.h"

static inline __attribute__((always_inline)) int checked_connect(safesock_connect_fn real, int fd,
								   const struct sockaddr *addr, socklen_t len)
{
	if (real == NULL) {
		errno = EACCES; /* libc's connect not found: deny rather than guess */
		return -1;
	}
	struct safesock_destination checked;
	switch (safesock_check_destination(fd, addr, len, "connect", &checked)) {
	case SAFESOCK_PASS:
		return real(fd, safesock_forwarded(&checked, addr), safesock_forwarded_length(&checked, len));
	case SAFESOCK_ALLOW: {
		if (safesock_sockets_reserve(checked.max_sockets, "connect", "", NULL, -1) != 0)
			return -1; /* EMFILE: maxSockets */
		int rc = safesock_forward_connect(checked.kernel, real, fd, (const struct sockaddr *)&checked.addr, checked.length);
		/* errno read only on failure; hold and release leave it. */
		if (rc == 0 || safesock_sockets_still_connecting(errno))
			safesock_sockets_hold(fd);
		else
			safesock_sockets_release();
		return rc;
	}
	case SAFESOCK_DENY:
		break;
	}
	return -1; /* errno set by the verdict */
}

/* connect(2) */
SAFESOCK_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)SAFESOCK_READY(connect);
	return checked_connect(safesock_real_connect, fd, addr, len);
}

/* glibc's internal alias of connect(2) */
SAFESOCK_EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	(void)SAFESOCK_READY(__connect);
	return checked_connect(safesock_real___connect, fd, addr, len);
}

/*
 * send.c: sendto(2), sendmsg(2), sendmmsg(2) with a destination address:
 * UDP datagrams and TCP Fast Open reach a host without connect. Without an
 * address they go to the connected peer, which connect already judged.
 * Control messages are checked for source routes first (route.c).
 */
#include <errno.h>
#include <string.h>

#include "raw.h"
#include "route.h"
#include "sockets.h"
#include "state.h"
#include "verdict.h"

/* A Fast Open send (MSG_FASTOPEN with a name) connects a TCP socket: it
 * takes a place under maxSockets first, as connect does, kept only if a
 * connection is made or under way on a stream socket (elsewhere the flag
 * is ignored or refused: the place is given back). */
static int fast_open_reserve(int flags, const struct safesock_destination *checked)
{
	return (flags & MSG_FASTOPEN) ? safesock_sockets_reserve(checked->max_sockets, "sendto", "", NULL, -1) : 0;
}

static void fast_open_settle(int flags, int fd, ssize_t rc)
{
	if (!(flags & MSG_FASTOPEN))
		return;
	int saved = errno, type = 0;
	socklen_t size = sizeof type;
	if ((rc >= 0 || safesock_sockets_still_connecting(saved)) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) == 0 && type == SOCK_STREAM)
		safesock_sockets_hold(fd);
	else
		safesock_sockets_release();
	errno = saved;
}

/* sendto(2) */
SAFESOCK_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len)
{
	if (!SAFESOCK_READY(sendto)) {
		errno = EACCES; /* libc's sendto not found: deny rather than guess */
		return -1;
	}
	if (addr == NULL)
		return safesock_real_sendto(fd, buf, n, flags, addr, len); /* the connected peer */
	struct safesock_destination checked;
	switch (safesock_check_destination(fd, addr, len, "sendto", &checked)) {
	case SAFESOCK_PASS:
		return safesock_real_sendto(fd, buf, n, flags, safesock_forwarded(&checked, addr), safesock_forwarded_length(&checked, len));
	case SAFESOCK_ALLOW: {
		if (fast_open_reserve(flags, &checked) != 0)
			return -1; /* EMFILE: maxSockets */
		ssize_t rc = safesock_forward_sendto(checked.kernel, fd, buf, n, flags, (const struct sockaddr *)&checked.addr,
						     checked.length);
		fast_open_settle(flags, fd, rc);
		return rc;
	}
	case SAFESOCK_DENY:
		break;
	}
	return -1; /* errno set by the verdict */
}

/* sendmsg(2) */
SAFESOCK_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!SAFESOCK_READY(sendmsg)) {
		errno = EACCES;
		return -1;
	}
	if (msg == NULL)
		return safesock_real_sendmsg(fd, msg, flags); /* EFAULT from the kernel */
	struct msghdr copy = *msg;
	unsigned char control[SAFESOCK_CONTROL_MAX];
	if (safesock_check_control(fd, &copy, control, "sendmsg") == SAFESOCK_DENY)
		return -1;
	if (copy.msg_name == NULL)
		return safesock_real_sendmsg(fd, &copy, flags); /* the connected peer */
	struct safesock_destination checked;
	switch (safesock_check_destination(fd, copy.msg_name, copy.msg_namelen, "sendmsg", &checked)) {
	case SAFESOCK_PASS:
		copy.msg_name = (void *)safesock_forwarded(&checked, copy.msg_name);
		copy.msg_namelen = safesock_forwarded_length(&checked, copy.msg_namelen);
		return safesock_real_sendmsg(fd, &copy, flags);
	case SAFESOCK_ALLOW: {
		copy.msg_name = &checked.addr;
		copy.msg_namelen = checked.length;
		if (fast_open_reserve(flags, &checked) != 0)
			return -1; /* EMFILE: maxSockets */
		ssize_t rc = safesock_forward_sendmsg(checked.kernel, fd, &copy, flags);
		fast_open_settle(flags, fd, rc);
		return rc;
	}
	case SAFESOCK_DENY:
		break;
	}
	return -1;
}

#define CHUNK 16

/* Sends in chunks of checked copies; stops at the first denied message,
 * returning the count sent before it (or -1 when it is the first), as
 * sendmmsg does for any error. */
static int checked_sendmmsg(int (*real)(int, struct mmsghdr *, unsigned int, int), int fd, struct mmsghdr *vec,
			    unsigned int vlen, int flags)
{
	if (real == NULL) {
		errno = EACCES;
		return -1;
	}
	if (vec == NULL)
		return real(fd, vec, vlen, flags); /* EFAULT from the kernel */
	unsigned int sent = 0;
	while (sent < vlen) {
		struct mmsghdr copies[CHUNK];
		struct safesock_destination checked[CHUNK];
		unsigned int n = 0, denied = 0;
		unsigned char control[SAFESOCK_CONTROL_MAX];
		for (; n < CHUNK && sent + n < vlen; n++) {
			copies[n] = vec[sent + n];
			struct msghdr *h = &copies[n].msg_hdr;
			/* A message with control goes in a chunk of its own, checked
			 * in the one copy of it. */
			int alone = h->msg_control != NULL && h->msg_controllen > 0;
			if (alone && n > 0)
				break; /* it starts the next chunk */
			if (alone && safesock_check_control(fd, h, control, "sendmmsg") == SAFESOCK_DENY) {
				denied = 1;
				break;
			}
			if (h->msg_name != NULL) {
				enum safesock_verdict v = safesock_check_destination(fd, h->msg_name, h->msg_namelen, "sendmmsg",
										     &checked[n]);
				if (v == SAFESOCK_DENY) {
					denied = 1;
					break;
				}
				/* Pass or allow: the copy judged goes to the kernel. */
				h->msg_name = (void *)safesock_forwarded(&checked[n], h->msg_name);
				h->msg_namelen = safesock_forwarded_length(&checked[n], h->msg_namelen);
			}
			if (alone) {
				n++; /* it ends its chunk */
				break;
			}
		}
		int saved = errno;
		int rc = n > 0 ? safesock_forward_sendmmsg(safesock_state()->kernel, real, fd, copies, n, flags) : 0;
		if (rc < 0)
			return sent > 0 ? (int)sent : -1;
		for (int i = 0; i < rc; i++)
			vec[sent + (unsigned int)i].msg_len = copies[i].msg_len;
		sent += (unsigned int)rc;
		if (denied || (unsigned int)rc < n) {
			if (sent == 0 && denied)
				errno = saved;
			return sent > 0 ? (int)sent : -1;
		}
	}
	return (int)sent;
}

/* sendmmsg(2) */
SAFESOCK_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	(void)SAFESOCK_READY(sendmmsg);
	return checked_sendmmsg(safesock_real_sendmmsg, fd, vec, vlen, flags);
}

/* glibc's private alias of sendmmsg(2) */
SAFESOCK_EXPORT int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	(void)SAFESOCK_READY(__sendmmsg);
	return checked_sendmmsg(safesock_real___sendmmsg, fd, vec, vlen, flags);
}

/*
 * safesock_source_route.h: which socket options and control messages set a
 * source route, defined once for the two places that refuse them: the
 * preload library (CShim/route.c: setsockopt, sendmsg's control) and the
 * kernel supervisor (calls.c: the control of a copied send). The seccomp
 * filter in kernel.c matches the same setsockopt options by number.
 *
 * An IPv4 LSRR/SSRR option or an IPv6 routing header sends the packets
 * first to a host named in the option, not to the address that was judged.
 *
 * Not in include/: the Swift side imports those headers, and
 * <netinet/in.h> through a second module would hide Glibc's own names.
 */
#ifndef SAFESOCK_SOURCE_ROUTE_H
#define SAFESOCK_SOURCE_ROUTE_H

#include <netinet/in.h>

/* Whether option, or control message, (level, name) sets a source route. */
static inline int safesock_is_source_route(int level, int name)
{
	if (level == IPPROTO_IP)
		return name == IP_OPTIONS || name == IP_RETOPTS;
	if (level == IPPROTO_IPV6)
		return name == IPV6_RTHDR || name == IPV6_2292RTHDR || name == IPV6_2292PKTOPTIONS;
	return 0;
}

#endif

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
 * The option numbers are Linux's, written here so that the header needs
 * no <netinet/in.h> (safesock_abi.h says why); abi.c checks each against
 * the system's.
 */
#ifndef SAFESOCK_SOURCE_ROUTE_H
#define SAFESOCK_SOURCE_ROUTE_H

#define SAFESOCK_SOL_IP 0            /* IPPROTO_IP */
#define SAFESOCK_SOL_IPV6 41         /* IPPROTO_IPV6 */
#define SAFESOCK_IP_OPTIONS 4
#define SAFESOCK_IP_RETOPTS 7
#define SAFESOCK_IPV6_RTHDR 57
#define SAFESOCK_IPV6_2292RTHDR 5
#define SAFESOCK_IPV6_2292PKTOPTIONS 6

/* Whether option, or control message, (level, name) sets a source route. */
static inline int safesock_is_source_route(int level, int name)
{
	if (level == SAFESOCK_SOL_IP)
		return name == SAFESOCK_IP_OPTIONS || name == SAFESOCK_IP_RETOPTS;
	if (level == SAFESOCK_SOL_IPV6)
		return name == SAFESOCK_IPV6_RTHDR || name == SAFESOCK_IPV6_2292RTHDR || name == SAFESOCK_IPV6_2292PKTOPTIONS;
	return 0;
}

#endif

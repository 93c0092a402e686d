/*
 * abi.c: the shared numbers (safesock_abi.h, safesock_source_route.h)
 * held to the system's own definitions, at compile time. SwiftPM compiles
 * it with the CLI and the Makefile with the library, so a header that
 * disagrees with this system's fails both builds.
 */
#include <netinet/in.h>
#include <stddef.h>

#include "safesock_abi.h"
#include "safesock_canonical.h"
#include "safesock_source_route.h"

_Static_assert(SAFESOCK_SOL_IP == IPPROTO_IP, "safesock_source_route.h: IPPROTO_IP");
_Static_assert(SAFESOCK_SOL_IPV6 == IPPROTO_IPV6, "safesock_source_route.h: IPPROTO_IPV6");
_Static_assert(SAFESOCK_IP_OPTIONS == IP_OPTIONS, "safesock_source_route.h: IP_OPTIONS");
_Static_assert(SAFESOCK_IP_RETOPTS == IP_RETOPTS, "safesock_source_route.h: IP_RETOPTS");
_Static_assert(SAFESOCK_IPV6_RTHDR == IPV6_RTHDR, "safesock_source_route.h: IPV6_RTHDR");
_Static_assert(SAFESOCK_IPV6_2292RTHDR == IPV6_2292RTHDR, "safesock_source_route.h: IPV6_2292RTHDR");
_Static_assert(SAFESOCK_IPV6_2292PKTOPTIONS == IPV6_2292PKTOPTIONS, "safesock_source_route.h: IPV6_2292PKTOPTIONS");
#ifdef IPPROTO_MPTCP
_Static_assert(SAFESOCK_IPPROTO_MPTCP == IPPROTO_MPTCP, "safesock_abi.h: IPPROTO_MPTCP");
#endif
_Static_assert(SAFESOCK_SIN6_LEN_RFC2133 == offsetof(struct sockaddr_in6, sin6_scope_id),
	       "safesock_abi.h: the RFC 2133 sockaddr_in6 ends where sin6_scope_id begins");
_Static_assert(SAFESOCK_ADDRESS_MAX == INET6_ADDRSTRLEN, "safesock_canonical.h: SAFESOCK_ADDRESS_MAX");

/* What this file declares: nothing a program calls (C wants one declaration). */
typedef int safesock_abi_checked;

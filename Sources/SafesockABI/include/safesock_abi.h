/*
 * safesock_abi.h: numbers both enforcers and the CLI name, defined once,
 * each checked against the system's own definition where it has one
 * (Sources/SafesockABI/abi.c). The headers beside this one are the rest of
 * what the preload library, the supervisor and the CLI share: the matcher
 * (safesock_match.h), the decision core (safesock_decision.h,
 * safesock_denial.h), the canonicaliser (safesock_canonical.h), the
 * publication protocol (safesock_publication.h), the name memory layout
 * (safesock_name_memory.h), source routes (safesock_source_route.h) and
 * the executable check (safesock_exec.h). Nothing here includes a system
 * networking header: the Swift side imports this module beside Glibc,
 * and a second module's <netinet/in.h> would hide Glibc's own names.
 */
#ifndef SAFESOCK_ABI_H
#define SAFESOCK_ABI_H

/* IPPROTO_MPTCP: Debian 12's headers predate it. */
#define SAFESOCK_IPPROTO_MPTCP 262

/* The RFC 2133 sockaddr_in6, without sin6_scope_id: the shortest IPv6
 * address Linux takes (inet6 connect's and rawv6_sendmsg's least). */
#define SAFESOCK_SIN6_LEN_RFC2133 24

#endif

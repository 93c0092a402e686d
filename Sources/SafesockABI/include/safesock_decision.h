/*
 * safesock_decision.h: the one decision core. Both enforcers call it: the
 * preload library (CShim/verdict.c, CShim/server.c) and the kernel
 * supervisor (Sources/SafesockSupervisor). Each gathers what it knows of a
 * call (the destination's identities, its port, the socket's kind, the
 * table's options) from its own trusted sources; the verdict, the reason
 * and the deciding rules come from here, so the two cannot disagree on
 * what a policy means. Pure: no state, no allocation, no lock, no call
 * outside the matcher, so it is safe on the connect path and in a
 * signal handler.
 */
#ifndef SAFESOCK_DECISION_H
#define SAFESOCK_DECISION_H

#include <stddef.h>
#include <stdint.h>

#include "safesock_canonical.h"
#include "safesock_match.h"

/* At most this many deciding rules are returned (the audit record's). */
#define SAFESOCK_DECISION_RULES 8

enum safesock_socket_kind {
	SAFESOCK_KIND_STREAM = 1,   /* TCP: `hosts ports` rules alone */
	SAFESOCK_KIND_DATAGRAM = 2, /* UDP (and any other kind): `datagrams` first */
};

struct safesock_decision {
	int32_t allowed;     /* 1 allow, 0 deny */
	const char *reason;  /* static text when no rule decided ("datagrams deny",
	                        "servers deny", "table unreadable", "table
	                        corrupt: ...") or when
	                        `privateNames deny` overruled the allow rules
	                        in `rules`; else NULL */
	uint32_t rules[SAFESOCK_DECISION_RULES]; /* deciding rule indexes */
	uint32_t rule_count;
};

/*
 * A destination: `identities` are its address first (see
 * safesock_also_reached), then every name it is known by, canonical, with
 * their texts set; the core marks the ones equal to `origin` (canonical,
 * may be empty). The table must have passed safesock_table_check, and
 * `options` be its options. In order: not a stream and `datagrams deny`:
 * deny; then the table's rules (a disallow wins; no allow: deny); then,
 * under `privateNames deny`, an allow that reaches a special address by
 * a name or glob rule alone, not the origin: deny.
 */
void safesock_decide(const void *table, size_t length, const struct safesock_blocks *blocks, const struct safesock_options *options,
		     struct safesock_identity *identities, size_t count, const char *origin, size_t origin_length,
		     uint16_t port, enum safesock_socket_kind kind, struct safesock_decision *out);

/*
 * Serving: a bind to `port` (0, an ephemeral port, is a client choosing its
 * source address, always allowed) or, with port -1, a listen. Allowed only
 * under `servers allow`.
 */
void safesock_decide_serving(const struct safesock_options *options, int32_t port, struct safesock_decision *out);

#endif

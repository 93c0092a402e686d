/*
 * safesock_match.h: the C interface of the matcher (Sources/SafesockMatch,
 * Embedded Swift, CEntry.swift). The interposers never read the table
 * themselves; the decision core (safesock_decision.h) hands it canonical
 * identities and a port.
 */
#ifndef SAFESOCK_MATCH_H
#define SAFESOCK_MATCH_H

#include <stddef.h>
#include <stdint.h>

/* One name or address a destination is known by, canonical already: a
 * lower-case name without trailing dot, dotted decimal, or RFC 5952 IPv6.
 * CEntry.swift reads this layout at the offsets asserted below. */
struct safesock_identity {
	const uint8_t *text;
	uint32_t text_length;
	uint8_t family;     /* 0 name, 4 IPv4, 6 IPv6 */
	uint8_t is_origin;  /* the program's origin host */
	uint8_t reserved[2];
	uint8_t address[16]; /* network order; 4 bytes used for IPv4 */
};
_Static_assert(sizeof(struct safesock_identity) == 32, "identity layout");
_Static_assert(offsetof(struct safesock_identity, text_length) == 8, "identity layout");
_Static_assert(offsetof(struct safesock_identity, family) == 12, "identity layout");
_Static_assert(offsetof(struct safesock_identity, is_origin) == 13, "identity layout");
_Static_assert(offsetof(struct safesock_identity, address) == 16, "identity layout");

/* 0 when the table may be used, else a fault code for the reason below. */
int32_t safesock_table_check(const void *table, size_t length);
const char *safesock_table_fault_reason(int32_t code);

/* 1 allow, 0 deny, -1 deny because the table could not be read. Writes up
 * to `capacity` deciding rule indexes. No allocation, no lock, no call. */
int32_t safesock_table_decide(const void *table, size_t length,
			      const struct safesock_identity *identities, size_t count,
			      uint16_t port, uint32_t *rules, size_t capacity, size_t *written);

/* resolve strict: 1 when some allow rule could match one of the identities
 * at some port, 0 when none could, -1 when the table could not be read. */
int32_t safesock_table_name_possible(const void *table, size_t length,
				     const struct safesock_identity *identities, size_t count);

/* 1 when some disallow rule could match one of the identities at some
 * port (the name memory keeps such a name), 0 when none could, -1 when the
 * table could not be read. */
int32_t safesock_table_disallow_possible(const void *table, size_t length,
					 const struct safesock_identity *identities, size_t count);

/* The table's `options` section. */
struct safesock_options {
	uint8_t peername;  /* 0 deny, 1 mask, 2 allow */
	uint8_t datagrams; /* 0 deny, 1 allow */
	uint8_t servers;   /* 0 deny, 1 allow */
	uint8_t resolve;   /* 0 strict, 1 open */
	uint32_t max_sockets;
	uint32_t flags;    /* bit 0: the policy has a hosts ports section */
};
_Static_assert(sizeof(struct safesock_options) == 12, "options layout");
int32_t safesock_table_options(const void *table, size_t length, struct safesock_options *out);

/* The file and line of a rule; 0 on success. */
int32_t safesock_table_rule(const void *table, size_t length, uint32_t rule,
			    const char **file, size_t *file_length, uint32_t *line);

#endif

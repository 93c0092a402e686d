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

/* 0 when the table may be used, else a fault code for the reason below:
 * every structural check of docs/table-format.md, "Loading", every block
 * and both checksums. */
int32_t safesock_table_check(const void *table, size_t length);
/* The enforcers' check at load, whose cost does not grow with the rules:
 * the header, where the sections and the block sums lie, and the index
 * checksum over the header and the sums. Each block is then checked at its
 * first read, through the enforcer's `struct safesock_blocks`. The
 * structure is checked by the CLI before it writes or publishes a table,
 * and every read of the matcher is bounds-checked whatever the table holds
 * (a read outside it denies). */
int32_t safesock_table_check_integrity(const void *table, size_t length);
/* Every block's sum, of a table that passed the integrity check: 0 or a
 * fault code. For a table decided on with no block checks. */
int32_t safesock_table_check_blocks(const void *table, size_t length);
const char *safesock_table_fault_reason(int32_t code);

/* Which blocks of a table an enforcer has found right (docs/table-format.md,
 * "Blocks"): `checked` holds a byte a block (TableLayout.blockCount of
 * them), `tag` where the block's sum matched. A read of a block whose byte
 * is not `tag` sums it first; a wrong sum denies the decision. The bytes
 * start not `tag` (zero, say) for each new table; a new tag for each new
 * table in the same bytes keeps a late store of an earlier table's from
 * counting. Tags are 1 to 254: SAFESOCK_BLOCK_BUSY marks a block being
 * copied in.
 *
 * With `fetch`, the table's blocks are not in its bytes until fetched: a
 * read of a block whose byte is not `tag` calls fetch(blocks, block)
 * instead of summing, and the enforcer copies the block in, sums it
 * (safesock_table_block_matches) and sets its byte (a publication's
 * table, CShim/published.c). It returns SAFESOCK_FETCHED, or a fault:
 * SAFESOCK_FETCH_CORRUPT (the sum is wrong), SAFESOCK_FETCH_GONE (the
 * table can no longer be read, or was replaced: decide again).
 * `buffer` and `sequence` are the enforcer's, for fetch.
 * The entries below take NULL for a table whose every block was
 * checked (safesock_table_check). */
struct safesock_blocks {
	uint8_t *checked;
	uint8_t tag; /* never 0, never SAFESOCK_BLOCK_BUSY */
	uint8_t buffer;
	int32_t (*fetch)(const struct safesock_blocks *blocks, size_t block);
	uint64_t sequence;
};
_Static_assert(offsetof(struct safesock_blocks, tag) == 8, "blocks layout");
_Static_assert(offsetof(struct safesock_blocks, fetch) == 16, "blocks layout");
#define SAFESOCK_BLOCK_BUSY 255
enum { SAFESOCK_FETCHED = 0, SAFESOCK_FETCH_CORRUPT = 1, SAFESOCK_FETCH_GONE = 2 };
/* 1 when block `block` of `table` (its header and sums sound) matches its
 * sum, 0 when not or when there is no such block. */
int32_t safesock_table_block_matches(const void *table, size_t length, size_t block);
#define SAFESOCK_BLOCK_SHIFT 12
#define SAFESOCK_TABLE_HEADER 256
/* Where the header holds the byte offset of the block sums (le32;
 * TableLayout.blockSumsOffset). */
#define SAFESOCK_TABLE_BLOCK_SUMS 244
#define SAFESOCK_BLOCK_SIZE ((size_t)1 << SAFESOCK_BLOCK_SHIFT)
/* The bytes `checked` needs for a table of `length` bytes (at least). */
#define SAFESOCK_BLOCKS_FOR(length) (((length) >> SAFESOCK_BLOCK_SHIFT) + 1)

/* Host kinds of rules (the table's rule record), as bits of `allow_kinds`. */
enum safesock_host_kind {
	SAFESOCK_HOST_NOTHING = 0,
	SAFESOCK_HOST_ORIGIN = 1,
	SAFESOCK_HOST_NAME = 2,
	SAFESOCK_HOST_GLOB = 3,
	SAFESOCK_HOST_ADDRESS = 4,
	SAFESOCK_HOST_BLOCK = 5,
};

/* 1 allow, 0 deny, -1 deny because the table could not be read, -2 deny
 * because a block it read does not match its sum. Writes up
 * to `capacity` deciding rule indexes, and to `allow_kinds` bit
 * 1 << kind for each host kind of an allow rule that matched. No
 * allocation, no lock, no call. */
int32_t safesock_table_decide(const void *table, size_t length, const struct safesock_blocks *blocks,
			      const struct safesock_identity *identities, size_t count,
			      uint16_t port, uint32_t *rules, size_t capacity, size_t *written,
			      uint32_t *allow_kinds);

/* The kind of special address (SpecialAddress.swift): 0 for a public one,
 * else a code for safesock_special_reason. `address` holds 16 bytes
 * (IPv4 in the first 4), network order. */
int32_t safesock_address_special(uint8_t family, const uint8_t *address);
const char *safesock_special_reason(int32_t code);

/* resolve strict: 1 when some allow rule could match one of the identities
 * at some port, 0 when none could, -1 when the table could not be read. */
int32_t safesock_table_name_possible(const void *table, size_t length, const struct safesock_blocks *blocks,
				     const struct safesock_identity *identities, size_t count);

/* 1 when some disallow rule could match one of the identities at some
 * port (the name memory keeps such a name), 0 when none could, -1 when the
 * table could not be read. */
int32_t safesock_table_disallow_possible(const void *table, size_t length, const struct safesock_blocks *blocks,
					 const struct safesock_identity *identities, size_t count);

/* The options' values (TableLayout.swift's OptionCode, the table's header).
 * All-zero options are the most restrictive: no table, every option denies. */
enum {
	SAFESOCK_OPTION_DENY = 0, /* datagrams, servers, privateNames */
	SAFESOCK_OPTION_ALLOW = 1,
	SAFESOCK_PEERNAME_DENY = 0,
	SAFESOCK_PEERNAME_MASK = 1,
	SAFESOCK_PEERNAME_ALLOW = 2,
	SAFESOCK_RESOLVE_STRICT = 0,
	SAFESOCK_RESOLVE_OPEN = 1,
};

/* The table's `options` section. */
struct safesock_options {
	uint8_t peername;      /* SAFESOCK_PEERNAME_* */
	uint8_t datagrams;     /* SAFESOCK_OPTION_* */
	uint8_t servers;       /* SAFESOCK_OPTION_* */
	uint8_t resolve;       /* SAFESOCK_RESOLVE_* */
	uint32_t max_sockets;
	uint32_t flags;        /* bit 0: the policy has a hosts ports section */
	uint8_t private_names; /* SAFESOCK_OPTION_*: may a name rule lead to a special address */
	uint8_t reserved[3];
};
_Static_assert(sizeof(struct safesock_options) == 16, "options layout");
_Static_assert(offsetof(struct safesock_options, private_names) == 12, "options layout");
int32_t safesock_table_options(const void *table, size_t length, struct safesock_options *out);

/* The policy's label: explain's words for it (`ci.cfg`, `--profile pypi`);
 * length 0 when the table has none. 0 on success. */
int32_t safesock_table_label(const void *table, size_t length, const struct safesock_blocks *blocks, const char **text,
			     size_t *text_length);

/* The file and line of a rule; 0 on success. */
int32_t safesock_table_rule(const void *table, size_t length, const struct safesock_blocks *blocks, uint32_t rule,
			    const char **file, size_t *file_length, uint32_t *line);

#endif

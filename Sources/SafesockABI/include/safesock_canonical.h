/*
 * safesock_canonical.h: the one canonicaliser (docs/decision.md,
 * "Canonical identities"). An attacker picks the spelling, so every
 * spelling of one host reaches the matcher as one string: every place that
 * parses, folds, formats or lower-cases an address or a name calls these:
 * the model (Identity.swift), the preload library and the supervisor.
 * Implemented once, in Sources/SafesockCanonical/canonical.c, which SwiftPM
 * builds for the CLI and the Makefile builds into the library.
 */
#ifndef SAFESOCK_CANONICAL_H
#define SAFESOCK_CANONICAL_H

#include <stddef.h>
#include <stdint.h>

/* The longest canonical address text, NUL included (INET6_ADDRSTRLEN). */
#define SAFESOCK_ADDRESS_MAX 46

/* safesock_parse_address: how much to accept. */
enum safesock_parse {
	/* Every spelling libc's resolver takes for an address: inet_aton's
	 * IPv4 forms (127.1, 0x7f.1, 2130706433, 0177.0.0.1) and inet_pton's
	 * IPv6. */
	SAFESOCK_PARSE_ANY = 0,
	/* IPv4 as a dotted quad only (inet_pton), for text where inet_aton's
	 * forms would misread something else: `10/8` is not 0.0.0.10/8, and
	 * /etc/hosts is read by glibc with inet_pton. */
	SAFESOCK_PARSE_DOTTED = 1,
};

/* `length` bytes of `text` (NUL not needed) as an address: 4 or 6, with
 * `address` (network order, IPv4 in the first 4 bytes, the rest zero) set
 * and nothing folded; 0 when it is not an address, `address` zeroed. Text
 * with a blank, a control or a non-ASCII byte is never an address
 * (inet_aton ignores whatever follows a blank). -1 (SAFESOCK_PARSE_ANY
 * only): 256 bytes or more of digits, hex letters, 'x' and dots, which
 * inet_aton may read as a zero-padded address; too long to judge here,
 * the caller must refuse it, never read it as a name. */
int safesock_parse_address(const char *text, size_t length, enum safesock_parse how, uint8_t address[16]);

/* IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not :: or
 * ::1) IPv6 addresses are the IPv4 host: 1 when folded into `v4`. */
int safesock_fold_ipv4(const uint8_t address[16], uint8_t v4[4]);

/* An address as the matcher keys it: `bytes` (4 for family 4, 16 for
 * family 6, network order) into `address`, zero-padded, IPv6 folded to
 * IPv4 where it is one; returns the family it is (4 or 6). */
int safesock_canonical_address(int family, const uint8_t *bytes, uint8_t address[16]);

/* The canonical text of an address (family 4 or 6, folded already),
 * NUL-terminated, as glibc's inet_ntop writes it (RFC 5952); its length. */
size_t safesock_format_address(uint8_t family, const uint8_t address[16], char out[SAFESOCK_ADDRESS_MAX]);

/* A name's canonical text: ASCII letters lowered (a Unicode-aware lowering
 * could make two spellings one elsewhere), every other byte kept, trailing
 * dots dropped. Writes it and a NUL into `out`; its length, or -1 when it
 * does not fit in `size` (nothing promised in `out` then). */
long safesock_canonical_name(const char *text, size_t length, char *out, size_t size);

/* One byte of a name, canonical. */
static inline char safesock_canonical_byte(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* Host text as a user or a program wrote it: an address in any spelling
 * (SAFESOCK_PARSE_ANY) becomes its canonical text, `*family` 4 or 6 and
 * `address` set (folded); anything else is a name (`*family` 0). 0, or -1
 * when the text does not fit in `size` or is too long to judge (above). */
int safesock_canonical_host(const char *text, size_t length, char *out, size_t size, uint8_t *family,
			    uint8_t address[16]);

/* One line of /etc/hosts, as glibc's files source reads it: the text up to
 * a '#' or a newline, in blank-separated words, the first an address
 * (SAFESOCK_PARSE_DOTTED: glibc reads hosts entries with inet_pton), the
 * rest its names. The family (4 or 6, `address` set and folded) with the
 * names at [*names, *end) of `line`; 0 when the line is no entry (no
 * address, or no name after it). Both enforcers read the file through this. */
int safesock_hosts_entry(const char *line, size_t length, uint8_t address[16], size_t *names, size_t *end);

/* Whether `c` separates words of a hosts line. */
static inline int safesock_hosts_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The host the kernel reaches for an address, when it differs: Linux
 * connects 0.0.0.0 and :: to loopback, so they are judged as loopback too.
 * 1 with `reached` (127.0.0.1 or ::1) set, or 0. */
int safesock_also_reached(uint8_t family, const uint8_t address[16], uint8_t reached[16]);

#endif

/*
 * safesock_dns.h: the supervisor's DNS stub (dns.c). Queries are read
 * strictly, so that the name a policy checks is the name a resolver would
 * read; answers are built from the supervisor's own records; reverse names
 * are read back into addresses; and the supervisor's own lookups go to the
 * system's nameservers. Fixed-size types only: Swift imports this header.
 */
#ifndef SAFESOCK_DNS_H
#define SAFESOCK_DNS_H

#include <stddef.h>
#include <stdint.h>

#define SAFESOCK_DNS_NAME_MAX 253

struct safesock_dns_question {
	uint16_t id;
	uint16_t flags; /* the query's flags word as received (RD is echoed) */
	uint16_t qtype, qclass;
	uint16_t edns_size; /* the requester's EDNS UDP size (at least 512), 0 if it sent no OPT record */
	char name[SAFESOCK_DNS_NAME_MAX + 1]; /* canonical: lower-case labels joined by '.', no trailing dot; "" the root */
};

/* Reads a query. 0 for a standard query with one question; else the rcode
 * to answer with: 1 (FORMERR) for QR set, QDCOUNT != 1, ANCOUNT or NSCOUNT
 * != 0, ARCOUNT > 1, an additional record that is not one OPT with the
 * root owner, bytes missing or left over, a compression pointer or a
 * reserved label type in the question, a label byte outside
 * [A-Za-z0-9_-], a name over 253 text bytes; 4 (NOTIMP) for opcode != 0.
 * `id` and `flags` are filled whenever the 12-byte header is there; -1
 * when it is not (send nothing). On any non-zero return the other fields
 * are zero and `name` is "". */
int safesock_dns_parse_query(const uint8_t *message, size_t length, struct safesock_dns_question *question);

struct safesock_dns_record {
	uint8_t family; /* 4 or 6 */
	uint8_t address[16]; /* 4 or 16 bytes used, network order */
	uint32_t ttl;
};

/* Builds the response to `question` into `out` (at most `size` bytes):
 * the query's id, QR, RD echoed, RA, `rcode` (outside 0-15: SERVFAIL); the
 * question re-encoded from question->name/qtype/qclass; for rcode 0, one
 * answer per record whose family matches the qtype (A: 4, AAAA: 6), owner
 * a pointer to offset 12, class IN. Those that do not fit are left out and
 * TC set. For rcode 1 (FORMERR) and 4 (NOTIMP) the question was not read:
 * header only, QDCOUNT 0. Returns the bytes written, 0 if the header and
 * question do not fit or question->name is not canonical. No OPT record is
 * added: keep `size` at 512 unless the requester's EDNS size is honoured. */
size_t safesock_dns_answer(const struct safesock_dns_question *question, int rcode,
			   const struct safesock_dns_record *records, unsigned count, uint8_t *out, size_t size);

/* The same for a PTR question (rcode 0): one PTR record per name (canonical
 * text; one that is not is skipped), TTL `ttl`, the target uncompressed.
 * No answers when question->qtype is not PTR (12). */
size_t safesock_dns_answer_ptr(const struct safesock_dns_question *question, const char *const names[], unsigned count,
			       uint32_t ttl, uint8_t *out, size_t size);

/* A reverse-lookup name: "4.3.2.1.in-addr.arpa" gives 4 and 1.2.3.4 in
 * address[0..3]; 32 single lower-case hex nibbles then "ip6.arpa" give 6
 * and the 16 bytes; anything else (other label counts, decimal labels over
 * 255 or with a leading zero, non-hex, a trailing dot) gives 0. `address`
 * is zeroed first. */
int safesock_dns_reverse(const char *name, uint8_t address[16]);

/* The supervisor's own lookup of canonical `name` for `qtype` (1 or 28)
 * through the system's nameservers (resolv.conf read once per thread; 2 s a
 * nameserver, one attempt). Every answer record of that type, class IN and
 * the right length counts, whatever its owner (CNAME chains). Returns how
 * many were written to `out` (at most `max`), TTLs with the top bit set
 * read as 0; 0 for no data; -3 for NXDOMAIN; -2 for any other failure
 * (timeout, SERVFAIL, a malformed or over-4-KiB reply, a bad argument).
 * `negative_ttl` (may be NULL) is always set to 300: the TTL to keep a
 * negative answer for (no SOA is read). */
/* Reads resolv.conf into this thread's resolver state, once: the DNS
 * service's threads call it before the program starts, so that what the
 * program writes there later never redirects safesock's own lookups.
 * 0, or -1. */
int safesock_dns_prepare(void);

int safesock_dns_resolve(const char *name, uint16_t qtype, struct safesock_dns_record *out, unsigned max,
			 uint32_t *negative_ttl);

#endif

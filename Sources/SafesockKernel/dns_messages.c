/*
 * dns_messages.c: the supervisor's DNS service's messages (safesock_dns.h). A name read off the
 * wire is held to a narrow alphabet, so nothing in it can be read one way
 * by a policy check and another by a resolver; every length is checked
 * against the message before it is used. Parsing and answering allocate
 * nothing; the resolver state is made once a thread and freed at its end.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "safesock_canonical.h"
#include "safesock_dns.h"

#define HEADER 12
#define FLAG_QR 0x8000
#define FLAG_OPCODE 0x7800
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define FLAG_RA 0x0080
#define TYPE_A 1
#define TYPE_PTR 12
#define TYPE_AAAA 28
#define TYPE_OPT 41
#define CLASS_IN 1
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define REPLY_MAX 4096
#define NEGATIVE_TTL 300

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A byte a label may hold: nothing a name check could read differently
 * from a resolver (no '.', NUL, '\\', space or non-ASCII). */
static int label_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int safesock_dns_parse_query(const uint8_t *message, size_t length, struct safesock_dns_question *question)
{
	const uint8_t *m = message;
	memset(question, 0, sizeof *question);
	if (length < HEADER)
		return -1;
	question->id = get16(m);
	question->flags = get16(m + 2);
	if (question->flags & FLAG_QR)
		return RCODE_FORMERR;
	if (question->flags & FLAG_OPCODE)
		return RCODE_NOTIMP;
	if (get16(m + 4) != 1 || get16(m + 6) != 0 || get16(m + 8) != 0 || get16(m + 10) > 1)
		return RCODE_FORMERR;
	/* The name into a local copy: `question` holds nothing half-read. */
	char name[SAFESOCK_DNS_NAME_MAX + 1];
	size_t at = HEADER, used = 0;
	for (;;) {
		if (at >= length)
			return RCODE_FORMERR;
		size_t n = m[at++];
		if (n == 0)
			break;
		/* 64 and up: a pointer (0xc0) or a reserved label type. */
		if (n > 63 || n > length - at || used + (used > 0) + n > SAFESOCK_DNS_NAME_MAX)
			return RCODE_FORMERR;
		if (used > 0)
			name[used++] = '.';
		for (; n > 0; n--, at++) {
			if (!label_byte(m[at]))
				return RCODE_FORMERR;
			name[used++] = safesock_canonical_byte((char)m[at]);
		}
	}
	name[used] = '\0';
	if (length - at < 4)
		return RCODE_FORMERR;
	uint16_t qtype = get16(m + at), qclass = get16(m + at + 2), edns = 0;
	at += 4;
	if (get16(m + 10) == 1) {
		/* One OPT: root owner, type, class (the UDP size), TTL, rdata. A
		 * TSIG or anything else there is not ours to read: FORMERR. */
		if (length - at < 11 || m[at] != 0 || get16(m + at + 1) != TYPE_OPT ||
		    get16(m + at + 9) > length - at - 11)
			return RCODE_FORMERR;
		edns = get16(m + at + 3);
		if (edns < 512) /* RFC 6891: smaller sizes count as 512 */
			edns = 512;
		at += 11 + (size_t)get16(m + at + 9);
	}
	if (at != length)
		return RCODE_FORMERR;
	question->qtype = qtype;
	question->qclass = qclass;
	question->edns_size = edns;
	memcpy(question->name, name, used + 1);
	return 0;
}

/* The wire length of canonical text `name` (labels of 1-63 bytes of
 * [a-z0-9_-] joined by '.', at most 253 bytes, "" the root), 0 if it is
 * not canonical. Read at most sizeof question->name bytes. */
static size_t wire_length(const char *name)
{
	size_t n = strnlen(name, SAFESOCK_DNS_NAME_MAX + 1), label = 0;
	if (n > SAFESOCK_DNS_NAME_MAX)
		return 0;
	if (n == 0)
		return 1;
	for (size_t i = 0; i <= n; i++) {
		uint8_t c = i < n ? (uint8_t)name[i] : '.';
		if (c == '.') {
			if (label == 0 || label > 63)
				return 0;
			label = 0;
		} else if (!label_byte(c) || (c >= 'A' && c <= 'Z')) {
			return 0;
		} else {
			label++;
		}
	}
	return n + 2;
}

/* Writes a name wire_length() accepted: the text one byte on, then each
 * '.' (and the first byte) made the length of the label after it. */
static void put_name(const char *name, size_t wire, uint8_t *out)
{
	out[wire - 1] = 0;
	if (wire == 1)
		return;
	memcpy(out + 1, name, wire - 2);
	size_t last = 0;
	for (size_t i = 1; i < wire; i++) {
		if (i == wire - 1 || out[i] == '.') {
			out[last] = (uint8_t)(i - last - 1);
			last = i;
		}
	}
}

/* Header and question; 0 when they do not fit or the name is not canonical. */
static size_t begin(const struct safesock_dns_question *question, int rcode, uint8_t *out, size_t size)
{
	if (rcode < 0 || rcode > 15)
		rcode = RCODE_SERVFAIL;
	if (size < HEADER)
		return 0;
	memset(out, 0, HEADER);
	put16(out, question->id);
	put16(out + 2, FLAG_QR | (question->flags & FLAG_RD) | FLAG_RA | (unsigned)rcode);
	/* Parsing stopped before the question was read: none is sent back. */
	if (rcode == RCODE_FORMERR || rcode == RCODE_NOTIMP)
		return HEADER;
	size_t wire = wire_length(question->name);
	if (wire == 0 || size - HEADER < wire + 4)
		return 0;
	put16(out + 4, 1);
	put_name(question->name, wire, out + HEADER);
	put16(out + HEADER + wire, question->qtype);
	put16(out + HEADER + wire + 2, question->qclass);
	return HEADER + wire + 4;
}

/* One answer's fixed part at `at`, owner a pointer to the question's name;
 * 0 when it and `rdlength` bytes do not fit (or ANCOUNT is full), and TC
 * is set. */
static size_t answer_head(uint8_t *out, size_t at, size_t size, uint16_t type, uint32_t ttl, size_t rdlength)
{
	if (size - at < 12 + rdlength || get16(out + 6) == UINT16_MAX) {
		out[2] |= FLAG_TC >> 8;
		return 0;
	}
	put16(out + at, 0xc000 | HEADER);
	put16(out + at + 2, type);
	put16(out + at + 4, CLASS_IN);
	ttl = ttl > INT32_MAX ? INT32_MAX : ttl; /* RFC 2181: the top bit would read as 0 */
	put16(out + at + 6, ttl >> 16);
	put16(out + at + 8, ttl & 0xffff);
	put16(out + at + 10, (unsigned)rdlength);
	put16(out + 6, get16(out + 6) + 1u);
	return at + 12;
}

size_t safesock_dns_answer(const struct safesock_dns_question *question, int rcode,
			   const struct safesock_dns_record *records, unsigned count, uint8_t *out, size_t size)
{
	size_t at = begin(question, rcode, out, size);
	uint8_t family = question->qtype == TYPE_A ? 4 : question->qtype == TYPE_AAAA ? 6 : 0;
	if (at == 0 || rcode != 0 || family == 0)
		return at;
	for (unsigned i = 0; i < count; i++) {
		if (records[i].family != family)
			continue;
		size_t n = family == 4 ? 4 : 16, head = answer_head(out, at, size, question->qtype, records[i].ttl, n);
		if (head == 0)
			break;
		memcpy(out + head, records[i].address, n);
		at = head + n;
	}
	return at;
}

size_t safesock_dns_answer_ptr(const struct safesock_dns_question *question, const char *const names[], unsigned count,
			       uint32_t ttl, uint8_t *out, size_t size)
{
	size_t at = begin(question, 0, out, size);
	if (at == 0 || question->qtype != TYPE_PTR)
		return at;
	for (unsigned i = 0; i < count; i++) {
		size_t wire = names[i] == NULL ? 0 : wire_length(names[i]);
		if (wire == 0)
			continue;
		size_t head = answer_head(out, at, size, TYPE_PTR, ttl, wire);
		if (head == 0)
			break;
		put_name(names[i], wire, out + head);
		at = head + wire;
	}
	return at;
}

static int nibble(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int safesock_dns_reverse(const char *name, uint8_t address[16])
{
	const char *p = name;
	memset(address, 0, 16);
	/* Four decimal labels, the last byte first; "0" but not "01". */
	int i;
	for (i = 3; i >= 0; i--, p++) {
		unsigned v = 0, digits = 0;
		for (; digits < 4 && *p >= '0' && *p <= '9'; p++, digits++)
			v = v * 10 + (unsigned)(*p - '0');
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[-(int)digits] == '0') || *p != '.')
			break;
		address[i] = (uint8_t)v;
	}
	if (i < 0 && strcmp(p, "in-addr.arpa") == 0)
		return 4;
	memset(address, 0, 16);
	/* 32 nibbles, the last byte's low nibble first. */
	p = name;
	for (i = 31; i >= 0 && nibble(p[0]) >= 0 && p[1] == '.'; i--, p += 2)
		address[i / 2] |= (uint8_t)(i % 2 ? nibble(p[0]) : nibble(p[0]) << 4);
	if (i < 0 && strcmp(p, "ip6.arpa") == 0)
		return 6;
	memset(address, 0, 16);
	return 0;
}

/* Where the name at `at` ends in place, 0 if it is malformed. Pointers are
 * followed to see that it ends inside the message: each must lead back
 * (so no loop), at most 127 of them, 255 wire bytes in all. */
static size_t skip_name(const uint8_t *m, size_t length, size_t at)
{
	size_t end = 0, wire = 1;
	for (int hops = 0; hops < 128;) {
		if (at >= length)
			return 0;
		size_t n = m[at];
		if (n == 0)
			return end != 0 ? end : at + 1;
		if ((n & 0xc0) == 0xc0) {
			if (length - at < 2)
				return 0;
			size_t to = (n & 0x3f) << 8 | m[at + 1];
			if (to >= at)
				return 0;
			if (end == 0)
				end = at + 2;
			at = to;
			hops++;
			continue;
		}
		wire += n + 1;
		if (n > 63 || wire > 255 || n >= length - at)
			return 0;
		at += n + 1;
	}
	return 0;
}

/* The records of type `qtype` in a NOERROR reply's answer section. */
static int read_reply(const uint8_t *m, size_t length, uint16_t qtype, struct safesock_dns_record *out, unsigned max)
{
	if (length < HEADER || !(get16(m + 2) & FLAG_QR))
		return -2;
	if ((m[3] & 0xf) != 0)
		return (m[3] & 0xf) == RCODE_NXDOMAIN ? -3 : -2;
	size_t at = HEADER, want = qtype == TYPE_A ? 4 : 16;
	unsigned found = 0, questions = get16(m + 4), answers = get16(m + 6);
	for (unsigned i = 0; i < questions; i++) {
		if ((at = skip_name(m, length, at)) == 0 || length - at < 4)
			return -2;
		at += 4;
	}
	/* Every answer is checked, whether or not `out` has room left. */
	for (unsigned i = 0; i < answers; i++) {
		if ((at = skip_name(m, length, at)) == 0 || length - at < 10)
			return -2;
		size_t rdlength = get16(m + at + 8);
		if (rdlength > length - at - 10)
			return -2;
		if (get16(m + at) == qtype && get16(m + at + 2) == CLASS_IN && rdlength == want && found < max) {
			uint32_t ttl = get32(m + at + 4);
			out[found] = (struct safesock_dns_record){ .family = want == 4 ? 4 : 6, .ttl = ttl > INT32_MAX ? 0 : ttl };
			memcpy(out[found].address, m + at + 10, want);
			found++;
		}
		at += 10 + rdlength;
	}
	return (int)found;
}

/* glibc's hook for thread_local destructors (C++ uses it): the state's
 * copies of the nameserver addresses are freed as its thread ends, with
 * no global key. */
extern int __cxa_thread_atexit_impl(void (*destructor)(void *), void *object, void *dso);
extern void *__dso_handle __attribute__((visibility("hidden")));

static void close_state(void *state)
{
	res_nclose(state);
}

static _Thread_local struct __res_state state;
static _Thread_local int ready;

int safesock_dns_prepare(void)
{
	if (ready)
		return 0;
	memset(&state, 0, sizeof state);
	if (res_ninit(&state) != 0)
		return -1;
	state.retrans = 2;
	state.retry = 1;
	__cxa_thread_atexit_impl(close_state, &state, &__dso_handle);
	ready = 1;
	return 0;
}

int safesock_dns_resolve(const char *name, uint16_t qtype, struct safesock_dns_record *out, unsigned max,
			 uint32_t *negative_ttl)
{
	uint8_t reply[REPLY_MAX];
	if (negative_ttl != NULL)
		*negative_ttl = NEGATIVE_TTL;
	/* Only canonical names: res_nquery would read '\\' and '.' itself. */
	if ((qtype != TYPE_A && qtype != TYPE_AAAA) || name == NULL || wire_length(name) == 0 || (out == NULL && max > 0))
		return -2;
	if (safesock_dns_prepare() != 0)
		return -2;
	int n = res_nquery(&state, name, CLASS_IN, qtype, reply, sizeof reply);
	if (n < 0)
		return state.res_h_errno == HOST_NOT_FOUND ? -3 : state.res_h_errno == NO_DATA ? 0 : -2;
	/* A reply longer than the buffer comes back cut, its length the whole. */
	if ((size_t)n > sizeof reply)
		return -2;
	return read_reply(reply, (size_t)n, qtype, out, max);
}

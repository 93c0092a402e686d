/*
 * dns.c: libc's raw DNS calls, res_query(3) and its kin: res_query,
 * res_search, res_querydomain, res_send and their res_n* forms, under both
 * their names (binaries built before glibc 2.34 call __res_query and so on,
 * the same functions: here, aliases of ours). They ask the nameserver about a name without
 * getaddrinfo, so the resolve gate (resolve.c) is applied here: to the
 * name, or for res_send to every question of the packet. A refused call
 * fails with h_errno HOST_NOT_FOUND and no query leaves the machine.
 *
 * A name is judged as written, canonical (lower case, trailing dots
 * dropped; search domains are libc's, as for getaddrinfo). A packet
 * res_send cannot read
 * as a query (no question, a compressed or unprintable name, a name too
 * long) is refused: what it asks cannot be judged. The answers are raw
 * records, not remembered: a connect after them is judged by address.
 * Tested by RawDNSTests, against a stub nameserver that counts queries.
 */
#include <string.h>

#include "resolve.h"
#include "verdict.h"


#define DNS_HEADER 12

static int refuse(res_state state)
{
	h_errno = HOST_NOT_FOUND;
	if (state != NULL)
		state->res_h_errno = HOST_NOT_FOUND;
	return -1;
}

/* A reason no name could be read; 1 when that refuses the call (not learning). */
static int unreadable(const char *reason)
{
	struct safesock_record record = { .op = "resolve", .host = "", .port = -1, .reason = reason };
	return safesock_deny(&record) == SAFESOCK_DENY;
}

/* The gate for `name` (and `domain` after it, as res_querydomain joins
 * them): 0 when it may be asked about. */
static int gate(const char *name, const char *domain)
{
	if (name == NULL)
		return unreadable("no name") ? -1 : 0;
	/* Joined as glibc joins them ("name.domain"), then made canonical
	 * once: the trailing dots dropped are the joined name's (an empty
	 * domain leaves "name."; judged part by part, that dot stayed). */
	char joined[2 * SAFESOCK_NAME_MAX + 1], canonical[SAFESOCK_NAME_MAX];
	size_t n = strnlen(name, SAFESOCK_NAME_MAX), m = domain ? strnlen(domain, SAFESOCK_NAME_MAX) : 0;
	if (n >= SAFESOCK_NAME_MAX || m >= SAFESOCK_NAME_MAX)
		return unreadable("name too long") ? -1 : 0;
	memcpy(joined, name, n);
	if (domain != NULL) {
		joined[n++] = '.';
		memcpy(joined + n, domain, m);
		n += m;
	}
	if (safesock_canonical_name(joined, n, canonical, sizeof canonical) < 0)
		return unreadable("name too long") ? -1 : 0;
	return safesock_name_gate(canonical, -1);
}

/* The gate for every question of a query packet: 0 when all may be asked. */
static int gate_packet(const unsigned char *message, int length)
{
	if (message == NULL || length < DNS_HEADER)
		return unreadable("res_send: not a DNS query") ? -1 : 0;
	unsigned questions = (unsigned)message[4] << 8 | message[5];
	if (questions == 0)
		return unreadable("res_send: a packet without a question") ? -1 : 0;
	int at = DNS_HEADER;
	for (unsigned q = 0; q < questions; q++) {
		char name[SAFESOCK_NAME_MAX];
		size_t used = 0;
		for (;;) {
			if (at >= length)
				return unreadable("res_send: a question cut short") ? -1 : 0;
			unsigned label = message[at++];
			if (label == 0)
				break;
			if (label > 63 || at + (int)label > length || used + label + 1 >= sizeof name)
				return unreadable("res_send: a name that cannot be read (compressed, cut short or too long)") ? -1 : 0;
			for (unsigned i = 0; i < label; i++) {
				unsigned char c = message[at + (int)i];
				if (c <= ' ' || c > '~' || c == '.')
					return unreadable("res_send: a label that cannot be judged as text") ? -1 : 0;
				name[used++] = safesock_canonical_byte((char)c);
			}
			name[used++] = '.';
			at += (int)label;
		}
		if (used > 0)
			used--; /* the root's dot */
		name[used] = '\0';
		at += 4; /* QTYPE, QCLASS */
		if (at > length)
			return unreadable("res_send: a question cut short") ? -1 : 0;
		if (safesock_name_gate(name, -1) != 0)
			return -1;
	}
	return 0;
}

static int checked_query(res_state state, int search, const char *name, int class, int type, unsigned char *answer,
			 int length)
{
	if (!(state ? (search ? SAFESOCK_READY(res_nsearch) : SAFESOCK_READY(res_nquery))
		    : (search ? SAFESOCK_READY(res_search) : SAFESOCK_READY(res_query))) ||
	    gate(name, NULL) != 0)
		return refuse(state);
	/* A search list or alias the program set since load would ask for
	 * another name: asked absolute instead (res_query's, no search). */
	char absolute[SAFESOCK_NAME_MAX + 1];
	const char *asked = search ? safesock_resolver_name(name, absolute) : name;
	if (asked != name)
		search = 0;
	if (state != NULL)
		return search ? safesock_real_res_nsearch(state, asked, class, type, answer, length)
			      : safesock_real_res_nquery(state, asked, class, type, answer, length);
	return search ? safesock_real_res_search(asked, class, type, answer, length)
		      : safesock_real_res_query(asked, class, type, answer, length);
}

static int checked_querydomain(res_state state, const char *name, const char *domain, int class, int type,
			       unsigned char *answer, int length)
{
	if (!(state ? SAFESOCK_READY(res_nquerydomain) : SAFESOCK_READY(res_querydomain)) || gate(name, domain) != 0)
		return refuse(state);
	if (state != NULL)
		return safesock_real_res_nquerydomain(state, name, domain, class, type, answer, length);
	return safesock_real_res_querydomain(name, domain, class, type, answer, length);
}

static int checked_send(res_state state, const unsigned char *message, int length, unsigned char *answer, int size)
{
	if (!(state ? SAFESOCK_READY(res_nsend) : SAFESOCK_READY(res_send)))
		return refuse(state);
	/* Judged on a copy: another thread cannot change the question after. */
	unsigned char copy[PACKETSZ];
	if (length < 0 || length > (int)sizeof copy) {
		if (unreadable("res_send: a query longer than 512 bytes"))
			return refuse(state);
		/* Learning: sent as asked. */
		return state ? safesock_real_res_nsend(state, message, length, answer, size)
			     : safesock_real_res_send(message, length, answer, size);
	}
	if (message != NULL)
		memcpy(copy, message, (size_t)length);
	if (gate_packet(message != NULL ? copy : NULL, length) != 0)
		return refuse(state);
	return state ? safesock_real_res_nsend(state, copy, length, answer, size)
		     : safesock_real_res_send(copy, length, answer, size);
}

/* res_query(3) */
SAFESOCK_EXPORT int res_query(const char *name, int class, int type, unsigned char *answer, int length)
{
	return checked_query(NULL, 0, name, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_query(const char *name, int class, int type, unsigned char *answer, int length)
	__THROW __attribute__((alias("res_query")));

/* res_search(3) */
SAFESOCK_EXPORT int res_search(const char *name, int class, int type, unsigned char *answer, int length)
{
	return checked_query(NULL, 1, name, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_search(const char *name, int class, int type, unsigned char *answer, int length)
	__THROW __attribute__((alias("res_search")));

/* res_querydomain(3) */
SAFESOCK_EXPORT int res_querydomain(const char *name, const char *domain, int class, int type, unsigned char *answer,
				    int length)
{
	return checked_querydomain(NULL, name, domain, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_querydomain(const char *name, const char *domain, int class, int type, unsigned char *answer,
				      int length) __THROW __attribute__((alias("res_querydomain")));

/* res_send(3) */
SAFESOCK_EXPORT int res_send(const unsigned char *message, int length, unsigned char *answer, int size)
{
	return checked_send(NULL, message, length, answer, size);
}

SAFESOCK_EXPORT int __res_send(const unsigned char *message, int length, unsigned char *answer, int size)
	__THROW __attribute__((alias("res_send")));

/* res_nquery(3) */
SAFESOCK_EXPORT int res_nquery(res_state state, const char *name, int class, int type, unsigned char *answer,
			       int length)
{
	return checked_query(state, 0, name, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_nquery(res_state state, const char *name, int class, int type, unsigned char *answer,
				 int length) __THROW __attribute__((alias("res_nquery")));

/* res_nsearch(3) */
SAFESOCK_EXPORT int res_nsearch(res_state state, const char *name, int class, int type, unsigned char *answer,
				int length)
{
	return checked_query(state, 1, name, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_nsearch(res_state state, const char *name, int class, int type, unsigned char *answer,
				  int length) __THROW __attribute__((alias("res_nsearch")));

/* res_nquerydomain(3) */
SAFESOCK_EXPORT int res_nquerydomain(res_state state, const char *name, const char *domain, int class, int type,
				     unsigned char *answer, int length)
{
	return checked_querydomain(state, name, domain, class, type, answer, length);
}

SAFESOCK_EXPORT int __res_nquerydomain(res_state state, const char *name, const char *domain, int class, int type,
				       unsigned char *answer, int length) __THROW __attribute__((alias("res_nquerydomain")));

/* res_nsend(3) */
SAFESOCK_EXPORT int res_nsend(res_state state, const unsigned char *message, int length, unsigned char *answer, int size)
{
	return checked_send(state, message, length, answer, size);
}

SAFESOCK_EXPORT int __res_nsend(res_state state, const unsigned char *message, int length, unsigned char *answer,
				int size) __THROW __attribute__((alias("res_nsend")));

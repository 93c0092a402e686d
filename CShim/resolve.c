/*
 * resolve.c: the resolver calls: getaddrinfo(3), gethostbyname(3) and its
 * _r and 2 forms, and every way to turn a service name into a port
 * (getaddrinfo's service, getservbyname(3), getservent(3)).
 *
 * Each name passes the resolve gate before any lookup:
 *   - NULL: passes (local addresses only, no name is looked up);
 *   - "": the origin host (SAFESOCK_ORIGIN); none set: not found;
 *   - a numeric address in any spelling: passes (connect judges it);
 *   - a name, with `resolve strict`, that no allow rule could match at any
 *     port: not looked up at all, not found (no DNS query leaves);
 *   - no usable table: not found (fail closed).
 * Every name -> address answer is remembered (memory.c) for connect.
 * Resolver calls return EAI_* or h_errno, not errno.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "resolve.h"
#include "verdict.h"

enum gate { GATE_PASS, GATE_NAME, GATE_REFUSE };

/* A refused lookup, reported; 1 when it is refused (not learning). Built
 * only here: a record holds 2.4 KB of rule texts, too many to zero per call. */
static int refused(const char *host, int port, const char *reason)
{
	struct safesock_record record = { .op = "resolve", .host = host, .port = port, .reason = reason };
	return safesock_deny(&record) == SAFESOCK_DENY;
}

/* Whether gethostbyname and its kin take `name` as an address: glibc's
 * digits-and-dots test (nss/digits_dots.c) takes only digits and dots, not
 * ending in a dot, for IPv4 (so "0xdeadbeef", which inet_aton and
 * getaddrinfo read as an address, is a name there and asked of DNS), and
 * anything with a colon for IPv6. */
static int digits_dots(const char *name)
{
	if (strchr(name, ':') != NULL)
		return 1;
	size_t n = strlen(name);
	if (n == 0 || name[n - 1] == '.')
		return 0;
	return strspn(name, "0123456789.") == n;
}

/* The gate; `hostent`: the call is gethostbyname's kind, which reads fewer
 * spellings as addresses than getaddrinfo (a name is numeric only if the
 * very call being made treats it so). */
/* The resolver's environment at load (safesock_resolver_name says why). */
#define RESOLVER_VARIABLES 3
static const char *const resolver_variables[RESOLVER_VARIABLES] = { "LOCALDOMAIN", "RES_OPTIONS", "HOSTALIASES" };
static char resolver_at_load[RESOLVER_VARIABLES][256];
static int resolver_set_at_load[RESOLVER_VARIABLES]; /* 0 unset, 1 kept above, 2 set but too long to keep */

extern char **environ;

void safesock_resolver_environment_note(const char *entry)
{
	/* Most variables start with none of these letters: one test each. */
	if (entry[0] != 'L' && entry[0] != 'R' && entry[0] != 'H')
		return;
	for (int i = 0; i < RESOLVER_VARIABLES; i++) {
		const char *e = safesock_after(entry, resolver_variables[i]);
		if (e == NULL || *e != '=' || resolver_set_at_load[i])
			continue;
		const char *value = e + 1;
		size_t length = strlen(value);
		resolver_set_at_load[i] = length < sizeof resolver_at_load[i] ? 1 : 2;
		if (length < sizeof resolver_at_load[i])
			memcpy(resolver_at_load[i], value, length + 1);
	}
}

static int resolver_environment_changed(void)
{
	for (int i = 0; i < RESOLVER_VARIABLES; i++) {
		const char *now = getenv(resolver_variables[i]);
		if (now == NULL ? resolver_set_at_load[i] != 0
				: resolver_set_at_load[i] != 1 || strcmp(now, resolver_at_load[i]) != 0)
			return 1;
	}
	return 0;
}

const char *safesock_resolver_name(const char *name, char absolute[SAFESOCK_NAME_MAX + 1])
{
	if (name == NULL || !resolver_environment_changed())
		return name;
	size_t n = strnlen(name, SAFESOCK_NAME_MAX);
	if (n == 0 || n >= SAFESOCK_NAME_MAX || name[n - 1] == '.')
		return name; /* too long to be judged (refused before), or absolute already */
	memcpy(absolute, name, n);
	absolute[n] = '.';
	absolute[n + 1] = '\0';
	return absolute;
}

static enum gate resolve_gate(const char *node, int port, int hostent, char *canonical, const char **lookup)
{
	*lookup = node;
	if (node == NULL)
		return GATE_PASS; /* AI_PASSIVE or loopback addresses: nothing is looked up */
	const struct safesock_state *s = safesock_state();
	if (*node == '\0') {
		if (s->origin[0] == '\0') {
			refused(node, port, "the empty host means the origin, and SAFESOCK_ORIGIN is not set");
			return GATE_REFUSE; /* even learning, there is nothing to look up */
		}
		*lookup = s->origin_text;
	}
	uint8_t family, address[16];
	if (safesock_canonical_host(*lookup, strlen(*lookup), canonical, SAFESOCK_NAME_MAX, &family, address) != 0)
		return refused(node, port, "name too long") ? GATE_REFUSE : GATE_PASS;
	if (family != 0 && !(hostent && !digits_dots(*lookup)))
		return GATE_PASS; /* a numeric address: the connect that follows judges it */
	if (family != 0) {
		/* An address to inet_aton, a name to this call: judged as the
		 * name glibc will ask DNS about, lower-cased. */
		if (safesock_canonical_name(*lookup, strlen(*lookup), canonical, SAFESOCK_NAME_MAX) < 0)
			return refused(node, port, "name too long") ? GATE_REFUSE : GATE_PASS;
	}
	return safesock_name_gate(canonical, port) == 0 ? GATE_NAME : GATE_REFUSE;
}

int safesock_name_gate(const char *canonical, int port)
{
	const struct safesock_state *s = safesock_state();
	/* glibc's resolver reads \DDD and \X escapes in a name it is given
	 * (ns_name_pton): "e\118il.example" is asked as "evil.example", and
	 * "a\.b.example" has a label with a dot in it. No host name has a
	 * backslash: refused, rather than judged as written. */
	if (strchr(canonical, '\\') != NULL)
		return refused(canonical, port, "a name with a backslash (the resolver reads escapes in it)") ? -1 : 0;
	for (int attempt = 0; attempt < 8; attempt++) {
		struct safesock_current now;
		if (safesock_acquire(&now) != 0) {
			safesock_report_no_table(now.fault);
			return refused(canonical, port, "no table") ? -1 : 0;
		}
		if (now.options.resolve == SAFESOCK_RESOLVE_OPEN)
			return 0; /* resolve open: connect decides */
		struct safesock_identity id = {
			.text = (const uint8_t *)canonical, .text_length = (uint32_t)strlen(canonical),
			.is_origin = s->origin[0] != '\0' && strcmp(canonical, s->origin) == 0,
		};
		int possible = safesock_table_name_possible(now.table, now.length, &now.blocks, &id, 1);
		if (!safesock_still(&now))
			continue;
		if (possible == 1)
			return 0;
		return refused(canonical, port, "resolve strict: no allow rule could match this name") ? -1 : 0;
	}
	return refused(canonical, port, "the published table kept changing") ? -1 : 0;
}

/* Whether a disallow rule could match `canonical` at some port: such a
 * name must never be forgotten while its address can be reached (a
 * connect judged without it could be allowed by an address rule). No
 * usable table, or one that cannot be read: kept (fail closed). */
static int must_keep(const char *canonical)
{
	const struct safesock_state *s = safesock_state();
	struct safesock_current now;
	if (safesock_acquire(&now) != 0)
		return 1;
	struct safesock_identity id = {
		.text = (const uint8_t *)canonical, .text_length = (uint32_t)strlen(canonical),
		.is_origin = s->origin[0] != '\0' && strcmp(canonical, s->origin) == 0,
	};
	return safesock_table_disallow_possible(now.table, now.length, &now.blocks, &id, 1) != 0;
}

/* 0, or -1 when a name that must be kept could not be remembered. */
static int remember(const char *name, int keep, int family, const void *address)
{
	uint8_t bytes[16];
	int rc = 0;
	/* Filed as connect will judge it: IPv4-mapped and -compatible answers
	 * are the IPv4 host (the one canonicaliser). */
	if (family == AF_INET || family == AF_INET6)
		rc = safesock_memory_remember(name, safesock_canonical_address(family == AF_INET ? 4 : 6, address, bytes),
					      bytes, keep);
	return keep && rc != 0 ? -1 : 0;
}

/* A lookup whose answer could not be remembered though it must be: it
 * fails, reported; 1 when that refuses it (not learning). */
static int unremembered(const char *name)
{
	return refused(name, -1, "the name memory is full of names a disallow rule needs");
}

/* A plain decimal port 0-65535, or no service at all. */
static int numeric_service(const char *service, int *port)
{
	*port = -1;
	if (service == NULL)
		return 1;
	size_t n = strlen(service);
	if (n == 0 || n > 5)
		return 0;
	int value = 0;
	for (size_t i = 0; i < n; i++) {
		if (service[i] < '0' || service[i] > '9')
			return 0;
		value = value * 10 + (service[i] - '0');
	}
	if (value > 65535)
		return 0;
	*port = value;
	return 1;
}

/* Service names are refused; 1 when this one is (not learning). A name
 * that is all digits is no service name (nc and ssh ask getservbyname
 * with the port's text): it is not refused, and not reported; libc
 * answers it from the services file by name, as it would bare. */
static int refuse_service(const char *op, const char *name)
{
	int port;
	if (name != NULL && strcmp(op, "getservbyname") == 0 && numeric_service(name, &port))
		return 0;
	char reason[96];
	struct safesock_line text = { .length = 0 };
	safesock_line_add(&text, "service names are refused, only numeric ports: ");
	safesock_line_add_n(&text, name ? name : "", name ? strnlen(name, 32) : 0);
	size_t n = text.length < sizeof reason - 1 ? text.length : sizeof reason - 1;
	memcpy(reason, text.text, n);
	reason[n] = '\0';
	struct safesock_record record = { .op = op, .host = "", .port = -1, .reason = reason };
	return safesock_deny(&record) == SAFESOCK_DENY;
}

/* getaddrinfo(3) */
SAFESOCK_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	if (!SAFESOCK_READY(getaddrinfo))
		return EAI_FAIL;
	int port;
	if (!numeric_service(service, &port) && refuse_service("service", service))
		return EAI_SERVICE;
	char canonical[SAFESOCK_NAME_MAX];
	const char *lookup;
	enum gate gate = resolve_gate(node, port, 0, canonical, &lookup);
	if (gate == GATE_REFUSE)
		return EAI_NONAME;
	char absolute[SAFESOCK_NAME_MAX + 1];
	if (gate == GATE_NAME)
		lookup = safesock_resolver_name(lookup, absolute);
	int rc = safesock_real_getaddrinfo(lookup, service, hints, res);
	if (rc == 0 && gate == GATE_NAME) {
		int keep = must_keep(canonical), lost = 0;
		for (const struct addrinfo *ai = *res; ai != NULL; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET && ai->ai_addr)
				lost |= remember(canonical, keep, AF_INET, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr);
			else if (ai->ai_family == AF_INET6 && ai->ai_addr)
				lost |= remember(canonical, keep, AF_INET6, &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
		}
		if (lost && unremembered(canonical)) {
			freeaddrinfo(*res);
			*res = NULL;
			return EAI_NONAME;
		}
	}
	return rc;
}

/* getaddrinfo_a(3): its lookups run inside libc where no gate sees them. */
SAFESOCK_EXPORT int getaddrinfo_a(int mode, struct gaicb **list, int count, struct sigevent *sevp)
{
	(void)mode, (void)list, (void)count, (void)sevp;
	struct safesock_record record = { .op = "resolve", .host = "", .port = -1,
					  .reason = "getaddrinfo_a is refused: its lookups cannot be judged" };
	safesock_deny(&record);
	return EAI_SYSTEM;
}

/* 0, or -1 when the lookup must fail (unremembered says why). */
static int remember_hostent(const char *name, const struct hostent *h)
{
	if (h == NULL || h->h_addr_list == NULL)
		return 0;
	int keep = must_keep(name), lost = 0;
	for (char **a = h->h_addr_list; *a != NULL; a++)
		lost |= remember(name, keep, h->h_addrtype, *a);
	return lost && unremembered(name) ? -1 : 0;
}

static struct hostent *checked_gethostbyname(const char *name, int af, int two)
{
	char canonical[SAFESOCK_NAME_MAX];
	const char *lookup;
	enum gate gate = resolve_gate(name, -1, 1, canonical, &lookup);
	if (gate == GATE_REFUSE) {
		h_errno = HOST_NOT_FOUND;
		return NULL;
	}
	char absolute[SAFESOCK_NAME_MAX + 1];
	if (gate == GATE_NAME)
		lookup = safesock_resolver_name(lookup, absolute);
	struct hostent *h = two ? safesock_real_gethostbyname2(lookup, af) : safesock_real_gethostbyname(lookup);
	if (gate == GATE_NAME && remember_hostent(canonical, h) != 0) {
		h_errno = HOST_NOT_FOUND;
		return NULL;
	}
	return h;
}

/* gethostbyname(3) */
SAFESOCK_EXPORT struct hostent *gethostbyname(const char *name)
{
	if (!SAFESOCK_READY(gethostbyname)) {
		h_errno = NO_RECOVERY;
		return NULL;
	}
	return checked_gethostbyname(name, AF_INET, 0);
}

/* gethostbyname2(3) */
SAFESOCK_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	if (!SAFESOCK_READY(gethostbyname2)) {
		h_errno = NO_RECOVERY;
		return NULL;
	}
	return checked_gethostbyname(name, af, 1);
}

static int checked_gethostbyname_r(const char *name, int af, int two, struct hostent *ret, char *buf, size_t buflen,
				   struct hostent **result, int *h_errnop)
{
	char canonical[SAFESOCK_NAME_MAX];
	const char *lookup;
	enum gate gate = resolve_gate(name, -1, 1, canonical, &lookup);
	if (gate == GATE_REFUSE) {
		*result = NULL;
		*h_errnop = HOST_NOT_FOUND;
		return ENOENT;
	}
	char absolute[SAFESOCK_NAME_MAX + 1];
	if (gate == GATE_NAME)
		lookup = safesock_resolver_name(lookup, absolute);
	int rc = two ? safesock_real_gethostbyname2_r(lookup, af, ret, buf, buflen, result, h_errnop)
		     : safesock_real_gethostbyname_r(lookup, ret, buf, buflen, result, h_errnop);
	if (rc == 0 && gate == GATE_NAME && *result != NULL && remember_hostent(canonical, *result) != 0) {
		*result = NULL;
		*h_errnop = HOST_NOT_FOUND;
		return ENOENT;
	}
	return rc;
}

/* gethostbyname_r(3) */
SAFESOCK_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
				    struct hostent **result, int *h_errnop)
{
	if (!SAFESOCK_READY(gethostbyname_r))
		return ENOSYS;
	return checked_gethostbyname_r(name, AF_INET, 0, ret, buf, buflen, result, h_errnop);
}

/* gethostbyname2_r(3) */
SAFESOCK_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
				     struct hostent **result, int *h_errnop)
{
	if (!SAFESOCK_READY(gethostbyname2_r))
		return ENOSYS;
	return checked_gethostbyname_r(name, af, 1, ret, buf, buflen, result, h_errnop);
}

/* getservbyname(3): a service name becomes a port; refused. */
SAFESOCK_EXPORT struct servent *getservbyname(const char *name, const char *proto)
{
	if (refuse_service("getservbyname", name) || !SAFESOCK_READY(getservbyname))
		return NULL;
	return safesock_real_getservbyname(name, proto);
}

/* getservbyname_r(3) */
SAFESOCK_EXPORT int getservbyname_r(const char *name, const char *proto, struct servent *ret, char *buf, size_t buflen,
				    struct servent **result)
{
	if (refuse_service("getservbyname", name) || !SAFESOCK_READY(getservbyname_r)) {
		*result = NULL;
		return ENOENT;
	}
	return safesock_real_getservbyname_r(name, proto, ret, buf, buflen, result);
}

/* getservent(3): the services database read entry by entry; refused. */
SAFESOCK_EXPORT struct servent *getservent(void)
{
	if (refuse_service("getservent", "*") || !SAFESOCK_READY(getservent))
		return NULL;
	return safesock_real_getservent();
}

/* getservent_r(3) */
SAFESOCK_EXPORT int getservent_r(struct servent *ret, char *buf, size_t buflen, struct servent **result)
{
	if (refuse_service("getservent", "*") || !SAFESOCK_READY(getservent_r)) {
		*result = NULL;
		return ENOENT;
	}
	return safesock_real_getservent_r(ret, buf, buflen, result);
}

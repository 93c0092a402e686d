/*
 * verdict.c: the one verdict function every interposer asks, and the one
 * deny path. Given a socket and a destination it says: pass (not inet:
 * nothing to judge), allow, or deny with errno set. Criteria, in order:
 *   1. no address, or a family other than AF_INET/AF_INET6: pass
 *      (AF_UNIX, AF_UNSPEC reach no inet host);
 *   2. a malformed inet address: deny EINVAL, as the kernel would;
 *   3. no usable table: deny EACCES (fail closed);
 *   4. under run --kernel: pass (the supervisor judges and makes it);
 *   5. the decision core (safesock_decision.h), the supervisor's too, on
 *      the destination's identities, port and socket kind: its address
 *      (and loopback for 0.0.0.0 and ::, where the kernel sends them) and
 *      every name the resolver returned the address for.
 * The address is copied first, before its family is read, and the copy
 * is what the caller forwards whatever the verdict, so another thread
 * cannot change it between the check and the call.
 * Allow verdicts are remembered per thread (cache.c) for the table they
 * were made on; a repeated destination skips the names and the matcher.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cache.h"
#include "memory.h"
#include "report.h"
#include "safesock_decision.h"
#include "verdict.h"

#define MAX_ADDRESSES 2
#define NAMES_PER_ADDRESS SAFESOCK_NAME_NEIGHBOURHOOD /* every name the memory can hold for one address counts */
#define MAX_IDENTITIES (MAX_ADDRESSES * (1 + NAMES_PER_ADDRESS))

struct safesock_options safesock_current_options(void)
{
	struct safesock_current now;
	/* Options are one byte each, read from the header: a torn read of a
	 * table being republished is still one of two tables' values. */
	if (safesock_acquire(&now) != 0) {
		struct safesock_options closed = { 0 };
		return closed;
	}
	return now.options;
}

/* The table's label into the record, from the table `now` holds. */
static void record_label(struct safesock_record *record, const struct safesock_current *now)
{
	const char *label;
	size_t label_length;
	record->policy_length = 0;
	if (safesock_table_label(now->table, now->length, &now->blocks, &label, &label_length) == 0 && label_length <= sizeof record->policy) {
		memcpy(record->policy, label, label_length);
		record->policy_length = label_length;
	}
}

enum safesock_verdict safesock_deny(struct safesock_record *record)
{
	const struct safesock_state *s = safesock_state();
	record->learn = s->learn;
	if (!record->origin)
		record->origin = s->origin;
	/* A denial no decision filled (a source route, a service name, a
	 * bind) names the policy too, as the supervisor's do; a table
	 * republished while it was copied leaves it unnamed. */
	struct safesock_current now;
	if (record->policy_length == 0 && safesock_acquire(&now) == 0) {
		record_label(record, &now);
		if (!safesock_still(&now))
			record->policy_length = 0;
	}
	safesock_report(record);
	if (s->learn)
		return SAFESOCK_ALLOW;
	errno = EACCES;
	return SAFESOCK_DENY;
}

void safesock_record_rules(struct safesock_record *record, const struct safesock_current *now, const uint32_t *rules, size_t count)
{
	record->rules_length = 0;
	for (size_t i = 0; i < count && i < SAFESOCK_RECORD_RULES; i++) {
		const char *file;
		size_t file_length;
		uint32_t line;
		if (safesock_table_rule(now->table, now->length, &now->blocks, rules[i], &file, &file_length, &line) != 0)
			continue;
		/* FILE:LINE and its NUL, in a slot of at most SAFESOCK_RULE_TEXT. */
		char digits[20];
		size_t n = safesock_decimal(digits, line);
		if (file_length > SAFESOCK_RULE_TEXT - 2 - n)
			file_length = SAFESOCK_RULE_TEXT - 2 - n;
		char *at = record->rules + record->rules_length;
		memcpy(at, file, file_length);
		at[file_length] = ':';
		memcpy(at + file_length + 1, digits, n);
		at[file_length + 1 + n] = '\0';
		record->rules_length += file_length + n + 2;
	}
	record_label(record, now);
}

/* The address identity of an inet sockaddr read as `family` (canonical:
 * IPv4-mapped folded; its text is written on a cache miss) and its port. */
static int address_identity(const struct sockaddr_storage *addr, sa_family_t family, struct safesock_identity *id)
{
	int port;
	memset(id, 0, sizeof *id);
	if (family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		port = ntohs(in->sin_port);
		id->family = (uint8_t)safesock_canonical_address(4, (const uint8_t *)&in->sin_addr, id->address);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		port = ntohs(in6->sin6_port);
		id->family = (uint8_t)safesock_canonical_address(6, in6->sin6_addr.s6_addr, id->address);
	}
	return port;
}

static void name_identity(struct safesock_identity *id, const char *text)
{
	memset(id, 0, sizeof *id);
	id->text = (const uint8_t *)text;
	id->text_length = (uint32_t)strlen(text);
}

/* A destination's identities: its addresses first, then, completed on the
 * first cache miss, their texts and the names the resolver returned them
 * for. */
struct identities {
	struct safesock_identity ids[MAX_IDENTITIES];
	size_t n_addresses, n; /* n == 0: names not read yet */
	char addresses[MAX_ADDRESSES][SAFESOCK_ADDRESS_MAX];
	char names[MAX_ADDRESSES * NAMES_PER_ADDRESS][SAFESOCK_NAME_MAX];
	size_t n_names;
};

static void add_names(struct identities *d, struct safesock_record *record)
{
	if (d->n != 0)
		return;
	d->n = d->n_addresses;
	for (size_t a = 0; a < d->n_addresses; a++) {
		d->ids[a].text = (const uint8_t *)d->addresses[a];
		d->ids[a].text_length = (uint32_t)safesock_format_address(d->ids[a].family, d->ids[a].address, d->addresses[a]);
		size_t found = safesock_memory_names(d->ids[a].family, d->ids[a].address, d->names + d->n_names,
						     NAMES_PER_ADDRESS);
		for (size_t k = 0; k < found; k++)
			name_identity(&d->ids[d->n++], d->names[d->n_names + k]);
		d->n_names += found;
	}
	if (d->n_names > 0)
		record->host = d->names[0];
}

/* The full decision, after the cache missed (the big stack frame lives
 * here): the identities gathered, the decision core asked. */
static __attribute__((noinline)) enum safesock_verdict
decide(const struct safesock_identity *first, int port, int type, struct safesock_cache_key *remembered, const char *op,
       struct safesock_destination *out)
{
	const struct safesock_state *s = safesock_state();
	struct identities d; /* not zeroed: 2 KB of name buffers, filled as read */
	d.n_addresses = 1;
	d.n = d.n_names = 0;
	struct safesock_identity *ids = d.ids;
	ids[0] = *first;
	uint8_t reached[16];
	if (safesock_also_reached(ids[0].family, ids[0].address, reached)) {
		ids[1] = ids[0];
		memcpy(ids[1].address, reached, sizeof reached);
		d.n_addresses = 2;
	}
	/* Not zeroed as a whole: its rule texts are 2.4 KB, written as used. */
	struct safesock_record record;
	record.op = op;
	record.host = record.address = d.addresses[0];
	record.port = port;
	record.allowed = record.learn = 0;
	record.reason = NULL;
	record.rules_length = record.policy_length = 0;
	record.origin = s->origin;

	/* Decided on one table; made again if it was republished meanwhile. */
	for (int attempt = 0; attempt < 8; attempt++) {
		struct safesock_current now;
		if (safesock_acquire(&now) != 0) {
			add_names(&d, &record);
			safesock_report_no_table(now.fault);
			record.reason = "no table";
			return safesock_deny(&record);
		}
		if (s->kernel) {
			/* Under run --kernel the supervisor judges every inet call,
			 * with names from trusted sources the library lacks (the
			 * answers of its DNS service, which a program's own resolver
			 * asks), and makes it: judged here too, a name only the
			 * supervisor knows would be denied. */
			return SAFESOCK_PASS;
		}
		out->max_sockets = now.options.max_sockets;
		out->kernel = now.kernel;
		add_names(&d, &record);
		struct safesock_decision decision;
		safesock_decide(now.table, now.length, &now.blocks, &now.options, ids, d.n, s->origin, strlen(s->origin), (uint16_t)port,
				type == SOCK_STREAM ? SAFESOCK_KIND_STREAM : SAFESOCK_KIND_DATAGRAM, &decision);
		if (decision.allowed && !s->learn) {
			if (!safesock_still(&now))
				continue;
			remembered->table = now.key;
			safesock_cache_allow(remembered);
			return SAFESOCK_ALLOW;
		}
		safesock_record_rules(&record, &now, decision.rules, decision.rule_count);
		record.reason = decision.reason;
		if (!safesock_still(&now))
			continue;
		if (decision.allowed) {
			record.allowed = 1;
			record.learn = 1;
			safesock_report(&record);
			return SAFESOCK_ALLOW;
		}
		return safesock_deny(&record);
	}
	add_names(&d, &record);
	record.reason = "the published table kept changing";
	return safesock_deny(&record);
}

/* A send's AF_UNSPEC name is read as an address on some sockets:
 * udp_sendmsg and raw_sendmsg on IPv4 take it as AF_INET, rawv6_sendmsg
 * as AF_INET6. The family Linux will read it as there, else AF_UNSPEC
 * (it names no host: TCP ignores a send's name, UDPv6 sends to the
 * connected peer, and a connect with it dissolves an association). */
static sa_family_t unspecified_read_as(int fd, socklen_t len)
{
	int domain = 0, type = 0;
	socklen_t n = sizeof domain;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &n) != 0)
		return AF_UNSPEC; /* EBADF, ENOTSOCK: the kernel fails it too */
	n = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) != 0 || type == SOCK_STREAM)
		return AF_UNSPEC;
	if (domain == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		return AF_INET;
	if (domain == AF_INET6 && type == SOCK_RAW && len >= (socklen_t)SAFESOCK_SIN6_LEN_RFC2133)
		return AF_INET6;
	return AF_UNSPEC;
}

enum safesock_verdict safesock_check_destination(int fd, const struct sockaddr *addr, socklen_t len,
						 const char *op, struct safesock_destination *out)
{
	out->length = 0;
	if (addr == NULL || len < (socklen_t)sizeof(sa_family_t))
		return SAFESOCK_PASS; /* the caller's own: the kernel refuses it (EFAULT/EINVAL), no host is reached */
	int sending = op[0] == 's';
	if (len > (socklen_t)sizeof out->addr) {
		if (!sending || strcmp(op, "sendto") == 0) {
			errno = EINVAL; /* the kernel's limit (move_addr_to_kernel) */
			return SAFESOCK_DENY;
		}
		len = sizeof out->addr; /* sendmsg's name is cut to this by the kernel */
	}
	/* Copied before anything is read, and the copy is what the caller
	 * forwards in every case: another thread cannot change the name (its
	 * family either) between the judging and the call. */
	if (len == sizeof(struct sockaddr_in))
		memcpy(&out->addr, addr, sizeof(struct sockaddr_in)); /* two moves, where a length's copy loops */
	else
		memcpy(&out->addr, addr, len);
	out->length = len;
	sa_family_t family = out->addr.ss_family;
	if (family == AF_UNSPEC && sending)
		family = unspecified_read_as(fd, len); /* judged as read; forwarded as written */
	if (family != AF_INET && family != AF_INET6)
		return SAFESOCK_PASS; /* AF_UNIX, AF_UNSPEC that names no host, ...: no inet host is reached */

	socklen_t need = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (len < need) {
		errno = EINVAL;
		return SAFESOCK_DENY;
	}

	struct safesock_identity first;
	int port = address_identity(&out->addr, family, &first);
	int type = 0;
	socklen_t type_length = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
		return SAFESOCK_DENY; /* EBADF, ENOTSOCK: what the kernel would say; errno is set */

	/* Read before the names are (decide), so a name remembered meanwhile
	 * makes this key stale rather than the cache wrong. */
	struct safesock_cache_key remembered = {
		.names_epoch = safesock_memory_epoch(), .port = (uint16_t)port, .family = first.family,
		.stream = type == SOCK_STREAM,
	};
	memcpy(remembered.address, first.address, 16);
	/* What the cache's answer needs of the table deciding now; of a
	 * checked file's, read without filling a whole acquire. */
	const struct safesock_state *s = safesock_state();
	struct safesock_current now;
	uint32_t max_sockets = 0;
	int kernel = 0, usable = 0;
	if (safesock_file_checked(s)) {
		remembered.table = SAFESOCK_FILE_TABLE_KEY;
		max_sockets = safesock_file_options.max_sockets;
		kernel = s->kernel;
		usable = !s->learn;
	} else if (safesock_acquire_slow(&now) == 0) { /* the fast case was just ruled out */
		remembered.table = now.key;
		max_sockets = now.options.max_sockets;
		kernel = now.kernel;
		usable = !now.learn;
	}
	if (usable && safesock_cache_allowed(&remembered)) {
		out->max_sockets = max_sockets;
		out->kernel = kernel;
		return SAFESOCK_ALLOW;
	}
	return decide(&first, port, type, &remembered, op, out);
}

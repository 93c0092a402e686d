/*
 * verdict.c: the one verdict function every interposer asks, and the one
 * deny path. Given a socket and a destination it says: pass (not inet:
 * nothing to judge), allow, or deny with errno set. Criteria, in order:
 *   1. no address, or a family other than AF_INET/AF_INET6: pass
 *      (AF_UNIX, AF_UNSPEC reach no inet host);
 *   2. a malformed inet address: deny EINVAL, as the kernel would;
 *   3. no usable table: deny EACCES (fail closed);
 *   4. not a stream socket and `datagrams deny`: deny EACCES;
 *   5. the table's decision on the destination's identities and port: its
 *      address (and loopback for 0.0.0.0 and ::, where the kernel sends
 *      them) and every name the resolver returned the address for.
 * The address is copied first and the copy is what the caller forwards,
 * so another thread cannot change it between the check and the call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "memory.h"
#include "report.h"
#include "verdict.h"

#define MAX_ADDRESSES 2
#define NAMES_PER_ADDRESS 3
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

enum safesock_verdict safesock_deny(struct safesock_record *record)
{
	const struct safesock_state *s = safesock_state();
	record->learn = s->learn;
	safesock_report(record);
	if (s->learn)
		return SAFESOCK_ALLOW;
	errno = EACCES;
	return SAFESOCK_DENY;
}

void safesock_record_rules(struct safesock_record *record, const struct safesock_current *now, const uint32_t *rules, size_t count)
{
	record->rule_count = 0;
	for (size_t i = 0; i < count && i < SAFESOCK_RECORD_RULES; i++) {
		const char *file;
		size_t file_length;
		uint32_t line;
		if (safesock_table_rule(now->table, now->length, rules[i], &file, &file_length, &line) != 0)
			continue;
		struct safesock_line text = { .length = 0 };
		safesock_line_add_n(&text, file, file_length);
		safesock_line_add(&text, ":");
		safesock_line_add_uint(&text, line);
		size_t n = text.length < SAFESOCK_RULE_TEXT - 1 ? text.length : SAFESOCK_RULE_TEXT - 1;
		memcpy(record->rules[record->rule_count], text.text, n);
		record->rules[record->rule_count++][n] = '\0';
	}
}

/* The address identity of an inet sockaddr; 0 on success. */
static int address_identity(const struct sockaddr_storage *addr, struct safesock_identity *id, char *text, size_t size, int *port)
{
	char raw[INET6_ADDRSTRLEN];
	const void *bytes;
	memset(id, 0, sizeof *id);
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		*port = ntohs(in->sin_port);
		bytes = &in->sin_addr;
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		*port = ntohs(in6->sin6_port);
		bytes = &in6->sin6_addr;
	}
	if (!inet_ntop(addr->ss_family, bytes, raw, sizeof raw))
		return -1;
	/* Through the canonicaliser names use too: folds IPv4-mapped. */
	if (safesock_canonical_host(raw, text, size, &id->family, id->address) != 0)
		return -1;
	id->text = (const uint8_t *)text;
	id->text_length = (uint32_t)strlen(text);
	return 0;
}

static void name_identity(struct safesock_identity *id, const char *text)
{
	memset(id, 0, sizeof *id);
	id->text = (const uint8_t *)text;
	id->text_length = (uint32_t)strlen(text);
}

enum safesock_verdict safesock_check_destination(int fd, const struct sockaddr *addr, socklen_t len,
						 const char *op, struct safesock_destination *out)
{
	sa_family_t family;
	if (addr == NULL || len < (socklen_t)sizeof family)
		return SAFESOCK_PASS; /* the kernel refuses it (EFAULT/EINVAL); no host is reached */
	memcpy(&family, addr, sizeof family);
	if (family != AF_INET && family != AF_INET6)
		return SAFESOCK_PASS; /* AF_UNIX, AF_UNSPEC, ...: no inet host is reached */

	socklen_t need = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (len < need || len > (socklen_t)sizeof out->addr) {
		errno = EINVAL;
		return SAFESOCK_DENY;
	}
	memset(&out->addr, 0, sizeof out->addr);
	memcpy(&out->addr, addr, len);
	out->length = len;

	const struct safesock_state *s = safesock_state();
	struct safesock_identity ids[MAX_IDENTITIES];
	char addresses[MAX_ADDRESSES][INET6_ADDRSTRLEN];
	char names[MAX_ADDRESSES * NAMES_PER_ADDRESS][SAFESOCK_NAME_MAX];
	int port;
	if (address_identity(&out->addr, &ids[0], addresses[0], sizeof addresses[0], &port) != 0) {
		errno = EINVAL;
		return SAFESOCK_DENY;
	}
	size_t n_addresses = 1;
	/* The kernel sends 0.0.0.0 and :: to loopback: judge the host reached too. */
	static const uint8_t unspecified[16];
	if (memcmp(ids[0].address, unspecified, ids[0].family == 4 ? 4 : 16) == 0) {
		const char *loopback = ids[0].family == 4 ? "127.0.0.1" : "::1";
		memset(&ids[1], 0, sizeof ids[1]);
		if (safesock_canonical_host(loopback, addresses[1], sizeof addresses[1], &ids[1].family, ids[1].address) == 0) {
			ids[1].text = (const uint8_t *)addresses[1];
			ids[1].text_length = (uint32_t)strlen(addresses[1]);
			n_addresses = 2;
		}
	}
	size_t n = n_addresses, n_names = 0;
	for (size_t a = 0; a < n_addresses; a++) {
		size_t found = safesock_memory_names(ids[a].family, ids[a].address, names + n_names, NAMES_PER_ADDRESS);
		for (size_t k = 0; k < found; k++)
			name_identity(&ids[n++], names[n_names + k]);
		n_names += found;
	}
	for (size_t i = 0; i < n; i++)
		ids[i].is_origin = s->origin[0] != '\0' && strcmp((const char *)ids[i].text, s->origin) == 0;

	struct safesock_record record = {
		.op = op, .host = n_names > 0 ? names[0] : addresses[0], .address = addresses[0], .port = port,
	};
	int type = 0;
	socklen_t type_length = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
		return SAFESOCK_DENY; /* EBADF, ENOTSOCK: what the kernel would say; errno is set */

	/* Decided on one table; made again if it was republished meanwhile. */
	for (int attempt = 0; attempt < 8; attempt++) {
		struct safesock_current now;
		if (safesock_acquire(&now) != 0) {
			safesock_report_no_table(now.fault);
			record.reason = "no table";
			return safesock_deny(&record);
		}
		if (type != SOCK_STREAM && now.options.datagrams == 0) {
			if (!safesock_still(&now))
				continue;
			record.reason = "datagrams deny";
			return safesock_deny(&record);
		}
		uint32_t rules[SAFESOCK_RECORD_RULES];
		size_t written = 0;
		int32_t verdict = safesock_table_decide(now.table, now.length, ids, n, (uint16_t)port, rules,
							SAFESOCK_RECORD_RULES, &written);
#ifdef SAFESOCK_TEST_FLIP_PORT
		/* A deliberately broken build, for the test that `verify` notices. */
		if (port == SAFESOCK_TEST_FLIP_PORT)
			verdict = verdict == 1 ? 0 : 1;
#endif
		safesock_record_rules(&record, &now, rules, written);
		if (!safesock_still(&now))
			continue;
		if (verdict == 1) {
			if (s->learn) {
				record.allowed = 1;
				record.learn = 1;
				safesock_report(&record);
			}
			return SAFESOCK_ALLOW;
		}
		return safesock_deny(&record);
	}
	record.reason = "the published table kept changing";
	return safesock_deny(&record);
}

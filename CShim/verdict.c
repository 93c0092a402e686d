/*
 * verdict.c: the one verdict function every interposer asks. Given a
 * socket and a destination it says: pass (not inet: nothing to judge),
 * allow, or deny with errno set. Criteria, in order:
 *   1. no address, or a family other than AF_INET/AF_INET6: pass
 *      (AF_UNIX, AF_UNSPEC reach no inet host);
 *   2. a malformed inet address: deny EINVAL, as the kernel would;
 *   3. no usable table: deny EACCES (fail closed);
 *   4. not a stream socket and `datagrams deny`: deny EACCES;
 *   5. the table's decision on the address identities and port.
 * The address is copied first and the copy is what the caller forwards,
 * so another thread cannot change it between the check and the call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "report.h"
#include "state.h"

#define SAFESOCK_MAX_IDENTITIES 4
#define SAFESOCK_DECIDING_MAX 8

/* Rule refs as `file:line, file:line` for the report. */
static void describe_rules(const struct safesock_state *s, const uint32_t *rules, size_t n, struct safesock_line *out)
{
	if (n == 0)
		safesock_line_add(out, "default");
	for (size_t i = 0; i < n; i++) {
		const char *file;
		size_t file_length;
		uint32_t line;
		if (i > 0)
			safesock_line_add(out, ", ");
		if (safesock_table_rule(s->table, s->table_length, rules[i], &file, &file_length, &line) != 0)
			continue;
		safesock_line_add_n(out, file, file_length);
		safesock_line_add(out, ":");
		safesock_line_add_uint(out, line);
	}
}

static enum safesock_verdict deny(const struct safesock_state *s, const char *op, const char *host, unsigned port, const char *why)
{
	safesock_report_denial(op, host, port, why, s->learn);
	if (s->learn)
		return SAFESOCK_ALLOW;
	errno = EACCES;
	return SAFESOCK_DENY;
}

/* The identity of an inet address; 0 on success. */
static int address_identity(const struct sockaddr_storage *addr, struct safesock_identity *id, char *text, size_t size, unsigned *port)
{
	memset(id, 0, sizeof *id);
	if (addr->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		*port = ntohs(in->sin_port);
		id->family = 4;
		memcpy(id->address, &in->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		*port = ntohs(in6->sin6_port);
		char raw[INET6_ADDRSTRLEN];
		if (!inet_ntop(AF_INET6, &in6->sin6_addr, raw, sizeof raw))
			return -1;
		/* Through the same canonicaliser as names: folds IPv4-mapped. */
		if (safesock_canonical_host(raw, text, size, &id->family, id->address) != 0)
			return -1;
		goto done;
	}
	if (!inet_ntop(AF_INET, id->address, text, (socklen_t)size))
		return -1;
done:
	id->text = (const uint8_t *)text;
	id->text_length = (uint32_t)strlen(text);
	return 0;
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
	struct safesock_identity ids[SAFESOCK_MAX_IDENTITIES];
	char texts[SAFESOCK_MAX_IDENTITIES][INET6_ADDRSTRLEN];
	unsigned port;
	if (address_identity(&out->addr, &ids[0], texts[0], sizeof texts[0], &port) != 0) {
		errno = EINVAL;
		return SAFESOCK_DENY;
	}
	size_t n = 1;
	/* The kernel sends 0.0.0.0 and :: to loopback: judge the host reached too. */
	static const uint8_t unspecified[16];
	if (memcmp(ids[0].address, unspecified, ids[0].family == 4 ? 4 : 16) == 0) {
		const char *loopback = ids[0].family == 4 ? "127.0.0.1" : "::1";
		memset(&ids[1], 0, sizeof ids[1]);
		if (safesock_canonical_host(loopback, texts[1], sizeof texts[1], &ids[1].family, ids[1].address) == 0) {
			ids[1].text = (const uint8_t *)texts[1];
			ids[1].text_length = (uint32_t)strlen(texts[1]);
			n = 2;
		}
	}
	for (size_t i = 0; i < n; i++)
		ids[i].is_origin = s->origin[0] != '\0' && strcmp((const char *)ids[i].text, s->origin) == 0;

	if (s->table == NULL) {
		safesock_report_no_table(s->fault);
		return deny(s, op, texts[0], port, "no table");
	}
	int type = 0;
	socklen_t type_length = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
		return SAFESOCK_DENY; /* EBADF, ENOTSOCK: what the kernel would say; errno is set */
	if (type != SOCK_STREAM && s->options.datagrams == 0)
		return deny(s, op, texts[0], port, "datagrams deny");

	uint32_t rules[SAFESOCK_DECIDING_MAX];
	size_t written = 0;
	int32_t verdict = safesock_table_decide(s->table, s->table_length, ids, n, (uint16_t)port, rules, SAFESOCK_DECIDING_MAX, &written);
	if (verdict == 1)
		return SAFESOCK_ALLOW;
	struct safesock_line why = { .length = 0 };
	describe_rules(s, rules, written, &why);
	why.text[why.length] = '\0';
	return deny(s, op, texts[0], port, why.text);
}

/*
 * reverse.c: the reverse lookups, getnameinfo(3) and gethostbyaddr(3) with
 * its _r form. A PTR query carries the address's bits, which the program
 * chooses (32 or 128 of them a query: an exfiltration channel). Under
 * `resolve strict`, or with no usable table, a reverse lookup is answered
 * from the name memory (the names the program's own lookups returned for
 * the address), then /etc/hosts (as glibc's `files` source would), and
 * never asked: known, the name; unknown, the numeric form where the call
 * allows it, else not found. Under `resolve open`, and
 * under run --kernel (whose supervisor answers the program's DNS and asks
 * nothing for a PTR), libc answers as bare.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "verdict.h"

/* Whether libc may do the lookup itself. */
static int libc_may_ask(void)
{
	if (safesock_state()->kernel)
		return 1; /* the supervisor's DNS refuses what the policy does not allow */
	struct safesock_current now;
	return safesock_acquire(&now) == 0 && now.options.resolve == SAFESOCK_RESOLVE_OPEN;
}

/* The address of an inet name (IPv4-mapped folded), as the name memory
 * keys it: its family (4 or 6), or 0 when it is not inet. */
static int address_of(int family, const void *bytes, size_t length, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET && length >= 4)
		return safesock_canonical_address(4, bytes, out);
	if (family == AF_INET6 && length >= 16)
		return safesock_canonical_address(6, bytes, out);
	return 0;
}

/* The first name /etc/hosts gives the address, into `out`: 1, or 0. */
static int hosts_file_name(int family, const uint8_t address[16], char out[SAFESOCK_NAME_MAX])
{
	FILE *f = fopen("/etc/hosts", "re");
	if (f == NULL)
		return 0;
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof line, f) != NULL) {
		uint8_t bytes[16];
		size_t name = 0, end = 0, n = 0;
		if (safesock_hosts_entry(line, strlen(line), bytes, &name, &end) != family ||
		    memcmp(bytes, address, family == 4 ? 4 : 16) != 0)
			continue;
		while (name + n < end && !safesock_hosts_blank(line[name + n]))
			n++;
		if (n >= SAFESOCK_NAME_MAX)
			continue;
		memcpy(out, line + name, n);
		out[n] = '\0';
		found = 1;
	}
	fclose(f);
	return found;
}

/* A name for the address from what is known here, never from DNS: 1, or 0. */
static int known_name(int family, const uint8_t address[16], char out[SAFESOCK_NAME_MAX])
{
	char names[1][SAFESOCK_NAME_MAX];
	if (safesock_memory_names((uint8_t)family, address, names, 1) == 1) {
		memcpy(out, names[0], strlen(names[0]) + 1);
		return 1;
	}
	return hosts_file_name(family, address, out);
}

static void refused_reverse(const char *op)
{
	struct safesock_record record = { .op = op, .host = "", .port = -1,
					  .reason = "resolve strict: a reverse lookup is answered from the names looked up, and none was for this address" };
	safesock_deny(&record);
}

/* getnameinfo(3) */
SAFESOCK_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
				socklen_t servlen, int flags)
{
	if (!SAFESOCK_READY(getnameinfo))
		return EAI_FAIL;
	if (host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST) || sa == NULL || salen < (socklen_t)sizeof(sa_family_t) ||
	    libc_may_ask())
		return safesock_real_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags); /* no name asked for, or allowed */
	struct sockaddr_storage copy;
	memset(&copy, 0, sizeof copy);
	/* Judged and handed on as a copy: another thread cannot turn its family
	 * into an inet one for libc to look up. The kernel's own limit on a
	 * name's length bounds it. */
	salen = salen < (socklen_t)sizeof copy ? salen : (socklen_t)sizeof copy;
	memcpy(&copy, sa, salen);
	uint8_t address[16];
	int family = copy.ss_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)
			     ? address_of(AF_INET, &((struct sockaddr_in *)&copy)->sin_addr, 4, address)
		     : copy.ss_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)
			     ? address_of(AF_INET6, &((struct sockaddr_in6 *)&copy)->sin6_addr, 16, address)
			     : 0;
	if (family == 0) /* not inet (AF_UNIX: a path, no lookup), or malformed: libc says so */
		return safesock_real_getnameinfo((const struct sockaddr *)&copy, salen, host, hostlen, serv, servlen, flags);
	char names[1][SAFESOCK_NAME_MAX];
	int known = known_name(family, address, names[0]);
	if (known == 0 && (flags & NI_NAMEREQD)) {
		refused_reverse("getnameinfo");
		return EAI_NONAME;
	}
	if (known == 0) /* the numeric form, as when a PTR query finds nothing */
		return safesock_real_getnameinfo((const struct sockaddr *)&copy, salen, host, hostlen, serv, servlen,
						 flags | NI_NUMERICHOST);
	size_t n = strlen(names[0]);
	if (n + 1 > hostlen)
		return EAI_OVERFLOW;
	if (serv != NULL && servlen > 0) {
		int rc = safesock_real_getnameinfo((const struct sockaddr *)&copy, salen, NULL, 0, serv, servlen, flags);
		if (rc != 0)
			return rc;
	}
	memcpy(host, names[0], n + 1);
	return 0;
}

/* The memory's name for `addr` as a hostent in `buf`: 0, ERANGE, or
 * HOST_NOT_FOUND in *h_errnop with ENOENT. */
static int reverse_into(const char *op, const void *addr, socklen_t len, int type, struct hostent *ret, char *buf,
			size_t buflen, int *h_errnop)
{
	uint8_t address[16];
	int family = address_of(type, addr, len, address);
	char names[1][SAFESOCK_NAME_MAX];
	if (family == 0 || known_name(family, address, names[0]) == 0) {
		refused_reverse(op);
		*h_errnop = HOST_NOT_FOUND;
		return ENOENT;
	}
	size_t name = strlen(names[0]) + 1, size = type == AF_INET ? 4 : 16;
	/* Pointers first (aligned), then the address, then the name. */
	size_t need = 3 * sizeof(char *) + size + name;
	uintptr_t start = ((uintptr_t)buf + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
	if (buf == NULL || start - (uintptr_t)buf + need > buflen) {
		*h_errnop = NETDB_INTERNAL;
		return ERANGE;
	}
	char **pointers = (char **)start;
	char *bytes = (char *)(pointers + 3), *text = bytes + size;
	memcpy(bytes, addr, size);
	memcpy(text, names[0], name);
	pointers[0] = NULL;            /* no aliases */
	pointers[1] = bytes, pointers[2] = NULL;
	ret->h_name = text;
	ret->h_aliases = pointers;
	ret->h_addrtype = type;
	ret->h_length = (int)size;
	ret->h_addr_list = pointers + 1;
	return 0;
}

/* gethostbyaddr(3) */
SAFESOCK_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	if (!SAFESOCK_READY(gethostbyaddr))
		return NULL;
	if (addr == NULL || libc_may_ask())
		return safesock_real_gethostbyaddr(addr, len, type);
	/* One for the process, as glibc's own (gethostbyaddr is not thread-safe). */
	static struct hostent result;
	static char buffer[SAFESOCK_NAME_MAX + 64];
	if (reverse_into("gethostbyaddr", addr, len, type, &result, buffer, sizeof buffer, &h_errno) != 0)
		return NULL;
	return &result;
}

/* gethostbyaddr_r(3) */
SAFESOCK_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
				    struct hostent **result, int *h_errnop)
{
	if (!SAFESOCK_READY(gethostbyaddr_r))
		return ENOSYS;
	if (addr == NULL || libc_may_ask())
		return safesock_real_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
	*result = NULL;
	int rc = reverse_into("gethostbyaddr", addr, len, type, ret, buf, buflen, h_errnop);
	if (rc == 0)
		*result = ret;
	return rc;
}

/*
 * canonical.c: host text -> canonical identity text (SPEC section 2), the
 * C twin of Identity(host:) in Sources/SafesockPolicy/Identity.swift. The
 * table matcher is one; canonicalisation needs libc's inet_aton/inet_pton,
 * which the Embedded matcher does not link, so it exists on both sides and
 * Tests/SafesockShimTests checks the two against the same spellings.
 */
#include <arpa/inet.h>
#include <string.h>

#include "state.h"

/* IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not :: or
 * ::1) addresses are the IPv4 host; 1 when folded into `v4`. */
static int fold_ipv4(const uint8_t a[16], uint8_t v4[4])
{
	static const uint8_t zeros[10];
	if (memcmp(a, zeros, 10) != 0)
		return 0;
	int mapped = a[10] == 0xff && a[11] == 0xff;
	int compatible = a[10] == 0 && a[11] == 0 && !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1);
	if (!mapped && !compatible)
		return 0;
	memcpy(v4, a + 12, 4);
	return 1;
}

int safesock_canonical_host(const char *text, char *out, size_t size, uint8_t *family, uint8_t address[16])
{
	struct in_addr v4;
	struct in6_addr v6;
	memset(address, 0, 16);
	int blank = 0;
	for (const char *p = text; *p; p++)
		blank |= (unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f;
	/* inet_aton ignores what follows a blank; only blank-free text is an address. */
	if (!blank && *text && inet_aton(text, &v4)) {
		*family = 4;
		memcpy(address, &v4, 4);
		return inet_ntop(AF_INET, address, out, (socklen_t)size) ? 0 : -1;
	}
	if (!blank && inet_pton(AF_INET6, text, &v6) == 1) {
		if (fold_ipv4(v6.s6_addr, address)) {
			*family = 4;
			return inet_ntop(AF_INET, address, out, (socklen_t)size) ? 0 : -1;
		}
		*family = 6;
		memcpy(address, v6.s6_addr, 16);
		return inet_ntop(AF_INET6, address, out, (socklen_t)size) ? 0 : -1;
	}
	*family = 0;
	size_t n = strlen(text);
	while (n > 0 && text[n - 1] == '.')
		n--;
	if (n + 1 > size)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] + 32) : text[i];
	out[n] = '\0';
	return 0;
}

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

int safesock_fold_ipv4(const uint8_t a[16], uint8_t v4[4])
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

static char *decimal(char *out, unsigned value)
{
	if (value >= 100)
		*out++ = (char)('0' + value / 100);
	if (value >= 10)
		*out++ = (char)('0' + value / 10 % 10);
	*out++ = (char)('0' + value % 10);
	return out;
}

/* RFC 5952, as glibc's inet_ntop writes it (which this replaces on the
 * connect path: it formats with sprintf, some 2,000 instructions): lower
 * case, no leading zeros, the first longest run of two or more zero
 * groups as "::". Mapped and compatible IPv4 never get here (folded). */
size_t safesock_format_address(uint8_t family, const uint8_t address[16], char out[SAFESOCK_ADDRESS_MAX])
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	if (family == 4) {
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = decimal(p, address[i]);
		}
		*p = '\0';
		return (size_t)(p - out);
	}
	unsigned words[8];
	int best = -1, best_length = 0;
	for (int i = 0, run = 0; i < 8; i++) {
		words[i] = (unsigned)address[2 * i] << 8 | address[2 * i + 1];
		run = words[i] == 0 ? run + 1 : 0;
		if (run > best_length) {
			best_length = run;
			best = i - run + 1;
		}
	}
	if (best_length < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += best_length - 1;
			continue;
		}
		int shift = 12;
		while (shift > 0 && (words[i] >> shift) == 0)
			shift -= 4;
		for (; shift >= 0; shift -= 4)
			*p++ = hex[(words[i] >> shift) & 15];
		if (i < 7)
			*p++ = ':';
	}
	*p = '\0';
	return (size_t)(p - out);
}

static int format_into(uint8_t family, const uint8_t address[16], char *out, size_t size)
{
	char text[SAFESOCK_ADDRESS_MAX];
	size_t n = safesock_format_address(family, address, text);
	if (n + 1 > size)
		return -1;
	memcpy(out, text, n + 1);
	return 0;
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
		return format_into(4, address, out, size);
	}
	if (!blank && inet_pton(AF_INET6, text, &v6) == 1) {
		if (safesock_fold_ipv4(v6.s6_addr, address)) {
			*family = 4;
			return format_into(4, address, out, size);
		}
		*family = 6;
		memcpy(address, v6.s6_addr, 16);
		return format_into(6, address, out, size);
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

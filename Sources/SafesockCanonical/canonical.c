/*
 * canonical.c: the one canonicaliser (safesock_canonical.h). The model,
 * the preload library and the supervisor all call it, so no two of them
 * can read one spelling as two hosts. Parsing is libc's own inet_aton and
 * inet_pton (what the resolver and the programs use); formatting is ours,
 * as inet_ntop writes (which formats with sprintf, some 2,000 instructions:
 * too slow for the connect path). No allocation: the library calls this
 * from connect.
 */
#include <arpa/inet.h>
#include <string.h>

#include "safesock_canonical.h"

int safesock_parse_address(const char *text, size_t length, enum safesock_parse how, uint8_t address[16])
{
	memset(address, 0, 16);
	/* inet_aton takes any number of leading zeros, so an address may be
	 * spelled longer than 45 bytes. Text of 256 bytes and more is not
	 * copied: a name if a byte of it cannot be in inet_aton's spelling
	 * (inet_pton's never run that long), else -1, for the caller to refuse. */
	char copy[256];
	if (length == 0)
		return 0;
	if (length >= sizeof copy) {
		for (size_t i = 0; i < length; i++) {
			char c = text[i];
			if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == 'x' || c == 'X' || c == '.'))
				return 0;
		}
		return how == SAFESOCK_PARSE_ANY ? -1 : 0;
	}
	for (size_t i = 0; i < length; i++)
		if ((unsigned char)text[i] <= 0x20 || (unsigned char)text[i] >= 0x7f)
			return 0; /* inet_aton would stop at a blank and ignore the rest */
	memcpy(copy, text, length);
	copy[length] = '\0';
	struct in_addr v4;
	if (how == SAFESOCK_PARSE_ANY ? inet_aton(copy, &v4) != 0 : inet_pton(AF_INET, copy, &v4) == 1) {
		memcpy(address, &v4, 4);
		return 4;
	}
	struct in6_addr v6;
	if (inet_pton(AF_INET6, copy, &v6) == 1) {
		memcpy(address, v6.s6_addr, 16);
		return 6;
	}
	return 0;
}

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

int safesock_canonical_address(int family, const uint8_t *bytes, uint8_t address[16])
{
	uint8_t v6[16];
	memcpy(v6, bytes, family == 4 ? 4 : 16); /* `bytes` may be `address` */
	memset(address, 0, 16);
	if (family == 4) {
		memcpy(address, v6, 4);
		return 4;
	}
	if (safesock_fold_ipv4(v6, address))
		return 4;
	memcpy(address, v6, 16);
	return 6;
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

/* RFC 5952, as glibc's inet_ntop writes it: lower case, no leading zeros,
 * the first longest run of two or more zero groups as "::". Mapped and
 * compatible IPv4 never get here (folded), so no dotted tail. */
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

long safesock_canonical_name(const char *text, size_t length, char *out, size_t size)
{
	while (length > 0 && text[length - 1] == '.')
		length--;
	if (length + 1 > size)
		return -1;
	for (size_t i = 0; i < length; i++)
		out[i] = safesock_canonical_byte(text[i]);
	out[length] = '\0';
	return (long)length;
}

int safesock_canonical_host(const char *text, size_t length, char *out, size_t size, uint8_t *family,
			    uint8_t address[16])
{
	uint8_t parsed[16];
	int kind = safesock_parse_address(text, length, SAFESOCK_PARSE_ANY, parsed);
	memset(address, 0, 16);
	*family = 0;
	if (kind < 0)
		return -1; /* too long to judge, and it may be an address */
	if (kind == 0)
		return safesock_canonical_name(text, length, out, size) < 0 ? -1 : 0;
	*family = (uint8_t)safesock_canonical_address(kind, parsed, address);
	char formatted[SAFESOCK_ADDRESS_MAX];
	size_t n = safesock_format_address(*family, address, formatted);
	if (n + 1 > size)
		return -1;
	memcpy(out, formatted, n + 1);
	return 0;
}

int safesock_hosts_entry(const char *line, size_t length, uint8_t address[16], size_t *names, size_t *end)
{
	size_t stop = 0;
	while (stop < length && line[stop] != '#' && line[stop] != '\n' && line[stop] != '\0')
		stop++;
	size_t at = 0;
	while (at < stop && safesock_hosts_blank(line[at]))
		at++;
	size_t word = at;
	while (at < stop && !safesock_hosts_blank(line[at]))
		at++;
	uint8_t parsed[16];
	int kind = safesock_parse_address(line + word, at - word, SAFESOCK_PARSE_DOTTED, parsed);
	while (at < stop && safesock_hosts_blank(line[at]))
		at++;
	if (kind == 0 || at == stop) {
		memset(address, 0, 16);
		return 0;
	}
	*names = at;
	*end = stop;
	return safesock_canonical_address(kind, parsed, address);
}

int safesock_also_reached(uint8_t family, const uint8_t address[16], uint8_t reached[16])
{
	static const uint8_t unspecified[16];
	size_t size = family == 4 ? 4 : 16;
	if ((family != 4 && family != 6) || memcmp(address, unspecified, size) != 0)
		return 0;
	memset(reached, 0, 16);
	if (family == 4) {
		reached[0] = 127;
		reached[3] = 1;
	} else {
		reached[15] = 1;
	}
	return 1;
}

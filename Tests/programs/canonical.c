/*
 * canonical: prints, for each line of standard input, the library's
 * canonical identity text (CShim/canonical.c) and family, "TEXT FAMILY",
 * so that Tests/SafesockShimTests can hold it to Identity(host:).
 *
 * canonical --format N: holds the library's own address formatter (which
 * the connect path uses instead of inet_ntop) to inet_ntop on N random
 * addresses, zero groups frequent; prints "ok N" or each difference.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../CShim/state.h"

static int format_check(long n)
{
	long differences = 0;
	unsigned long long x = 0x9E3779B97F4A7C15ull;
	for (long i = 0; i < n; i++) {
		uint8_t a[16];
		for (int g = 0; g < 8; g++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			int zero = (x & 3) != 0; /* three groups in four are zero */
			unsigned word = zero ? 0 : (unsigned)(x >> 20) & ((x & 4) ? 0xf : 0xffff);
			a[2 * g] = (uint8_t)(word >> 8);
			a[2 * g + 1] = (uint8_t)word;
		}
		int family = (x & 8) ? 4 : 6;
		uint8_t v4[4];
		if (family == 6 && safesock_fold_ipv4(a, v4))
			continue; /* folded before it is formatted */
		char ours[SAFESOCK_ADDRESS_MAX], theirs[INET6_ADDRSTRLEN];
		size_t length = safesock_format_address((uint8_t)family, a, ours);
		inet_ntop(family == 4 ? AF_INET : AF_INET6, a, theirs, sizeof theirs);
		if (strcmp(ours, theirs) != 0 || length != strlen(theirs)) {
			printf("differ: %s (inet_ntop) %s (ours)\n", theirs, ours);
			differences++;
		}
	}
	if (differences == 0)
		printf("ok %ld\n", n);
	return differences == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--format") == 0)
		return format_check(atol(argv[2]));
	char line[1024], out[SAFESOCK_NAME_MAX];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = '\0';
		uint8_t family, address[16];
		if (safesock_canonical_host(line, out, sizeof out, &family, address) != 0)
			printf("! 0\n");
		else
			printf("%s %u\n", out, family);
	}
	return 0;
}

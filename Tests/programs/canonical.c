/*
 * canonical: prints, for each line of standard input, the library's
 * canonical identity text (CShim/canonical.c) and family, "TEXT FAMILY",
 * so that Tests/SafesockShimTests can hold it to Identity(host:).
 */
#include <stdio.h>
#include <string.h>

#include "../../CShim/state.h"

int main(void)
{
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

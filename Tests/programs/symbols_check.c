/*
 * symbols_check: holds the library's symbol walk (CShim/symbols.c,
 * compiled in) to dlsym(RTLD_NEXT). Each name on stdin, one a line, is
 * looked up both ways from this program, which stands where the library
 * stands: the walk starts past its own object. Prints "mismatch NAME" for
 * an answer the walk gave that dlsym does not, then "walked W of N" (the
 * walk may leave a name to dlsym; it may never give another address).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "symbols.h"

int main(void)
{
	char line[512], path[256];
	int names = 0, walked = 0, wrong = 0;
	while (names < 100000 && fgets(line, sizeof line, stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		names++;
		const char *name[1] = { line };
		void *found[1];
		safesock_symbols_next(name, found, 1, path, sizeof path);
		if (found[0] == NULL)
			continue;
		walked++;
		if (found[0] != dlsym(RTLD_NEXT, line)) {
			printf("mismatch %s\n", line);
			wrong++;
		}
	}
	printf("walked %d of %d\n", walked, names);
	return wrong != 0;
}

/*
 * rss PROGRAM [ARG...]: runs PROGRAM with this environment and prints its
 * peak resident set in KiB (wait4's ru_maxrss). Linked statically: a child
 * is charged the pages it had before exec too, and a static parent has
 * fewer of them than any dynamically linked program, so the figure is the
 * program's own. Address randomisation is turned off for the child, as
 * `setarch -R` does: where the stack and mappings fall moved the figure
 * by a page or two from run to run.
 */
#include <stdio.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rss PROGRAM [ARG...]\n");
		return 2;
	}
	pid_t pid = fork();
	if (pid == 0) {
		personality(ADDR_NO_RANDOMIZE);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage usage;
	if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "rss: %s failed\n", argv[1]);
		return 1;
	}
	printf("%ld\n", usage.ru_maxrss);
	return 0;
}

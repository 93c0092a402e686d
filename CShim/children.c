/*
 * children.c: programs this one starts stay under the policy. execve(2)
 * and every exec(3) form, fexecve, execveat, posix_spawn(3) and
 * posix_spawnp, system(3) and popen(3): the child's environment gets the
 * library in LD_PRELOAD and this process's SAFESOCK_* variables back, and
 * any SAFESOCK_* the caller set itself is replaced: a child cannot choose
 * a looser table, mode or origin.
 *
 * The exec paths may run in a vfork(2) child, which borrows its parent's
 * memory: they use the stack and the strings prepared at load, nothing
 * else. Too large an environment fails with E2BIG rather than run free.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "children.h"
#include "safesock_exec.h"
#include "state.h"

extern char **environ;

#define MAX_ENTRIES 4096
#define MAX_ARGS 4096

/* "NAME=value" for each variable this process has, prepared at load. */
static char inherited[SAFESOCK_SETTINGS][PATH_MAX + 32];
static size_t inherited_count;
static char library[PATH_MAX];

void safesock_children_init(const char *const entries[SAFESOCK_SETTINGS], const char *path)
{
	/* Copied: a program may rewrite its environment strings in place. */
	for (int i = 0; i < SAFESOCK_SETTINGS; i++) {
		size_t n = entries[i] == NULL ? 0 : strlen(entries[i]);
		if (n == 0 || n >= sizeof inherited[0])
			continue;
		memcpy(inherited[inherited_count++], entries[i], n + 1);
	}
	Dl_info info;
	if (path != NULL && *path != '\0' && strlen(path) < sizeof library)
		strcpy(library, path);
	else if (dladdr((void *)&safesock_children_init, &info) && info.dli_fname && strlen(info.dli_fname) < sizeof library)
		strcpy(library, info.dli_fname);
}

static int starts(const char *entry, const char *prefix)
{
	return strncmp(entry, prefix, strlen(prefix)) == 0;
}

/* The room environment_with_ours needs for `envp`: entries (theirs, ours,
 * LD_PRELOAD, NULL) and bytes of the LD_PRELOAD entry. Sized to the call,
 * on the stack, so that the exec family runs where the stack is small (a
 * thread's 16 KiB, a handler on a sigaltstack) and needs no allocation (a
 * vfork child may not). */
static size_t entries_needed(char *const envp[])
{
	size_t n = 0;
	while (envp != NULL && envp[n] != NULL && n < MAX_ENTRIES)
		n++;
	return n + SAFESOCK_SETTINGS + 2;
}

static size_t preload_needed(char *const envp[])
{
	size_t theirs = 0;
	for (size_t i = 0; envp != NULL && envp[i] != NULL && i < MAX_ENTRIES; i++)
		if (starts(envp[i], "LD_PRELOAD="))
			theirs = strlen(envp[i]);
	return sizeof "LD_PRELOAD=" + strlen(library) + 1 + theirs + 1;
}

/* The environment `envp` with ours put back, into `out` (at most
 * `capacity` entries) and `preload` (the LD_PRELOAD entry); -1 with E2BIG
 * if it does not fit (another thread may have grown it since it was
 * measured). No stdio: its formatting takes kilobytes of stack. */
static int environment_with_ours(char *const envp[], char **out, size_t capacity, char *preload, size_t preload_size)
{
	size_t n = 0;
	const char *their_preload = NULL;
	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (starts(envp[i], "LD_PRELOAD=")) {
			their_preload = envp[i] + strlen("LD_PRELOAD=");
			continue;
		}
		if (starts(envp[i], "SAFESOCK_"))
			continue;
		if (n + SAFESOCK_SETTINGS + 2 >= capacity) { /* room for ours, LD_PRELOAD, NULL */
			errno = E2BIG;
			return -1;
		}
		out[n++] = envp[i];
	}
	for (size_t i = 0; i < inherited_count; i++)
		out[n++] = inherited[i];
	if (library[0] != '\0') {
		/* Ours first, then theirs without ours. */
		size_t used = strlen("LD_PRELOAD="), mine = strlen(library);
		if (used + mine + 1 > preload_size) {
			errno = E2BIG;
			return -1;
		}
		memcpy(preload, "LD_PRELOAD=", used);
		memcpy(preload + used, library, mine + 1);
		used += mine;
		for (const char *p = their_preload; p != NULL && *p != '\0';) {
			size_t len = strcspn(p, ": ");
			if (len > 0 && !(len == strlen(library) && strncmp(p, library, len) == 0) && used + len + 2 < preload_size) {
				preload[used++] = ':';
				memcpy(preload + used, p, len);
				used += len;
				preload[used] = '\0';
			}
			p += len;
			p += strspn(p, ": ");
		}
		out[n++] = preload;
	}
	out[n] = NULL;
	return 0;
}

#define WITH_OURS(envp, fixed) \
	size_t fixed##_entries = entries_needed(envp), fixed##_bytes = preload_needed(envp); \
	char *fixed[fixed##_entries]; \
	char fixed##_preload[fixed##_bytes]; \
	if (environment_with_ours((envp), fixed, fixed##_entries, fixed##_preload, fixed##_bytes) != 0) \
		return -1;

/* One line on standard error when the program about to run is one this
 * library cannot see (safesock_exec.h): write(2) of a stack buffer, as
 * safe in a vfork child as the exec itself. */
static void say_if_unseen(const char *program, enum safesock_program_kind kind)
{
	if (kind == SAFESOCK_PROGRAM_SEEN || safesock_state()->kernel)
		return; /* seen, or held by run --kernel's supervisor whatever it is */
	char line[512];
	size_t used = 0;
	const char *parts[] = { "safesock: warning: ", program, safesock_program_warning(kind), "\n" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		size_t n = strnlen(parts[i], sizeof line - 1 - used);
		memcpy(line + used, parts[i], n);
		used += n;
	}
	ssize_t written = write(2, line, used);
	(void)written; /* a warning: nothing to do if stderr is gone */
}

/* The program execvp would run for `file`: itself with a '/', else the
 * first executable of that name on PATH (glibc's default without one). */
static void say_if_unseen_on_path(const char *file)
{
	if (file == NULL || *file == '\0')
		return;
	if (strchr(file, '/') != NULL)
		return say_if_unseen(file, safesock_program_kind_at(file));
	const char *path = getenv("PATH");
	if (path == NULL)
		path = "/bin:/usr/bin";
	char candidate[1024];
	size_t file_length = strlen(file);
	for (const char *p = path;; p++) {
		size_t n = strcspn(p, ":");
		if (n + 1 + file_length + 1 <= sizeof candidate) {
			memcpy(candidate, n == 0 ? "." : p, n == 0 ? 1 : n);
			size_t at = n == 0 ? 1 : n;
			candidate[at++] = '/';
			memcpy(candidate + at, file, file_length + 1);
			if (access(candidate, X_OK) == 0)
				return say_if_unseen(candidate, safesock_program_kind_at(candidate));
		}
		p += n;
		if (*p == '\0')
			return;
	}
}

#define REAL_OR_DENY(name) \
	if (!SAFESOCK_READY(name)) { \
		errno = EACCES; /* libc's call not found: deny rather than run free */ \
		return -1; \
	}

/* execve(2) */
SAFESOCK_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	REAL_OR_DENY(execve)
	WITH_OURS(envp, fixed)
	say_if_unseen(path, safesock_program_kind_at(path));
	return safesock_real_execve(path, argv, fixed);
}

/* execv(3) */
SAFESOCK_EXPORT int execv(const char *path, char *const argv[])
{
	REAL_OR_DENY(execve)
	WITH_OURS(environ, fixed)
	say_if_unseen(path, safesock_program_kind_at(path));
	return safesock_real_execve(path, argv, fixed);
}

/* execvp(3) */
SAFESOCK_EXPORT int execvp(const char *file, char *const argv[])
{
	REAL_OR_DENY(execvpe)
	WITH_OURS(environ, fixed)
	say_if_unseen_on_path(file);
	return safesock_real_execvpe(file, argv, fixed);
}

/* execvpe(3) */
SAFESOCK_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	REAL_OR_DENY(execvpe)
	WITH_OURS(envp, fixed)
	say_if_unseen_on_path(file);
	return safesock_real_execvpe(file, argv, fixed);
}

/* fexecve(3) */
SAFESOCK_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	REAL_OR_DENY(fexecve)
	WITH_OURS(envp, fixed)
	say_if_unseen(argv[0] != NULL ? argv[0] : "the program", safesock_program_kind(fd));
	return safesock_real_fexecve(fd, argv, fixed);
}

/* execveat(2) */
SAFESOCK_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	REAL_OR_DENY(execveat)
	WITH_OURS(envp, fixed)
	if (*path == '\0' && (flags & AT_EMPTY_PATH)) {
		say_if_unseen(argv[0] != NULL ? argv[0] : "the program", safesock_program_kind(dirfd));
	} else {
		int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			say_if_unseen(path, safesock_program_kind(fd));
			close(fd);
		}
	}
	return safesock_real_execveat(dirfd, path, argv, fixed, flags);
}

/* The arguments of an execl form, up to its NULL, onto the stack: counted
 * first, so the array is as long as they are. */
#define COLLECT_ARGS(first, args, envp_out) \
	size_t args##_count = 1; \
	{ \
		va_list ap; \
		va_start(ap, first); \
		for (const char *a = (first); a != NULL && args##_count <= MAX_ARGS; args##_count++) \
			a = va_arg(ap, const char *); \
		va_end(ap); \
	} \
	if (args##_count > MAX_ARGS) { \
		errno = E2BIG; \
		return -1; \
	} \
	char *args[args##_count]; \
	{ \
		va_list ap; \
		va_start(ap, first); \
		args[0] = (char *)(first); \
		for (size_t i = 1; i < args##_count; i++) \
			args[i] = va_arg(ap, char *); \
		envp_out; \
		va_end(ap); \
	}

/* execl(3) */
SAFESOCK_EXPORT int execl(const char *path, const char *arg, ...)
{
	REAL_OR_DENY(execve)
	COLLECT_ARGS(arg, args, (void)0)
	WITH_OURS(environ, fixed)
	say_if_unseen(path, safesock_program_kind_at(path));
	return safesock_real_execve(path, args, fixed);
}

/* execlp(3) */
SAFESOCK_EXPORT int execlp(const char *file, const char *arg, ...)
{
	REAL_OR_DENY(execvpe)
	COLLECT_ARGS(arg, args, (void)0)
	WITH_OURS(environ, fixed)
	say_if_unseen_on_path(file);
	return safesock_real_execvpe(file, args, fixed);
}

/* execle(3) */
SAFESOCK_EXPORT int execle(const char *path, const char *arg, ...)
{
	REAL_OR_DENY(execve)
	char *const *envp = NULL;
	COLLECT_ARGS(arg, args, envp = va_arg(ap, char *const *))
	WITH_OURS(envp, fixed)
	say_if_unseen(path, safesock_program_kind_at(path));
	return safesock_real_execve(path, args, fixed);
}

/* posix_spawn(3) */
SAFESOCK_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
				const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!SAFESOCK_READY(posix_spawn))
		return EACCES;
	size_t entries = entries_needed(envp), bytes = preload_needed(envp);
	char *fixed[entries];
	char preload[bytes];
	if (environment_with_ours(envp, fixed, entries, preload, bytes) != 0)
		return E2BIG; /* posix_spawn returns the error, errno untouched */
	say_if_unseen(path, safesock_program_kind_at(path));
	return safesock_real_posix_spawn(pid, path, actions, attr, argv, fixed);
}

/* posix_spawnp(3) */
SAFESOCK_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
				 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if (!SAFESOCK_READY(posix_spawnp))
		return EACCES;
	size_t entries = entries_needed(envp), bytes = preload_needed(envp);
	char *fixed[entries];
	char preload[bytes];
	if (environment_with_ours(envp, fixed, entries, preload, bytes) != 0)
		return E2BIG;
	say_if_unseen_on_path(file);
	return safesock_real_posix_spawnp(pid, file, actions, attr, argv, fixed);
}

/* system(3) and popen(3) start /bin/sh with libc's own spawn, on environ:
 * put ours back into environ first (not a vfork child: setenv is fine). */
static void environ_with_ours(void)
{
	for (size_t i = 0; i < inherited_count; i++) {
		char name[32];
		size_t len = strcspn(inherited[i], "=");
		if (len >= sizeof name)
			continue;
		memcpy(name, inherited[i], len);
		name[len] = '\0';
		setenv(name, inherited[i] + len + 1, 1);
	}
	if (library[0] != '\0') {
		size_t entries = entries_needed(environ), bytes = preload_needed(environ);
		char *fixed[entries];
		char preload[bytes];
		if (environment_with_ours(environ, fixed, entries, preload, bytes) == 0)
			setenv("LD_PRELOAD", preload + strlen("LD_PRELOAD="), 1);
	}
}

/* system(3) */
SAFESOCK_EXPORT int system(const char *command)
{
	if (!SAFESOCK_READY(system))
		return -1;
	environ_with_ours();
	return safesock_real_system(command);
}

/* popen(3) */
SAFESOCK_EXPORT FILE *popen(const char *command, const char *type)
{
	if (!SAFESOCK_READY(popen)) {
		errno = EACCES;
		return NULL;
	}
	environ_with_ours();
	return safesock_real_popen(command, type);
}

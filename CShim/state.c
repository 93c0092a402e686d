/*
 * state.c: loads the table (SAFESOCK_TABLE: a file path, or without a '/'
 * the name of a publication) and the settings the launcher injected
 * (SAFESOCK_ORIGIN, SAFESOCK_MODE, SAFESOCK_LOG, SAFESOCK_KERNEL) once, at
 * library load.
 * A table that is missing, unreadable or refused by the matcher's checks
 * leaves no usable table: every inet connection is then denied (fail
 * closed). A table file is copied into sealed memory and checked once,
 * at the first decision; a publication's tables are copied and checked
 * once each, as they are read in (published.c). The check is the header's
 * and the checksum's (safesock_table_check_integrity): the CLI checked the
 * structure before it wrote the table, and every read the matcher makes is
 * bounds-checked whatever the bytes hold.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "children.h"
#include "report.h"
#include "memory.h"
#include "resolve.h"
#include "state.h"
#include "symbols.h"

#define SAFESOCK_DEFINE_REAL(name, ret, params, args) safesock_##name##_fn safesock_real_##name;
SAFESOCK_CALLS(SAFESOCK_DEFINE_REAL)

struct safesock_state safesock_loaded;
/* 0 not loaded, 1 loading, 2 loaded */
_Atomic int safesock_phase;

static void set_fault(const char *what, const char *detail)
{
	snprintf(safesock_loaded.fault, sizeof safesock_loaded.fault, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* `run`'s sealed memfd of the table file, inherited at descriptor
 * `shared` (SAFESOCK_TABLE_FD): mapped as it is, with no copy, when it is
 * sealed against shrinking, growing and writing (so no one can fault or
 * change it) and holds a table of the file's length whose header (its
 * checksum, length and generation among it) is the file's; the first
 * decision checks its header and checksum. MAP_FAILED when
 * it is not such a memfd (a program that closed or replaced it: the file
 * is copied instead). No more trusted than the file, which a program of
 * the same user could rewrite too. */
static void *shared_table(const char *shared, int file, size_t size)
{
	/* Raw calls and no atoi: a libc function first called at load costs
	 * its lazy binding, and pages of libc, in every program's start. */
	int fd = 0;
	for (const char *c = shared; c != NULL && *c != '\0'; c++) {
		if (*c < '0' || *c > '9' || fd > 1000000)
			return MAP_FAILED;
		fd = fd * 10 + (*c - '0');
	}
	struct stat st;
	uint8_t theirs[64], ours[64];
	long seals = shared == NULL || *shared == '\0' ? -1 : syscall(SYS_fcntl, fd, F_GET_SEALS);
	int sealed = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	if (fd == file || seals < 0 || (seals & sealed) != sealed || syscall(SYS_fstat, fd, &st) != 0 || (size_t)st.st_size != size ||
	    size < sizeof ours || syscall(SYS_pread64, fd, theirs, sizeof theirs, 0) != (long)sizeof theirs ||
	    syscall(SYS_pread64, file, ours, sizeof ours, 0) != (long)sizeof ours || memcmp(theirs, ours, sizeof ours) != 0)
		return MAP_FAILED;
	return (void *)syscall(SYS_mmap, NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
}

/* The same in private anonymous memory, or MAP_FAILED. */
static void *private_copy(int fd, size_t size)
{
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return map;
	size_t done = 0;
	while (done < size) {
		ssize_t n = pread(fd, (char *)map + done, size - done, (off_t)done);
		if (n <= 0) {
			munmap(map, size);
			errno = n == 0 ? EIO : errno;
			return MAP_FAILED;
		}
		done += (size_t)n;
	}
	mprotect(map, size, PROT_READ);
	return map;
}

static void load_table(const char *path, const char *shared)
{
	if (path == NULL || *path == '\0') {
		set_fault("SAFESOCK_TABLE is not set", NULL);
		return;
	}
	/* Raw calls: see shared_table. */
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_fault(path, strerror(errno));
		return;
	}
	struct stat st;
	if (syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		syscall(SYS_close, fd);
		set_fault(path, "not a non-empty regular file");
		return;
	}
	/* Never the file itself, which anyone who can write it could truncate
	 * (SIGBUS at the next decision) or rewrite: `run`'s sealed copy, or a
	 * sealed copy of our own, made in the kernel (sendfile) at some 0.45 ms
	 * a megabyte (docs/benchmarks.md). */
	size_t size = (size_t)st.st_size;
	void *map = shared_table(shared, fd, size);
	int copy = map == MAP_FAILED ? safesock_sealed_table(fd, NULL, size, 1) : -1;
	if (map != MAP_FAILED) {
		/* `run`'s, shared by every program it started: no copy. */
	} else if (copy >= 0) {
		map = (void *)syscall(SYS_mmap, NULL, size, PROT_READ, MAP_PRIVATE, copy, 0);
		syscall(SYS_close, copy);
	} else {
		/* No memfd here (a sandbox may refuse it): a private
		 * anonymous copy, as safe, paid for in resident pages. */
		map = errno == EIO ? MAP_FAILED : private_copy(fd, size);
	}
	int failed = errno;
	syscall(SYS_close, fd);
	if (map == MAP_FAILED) {
		set_fault(path, failed == EIO ? "the table file changed while it was read" : strerror(failed));
		return;
	}
	/* Checked at the first decision (safesock_acquire), not here: a
	 * program that never connects should not pay a walk of the table, nor
	 * the memory of its pages (a page cache of large folios maps 2 MB at
	 * the first touch of one byte). */
	safesock_loaded.file_table = map;
	safesock_loaded.file_length = (size_t)st.st_size;
}

extern char **environ;

/* The settings' values, in one pass over the environment that also hands
 * the resolver its variables (resolve.c). The first of each name counts,
 * as with getenv. `entries` get the whole "NAME=value" (for children),
 * `values` what follows the '='. */
static void read_settings(const char *entries[SAFESOCK_SETTINGS], const char *values[SAFESOCK_SETTINGS])
{
	static const char *const names[SAFESOCK_SETTINGS] = {
		[SAFESOCK_SETTING_TABLE] = "TABLE=", [SAFESOCK_SETTING_ORIGIN] = "ORIGIN=",
		[SAFESOCK_SETTING_LOG] = "LOG=", [SAFESOCK_SETTING_MODE] = "MODE=",
		[SAFESOCK_SETTING_KERNEL] = "KERNEL=", [SAFESOCK_SETTING_TABLE_FD] = "TABLE_FD=",
	};
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *rest = safesock_after(*e, "SAFESOCK_");
		if (rest == NULL) {
			safesock_resolver_environment_note(*e);
			continue;
		}
		for (int i = 0; i < SAFESOCK_SETTINGS; i++) {
			const char *value = entries[i] == NULL ? safesock_after(rest, names[i]) : NULL;
			if (value != NULL) {
				entries[i] = *e;
				values[i] = value;
			}
		}
	}
}

static int is(const char *value, const char *expected)
{
	const char *rest = value == NULL ? NULL : safesock_after(value, expected);
	return rest != NULL && *rest == '\0';
}

static int has_slash(const char *text)
{
	for (; *text != '\0'; text++)
		if (*text == '/')
			return 1;
	return 0;
}

/* POSIX's async-signal-safe calls among ours, looked up at load; common.h
 * says why. */
#define SAFESOCK_AT_LOAD(X) \
	X(connect) X(__connect) X(sendto) X(sendmsg) X(setsockopt) X(bind) X(listen) \
	X(getpeername) X(close) X(dup) X(dup2) X(execve) X(fexecve) X(fcntl)
#define SAFESOCK_NAME(name) #name,
#define SAFESOCK_SLOT(name) (void **)&safesock_real_##name,
#define SAFESOCK_ONE(name) +1
enum { AT_LOAD = 0 SAFESOCK_AT_LOAD(SAFESOCK_ONE) };

/* libc's definitions of the calls above, and this library's file name. */
static void find_calls(char *library, size_t library_size)
{
	static const char *const names[AT_LOAD] = { SAFESOCK_AT_LOAD(SAFESOCK_NAME) };
	void **const slots[AT_LOAD] = { SAFESOCK_AT_LOAD(SAFESOCK_SLOT) };
	void *found[AT_LOAD];
	safesock_symbols_next(names, found, AT_LOAD, library, library_size);
	for (int i = 0; i < AT_LOAD; i++) {
		if (found[i] != NULL)
			__atomic_store_n(slots[i], found[i], __ATOMIC_RELEASE);
		else
			(void)safesock_resolve(slots[i], names[i]);
	}
}

static void load(void)
{
	char library[PATH_MAX];
	find_calls(library, sizeof library);

	const char *entries[SAFESOCK_SETTINGS] = { NULL }, *values[SAFESOCK_SETTINGS] = { NULL };
	read_settings(entries, values);
	const char *table = values[SAFESOCK_SETTING_TABLE];
	if (table != NULL && *table != '\0' && !has_slash(table)) {
		if (safesock_published_attach(table, safesock_loaded.fault, sizeof safesock_loaded.fault) == 0)
			safesock_loaded.published = 1;
	} else {
		load_table(table, values[SAFESOCK_SETTING_TABLE_FD]);
	}
	const char *origin = values[SAFESOCK_SETTING_ORIGIN];
	uint8_t family, address[16];
	if (origin == NULL || strlen(origin) >= sizeof safesock_loaded.origin_text ||
	    safesock_canonical_host(origin, strlen(origin), safesock_loaded.origin, sizeof safesock_loaded.origin, &family, address) != 0) {
		safesock_loaded.origin[0] = '\0';
	} else {
		strcpy(safesock_loaded.origin_text, origin);
	}
	safesock_log_open(values[SAFESOCK_SETTING_LOG]);
	safesock_children_init(entries, library);
	safesock_loaded.learn = is(values[SAFESOCK_SETTING_MODE], "learn");
	safesock_loaded.kernel = is(values[SAFESOCK_SETTING_KERNEL], "1");
	if (safesock_loaded.kernel)
		safesock_memory_share();
}

int safesock_resolve(void **slot, const char *name)
{
	safesock_init();
	void *real = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (real == NULL) {
		real = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, real, __ATOMIC_RELEASE);
	}
	return real != NULL;
}

__attribute__((constructor)) void safesock_init(void)
{
	if (atomic_load_explicit(&safesock_phase, memory_order_acquire) == 2)
		return;
	int expected = 0;
	if (atomic_compare_exchange_strong(&safesock_phase, &expected, 1)) {
		load();
		atomic_store(&safesock_phase, 2);
	}
}

const struct safesock_state *safesock_state_loading(void)
{
	safesock_init();
	/* Another thread is loading (only possible before main): wait a
	 * bounded while rather than lock, so a signal handler cannot hang. */
	for (int i = 0; i < 10000 && atomic_load(&safesock_phase) != 2; i++)
		sched_yield();
	static const struct safesock_state loading = { .fault = "library still loading" };
	return atomic_load(&safesock_phase) == 2 ? &safesock_loaded : &loading;
}

/* A table file's check, made at the first decision. Threads that meet it
 * unchecked or being checked make it themselves; the first one stores its
 * answer, and the options, for all later decisions. */
enum { FILE_UNCHECKED, FILE_CHECKING, FILE_REFUSED = SAFESOCK_FILE_GOOD + 1 };
_Atomic int32_t safesock_file_check; /* FILE_REFUSED + fault code when refused */
struct safesock_options safesock_file_options; /* written before SAFESOCK_FILE_GOOD */

/* The first decision on a file's table, and every decision on a
 * publication (state.h has the checked file's case). */
int safesock_acquire_slow(struct safesock_current *now)
{
	const struct safesock_state *s = safesock_state();
	/* Per connect: fields set one by one, not the whole struct zeroed. */
	now->fault = s->fault;
	now->key = 0;
	now->learn = s->learn;
	now->kernel = s->kernel;
	if (s->file_table != NULL) {
		now->key = SAFESOCK_FILE_TABLE_KEY;
		now->table = s->file_table;
		now->length = s->file_length;
		/* Read once a program, so checked whole, block sums and all, at the
		 * first decision, and decided on with no block checks: those cost
		 * some 950 instructions a new destination, a publication's price
		 * for a reload whose check does not grow with the table. */
		now->blocks = (struct safesock_blocks){ .checked = NULL, .tag = 0 };
		int32_t checked = atomic_load_explicit(&safesock_file_check, memory_order_acquire);
		if (checked == SAFESOCK_FILE_GOOD) {
			now->options = safesock_file_options;
			return 0;
		}
		int32_t code = checked >= FILE_REFUSED ? checked - FILE_REFUSED : safesock_table_check_integrity(now->table, now->length);
		if (code == 0 && checked < FILE_REFUSED)
			code = safesock_table_check_blocks(now->table, now->length);
		if (code == 0 && safesock_table_options(now->table, now->length, &now->options) != 0)
			code = -1;
		int32_t expected = FILE_UNCHECKED;
		if (checked == FILE_UNCHECKED && atomic_compare_exchange_strong(&safesock_file_check, &expected, FILE_CHECKING)) {
			safesock_file_options = now->options;
			atomic_store_explicit(&safesock_file_check, code == 0 ? SAFESOCK_FILE_GOOD : FILE_REFUSED + code,
					      memory_order_release);
		}
		if (code != 0) {
			now->fault = safesock_table_fault_reason(code);
			return -1;
		}
		return 0;
	}
	if (!s->published)
		return -1;
	memset(&now->options, 0, sizeof now->options);
	return safesock_published_acquire(now);
}

int safesock_still(const struct safesock_current *now)
{
	const struct safesock_state *s = safesock_state();
	if (!s->published)
		return 1;
	return safesock_published_still(now);
}

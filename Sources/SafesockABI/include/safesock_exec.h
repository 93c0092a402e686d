/*
 * safesock_exec.h: what the preload library cannot see. A statically
 * linked program (no PT_INTERP: ld.so never runs, LD_PRELOAD is never
 * read) and a Go program (its runtime makes its own system calls, cgo or
 * not) connect past any preload library. The library's exec wrappers and
 * `safesock run` ask this before an exec, and say so in one line: only
 * `run --kernel` holds such a program.
 */
#ifndef SAFESOCK_EXEC_H
#define SAFESOCK_EXEC_H

enum safesock_program_kind {
	SAFESOCK_PROGRAM_SEEN = 0,   /* dynamically linked, libc's calls: the library sees it (or not ELF: a script's interpreter is judged at its own exec) */
	SAFESOCK_PROGRAM_STATIC = 1, /* an ELF executable with no PT_INTERP */
	SAFESOCK_PROGRAM_GO = 2,     /* a Go build ID note (PT_NOTE, owner "Go") */
};

/* The kind of the executable open at `fd`, read with pread only (no
 * allocation, under 200 bytes of stack: safe in a vfork child and on a
 * small stack). Unreadable or not ELF: SAFESOCK_PROGRAM_SEEN. */
enum safesock_program_kind safesock_program_kind(int fd);

/* What follows the program's name in the one warning line, for a kind
 * that is not seen (NULL for SAFESOCK_PROGRAM_SEEN): the library and the
 * CLI print "safesock: warning: PROGRAM" and this. */
const char *safesock_program_warning(enum safesock_program_kind kind);

/* The same for `path`, opened O_RDONLY|O_CLOEXEC and closed. */
enum safesock_program_kind safesock_program_kind_at(const char *path);

#endif

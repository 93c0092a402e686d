/*
 * exec_check.c: whether an executable is one the preload library cannot
 * see (safesock_exec.h). Compiled into the CLI (SwiftPM) and into the
 * library (the Makefile).
 */
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "safesock_exec.h"

/* At most this many program headers and notes a segment are read: an
 * executable has a dozen; a hostile file costs bounded reads. */
#define MAX_HEADERS 64
#define MAX_NOTES 8

static int read_at(int fd, void *out, size_t size, off_t at)
{
	return pread(fd, out, size, at) == (ssize_t)size ? 0 : -1;
}

static int go_note(int fd, const Elf64_Phdr *note)
{
	off_t at = (off_t)note->p_offset, end = at + (off_t)note->p_filesz;
	for (int i = 0; i < MAX_NOTES && at + (off_t)sizeof(Elf64_Nhdr) <= end; i++) {
		Elf64_Nhdr header;
		char name[4];
		if (read_at(fd, &header, sizeof header, at) != 0)
			return 0;
		/* Go's linker writes the name "Go\0\0" (n_namesz 4); "Go\0" is 3. */
		if ((header.n_namesz == 3 || header.n_namesz == 4) && read_at(fd, name, 3, at + (off_t)sizeof header) == 0 &&
		    memcmp(name, "Go", 3) == 0)
			return 1;
		at += (off_t)sizeof header + (off_t)((header.n_namesz + 3u) & ~3u) + (off_t)((header.n_descsz + 3u) & ~3u);
	}
	return 0;
}

enum safesock_program_kind safesock_program_kind(int fd)
{
	Elf64_Ehdr e;
	if (read_at(fd, &e, sizeof e, 0) != 0 || memcmp(e.e_ident, ELFMAG, SELFMAG) != 0 || e.e_ident[EI_CLASS] != ELFCLASS64 ||
	    (e.e_type != ET_EXEC && e.e_type != ET_DYN) || e.e_phentsize != sizeof(Elf64_Phdr))
		return SAFESOCK_PROGRAM_SEEN; /* not a 64-bit ELF executable: a script, or what the kernel refuses */
	int interpreter = 0, go = 0;
	for (int i = 0; i < e.e_phnum && i < MAX_HEADERS; i++) {
		Elf64_Phdr p;
		if (read_at(fd, &p, sizeof p, (off_t)e.e_phoff + (off_t)i * (off_t)sizeof p) != 0)
			return SAFESOCK_PROGRAM_SEEN;
		interpreter |= p.p_type == PT_INTERP;
		if (p.p_type == PT_NOTE && !go)
			go = go_note(fd, &p);
	}
	if (go)
		return SAFESOCK_PROGRAM_GO;
	/* A shared library (ET_DYN without PT_INTERP) that is run is a static-pie. */
	return interpreter ? SAFESOCK_PROGRAM_SEEN : SAFESOCK_PROGRAM_STATIC;
}

enum safesock_program_kind safesock_program_kind_at(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SAFESOCK_PROGRAM_SEEN; /* the exec fails as it will, or is judged at its own exec */
	enum safesock_program_kind kind = safesock_program_kind(fd);
	close(fd);
	return kind;
}

const char *safesock_program_warning(enum safesock_program_kind kind)
{
	switch (kind) {
	case SAFESOCK_PROGRAM_GO:
		return " is a Go program (its runtime makes its own system calls): the preload library cannot see its "
		       "connections; run it under `safesock run --kernel`";
	case SAFESOCK_PROGRAM_STATIC:
		return " is statically linked: the preload library cannot see its connections; run it under `safesock run "
		       "--kernel`";
	default:
		return NULL;
	}
}

/*
 * symbols.c: the definitions that come after this library, for the calls
 * it must know at load (the async-signal-safe ones: common.h says why),
 * found in one walk of the loaded objects. A dlsym(RTLD_NEXT) each was
 * some 970 instructions, 13,600 of every program's start for fourteen
 * names, nearly all of it dlsym's error catching, not its search.
 *
 * The walk reads what the dynamic linker reads: each object's GNU hash
 * table, symbols and version indexes, in the order dl_iterate_phdr gives,
 * which at start-up is the global search order RTLD_NEXT follows (the
 * program, the preloaded libraries, then their needs breadth first), less
 * the kernel's vDSO, which is listed but not searched. It
 * looks only past this library's own object, as RTLD_NEXT does. Whatever
 * it cannot judge as dlsym would (an object with no GNU hash, an indirect
 * function, two visible versions of a name, a library loaded as a plugin
 * rather than at start-up) it leaves alone, and the caller asks dlsym.
 */
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <sys/auxv.h>

#include "symbols.h"

struct walk {
	const void *self;     /* an address inside this library */
	const void *vdso;     /* the kernel's vDSO, which dlsym does not search */
	int past_self;        /* the walk has passed this library's object */
	int stopped;          /* at an object it cannot search: dlsym for the rest */
	const char *const *names;
	uint32_t hashes[SAFESOCK_SYMBOLS_MAX];
	void **found;
	int count;
	char *path;
	size_t path_size;
};

/* A dynamic entry's address: glibc rewrites .dynamic in place to hold
 * addresses, except where it is read-only, where it holds offsets from the
 * load address. */
static uintptr_t at(ElfW(Addr) base, ElfW(Addr) value)
{
	return value < base ? base + value : value;
}

static uint32_t gnu_hash(const char *name)
{
	uint32_t h = 5381;
	for (const unsigned char *c = (const unsigned char *)name; *c != '\0'; c++)
		h = h * 33 + *c;
	return h;
}

/* Not strcmp and strlen: each libc function this library first calls at
 * load costs its lazy binding, some 770 instructions, in every program's
 * start. */
static int same(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b)
		a++, b++;
	return *a == *b;
}

static int contains(const struct dl_phdr_info *info, const void *address)
{
	uintptr_t a = (uintptr_t)address;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + p->p_vaddr;
		if (p->p_type == PT_LOAD && a >= start && a - start < p->p_memsz)
			return 1;
	}
	return 0;
}

struct object {
	const ElfW(Sym) *symbols;
	const char *strings;
	const ElfW(Half) *versions; /* NULL: no version indexes */
	const uint32_t *gnu;
	ElfW(Addr) base;
};

/* The object's tables, or 0 when it has no GNU hash table to search. */
static int object_tables(const struct dl_phdr_info *info, struct object *o)
{
	const ElfW(Dyn) *dynamic = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dynamic = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	*o = (struct object){ .base = info->dlpi_addr };
	for (const ElfW(Dyn) *d = dynamic; d != NULL && d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			o->symbols = (const ElfW(Sym) *)at(o->base, d->d_un.d_ptr);
		else if (d->d_tag == DT_STRTAB)
			o->strings = (const char *)at(o->base, d->d_un.d_ptr);
		else if (d->d_tag == DT_VERSYM)
			o->versions = (const ElfW(Half) *)at(o->base, d->d_un.d_ptr);
		else if (d->d_tag == DT_GNU_HASH)
			o->gnu = (const uint32_t *)at(o->base, d->d_un.d_ptr);
	}
	return dynamic != NULL && o->symbols != NULL && o->strings != NULL && o->gnu != NULL;
}

enum { ABSENT, FOUND, ASK_DLSYM };

/* Looks `name` up in one object as dlsym does for a name with no version:
 * a defined function, global or weak, not of a hidden version. */
static int lookup(const struct object *o, const char *name, uint32_t hash, void **out)
{
	uint32_t buckets = o->gnu[0], offset = o->gnu[1], words = o->gnu[2], shift = o->gnu[3];
	if (buckets == 0 || words == 0)
		return ABSENT;
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(o->gnu + 4);
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	ElfW(Addr) word = bloom[(hash / bits) % words];
	ElfW(Addr) mask = ((ElfW(Addr))1 << (hash % bits)) | ((ElfW(Addr))1 << ((hash >> shift) % bits));
	if ((word & mask) != mask)
		return ABSENT;
	const uint32_t *bucket = (const uint32_t *)(bloom + words);
	const uint32_t *chain = bucket + buckets;
	uint32_t i = bucket[hash % buckets];
	if (i < offset)
		return ABSENT;
	int seen = 0;
	for (;; i++) {
		uint32_t h = chain[i - offset];
		const ElfW(Sym) *s = &o->symbols[i];
		if ((h | 1) == (hash | 1) && same(o->strings + s->st_name, name) && s->st_shndx != SHN_UNDEF &&
		    s->st_value != 0 && (o->versions == NULL || (o->versions[i] & 0x8000) == 0)) {
			int bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
			if ((bind != STB_GLOBAL && bind != STB_WEAK) || type != STT_FUNC || seen++)
				return ASK_DLSYM;
			*out = (void *)(o->base + s->st_value);
		}
		if (h & 1)
			break;
	}
	return seen ? FOUND : ABSENT;
}

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct walk *w = data;
	(void)size;
	if (w->stopped)
		return 0;
	if (!w->past_self) {
		if (contains(info, w->self)) {
			w->past_self = 1;
			const char *name = info->dlpi_name ? info->dlpi_name : "";
			size_t n = 0;
			while (n + 1 < w->path_size && name[n] != '\0') {
				w->path[n] = name[n];
				n++;
			}
			if (w->path_size > 0)
				w->path[name[n] == '\0' ? n : 0] = '\0'; /* too long: none */
		}
		return 0;
	}
	if (w->vdso != NULL && contains(info, w->vdso))
		return 0;
	struct object o;
	if (!object_tables(info, &o)) {
		/* It could define one of the names: what it would hide is
		 * dlsym's to find. */
		w->stopped = 1;
		return 0;
	}
	int left = 0;
	for (int n = 0; n < w->count; n++) {
		if (w->found[n] != NULL)
			continue;
		void *address = NULL;
		int r = lookup(&o, w->names[n], w->hashes[n], &address);
		if (r == FOUND)
			w->found[n] = address;
		else if (r == ASK_DLSYM)
			w->found[n] = SAFESOCK_SYMBOL_ASK; /* later objects cannot change that */
		else
			left++;
	}
	return left == 0; /* all answered: the walk can stop */
}

void safesock_symbols_next(const char *const names[], void *found[], int count, char *path, size_t path_size)
{
	struct walk w = { .self = (const void *)&safesock_symbols_next, .vdso = (const void *)getauxval(AT_SYSINFO_EHDR), .names = names, .found = found, .count = count,
			  .path = path, .path_size = path_size };
	for (int n = 0; n < count; n++) {
		found[n] = NULL;
		w.hashes[n] = n < SAFESOCK_SYMBOLS_MAX ? gnu_hash(names[n]) : 0;
	}
	if (path_size > 0)
		path[0] = '\0';
	if (count <= SAFESOCK_SYMBOLS_MAX)
		dl_iterate_phdr(visit, &w);
	/* All or nothing. Found all: each in the first object past ours that
	 * defines it, at the latest libc, which defines every one, is loaded
	 * at start-up as our own need, and so comes before any object a
	 * dlopen added (the list only grows at its end), whose scope the walk
	 * cannot know. Not all (this library itself dlopen'd, libc before it;
	 * a name only dlsym can judge): dlsym for every name, as before. */
	int all = w.past_self;
	for (int n = 0; n < count; n++)
		all = all && found[n] != NULL && found[n] != SAFESOCK_SYMBOL_ASK;
	for (int n = 0; n < count && !all; n++)
		found[n] = NULL;
}

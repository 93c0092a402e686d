/*
 * denial.c: the one writer of denial lines (safesock_denial.h says what
 * they hold). Both enforcers call it, so a denial reads the same whoever
 * made it.
 */
#include <string.h>

#include "safesock_audit.h"
#include "safesock_denial.h"

/* `c` as `mode` writes it, in `out`; how many bytes. */
static size_t escaped(unsigned char c, int mode, char out[4])
{
	static const char hex[] = "0123456789abcdef";
	int control = c < 0x20 || c == 0x7f;
	if ((mode == SAFESOCK_ESCAPE_JSON && (c == '"' || c == '\\')) ||
	    (mode == SAFESOCK_ESCAPE_SD && (c == '"' || c == '\\' || c == ']'))) {
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	}
	/* In text, a backslash too: a name holding the four bytes \x0a must
	 * not read as one holding a newline. */
	if ((mode == SAFESOCK_ESCAPE_SD && control) || (mode == SAFESOCK_ESCAPE_TEXT && (control || c > 0x7e || c == '\\'))) {
		out[0] = '\\';
		out[1] = 'x';
		out[2] = hex[c >> 4];
		out[3] = hex[c & 15];
		return 4;
	}
	if (mode == SAFESOCK_ESCAPE_SD && c > 0x7f) { /* Latin-1 to UTF-8 */
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	out[0] = (char)c;
	return 1;
}

void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n)
{
	size_t room = sizeof line->text - 2 - line->length; /* keep room for "\n" */
	if (line->escape) {
		for (size_t i = 0; i < n; i++) {
			char e[4];
			size_t k = escaped((unsigned char)text[i], line->escape, e);
			if (k > room) { /* no half escapes: the line is full, and cut short */
				memset(line->text + line->length, '.', room);
				line->length += room;
				return;
			}
			memcpy(line->text + line->length, e, k);
			line->length += k;
			room -= k;
		}
		return;
	}
	if (n > room)
		n = room;
	memcpy(line->text + line->length, text, n);
	line->length += n;
}

/* Whether text added since `mark` may have been cut short. */
static int full(const struct safesock_line *line)
{
	return line->length >= sizeof line->text - 2;
}

void safesock_line_add(struct safesock_line *line, const char *text)
{
	safesock_line_add_n(line, text, strlen(text));
}

size_t safesock_decimal(char out[20], uint64_t value)
{
	char digits[20];
	size_t n = 0;
	do {
		digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value > 0);
	memcpy(out, digits + sizeof digits - n, n);
	return n;
}

void safesock_line_add_uint(struct safesock_line *line, uint64_t value)
{
	char digits[20];
	safesock_line_add_n(line, digits, safesock_decimal(digits, value));
}

/* A word a POSIX shell reads back as itself: as it is when it holds only
 * characters no shell treats specially, else in single quotes ('\'' for a
 * quote). 0 without writing when it holds a control or non-ASCII byte,
 * which a line on a terminal must not carry. */
static int add_shell_word(struct safesock_line *line, const char *word, size_t n)
{
	int plain = n > 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)word[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("@%+=:,./_-[]", c)))
			plain = 0;
	}
	if (plain) {
		safesock_line_add_n(line, word, n);
		return 1;
	}
	safesock_line_add(line, "'");
	for (size_t i = 0; i < n; i++) {
		if (word[i] == '\'')
			safesock_line_add(line, "'\\''");
		else
			safesock_line_add_n(line, word + i, 1);
	}
	safesock_line_add(line, "'");
	return 1;
}

/* The label's words, each quoted, separated by blanks; 0 if one cannot be. */
static int add_policy_words(struct safesock_line *line, const struct safesock_denial *d)
{
	size_t start = 0;
	for (size_t i = 0; i <= d->policy_length; i++) {
		if (i < d->policy_length && d->policy[i] != '\0')
			continue;
		if (start > 0)
			safesock_line_add(line, " ");
		if (!add_shell_word(line, d->policy + start, i - start))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* Each writer below adds all of its text or, rolled back to `mark`, none:
 * no buffer aside, as a signal handler's stack may be small. */
void safesock_denial_policy(struct safesock_line *line, const struct safesock_denial *d)
{
	size_t mark = line->length;
	if (d->policy && d->policy_length > 0 && (!add_policy_words(line, d) || full(line)))
		line->length = mark;
}

int safesock_denial_explain(struct safesock_line *line, const struct safesock_denial *d)
{
	if (!d->policy || d->policy_length == 0 || d->port < 0 || !d->host || d->host[0] == '\0')
		return 0;
	size_t mark = line->length;
	/* By address, with the name: the decision saw both (privateNames). */
	int named = d->address && strcmp(d->address, d->host) != 0;
	const char *first = named ? d->address : d->host;
	safesock_line_add(line, "safesock explain ");
	int ok = add_policy_words(line, d);
	safesock_line_add(line, " ");
	ok = ok && add_shell_word(line, first, strlen(first));
	safesock_line_add(line, " ");
	safesock_line_add_uint(line, (uint64_t)d->port);
	if (ok && named) {
		safesock_line_add(line, " --name ");
		ok = add_shell_word(line, d->host, strlen(d->host));
	}
	if (ok && d->origin && d->origin[0] != '\0') {
		safesock_line_add(line, " --origin ");
		ok = add_shell_word(line, d->origin, strlen(d->origin));
	}
	if (!ok || full(line)) {
		line->length = mark;
		return 0;
	}
	return 1;
}

/* The rules, ", " between them. */
static void add_rules(struct safesock_line *line, const struct safesock_denial *d)
{
	size_t start = 0;
	for (size_t i = 0; i < d->rules_length; i++) {
		if (d->rules[i] != '\0')
			continue;
		if (start > 0)
			safesock_line_add(line, ", ");
		safesock_line_add_n(line, d->rules + start, i - start);
		start = i + 1;
	}
}

void safesock_denial_line(struct safesock_line *line, const struct safesock_denial *d)
{
	safesock_line_add(line, "safesock: ");
	if (d->layer && d->layer[0] != '\0') {
		safesock_line_add(line, d->layer);
		safesock_line_add(line, ": ");
	}
	safesock_line_add(line, d->learn ? "learn: would deny " : "permission denied for ");
	/* The plugin's words: "permission denied for host H port P"; other ops
	 * name themselves. */
	int host = d->host && d->host[0] != '\0';
	int connect = strcmp(d->op, "connect") == 0 && host;
	if (!connect)
		safesock_line_add(line, d->op);
	if (host) {
		safesock_line_add(line, connect ? "host " : " of host ");
		safesock_line_add(line, d->host);
	}
	if (d->port >= 0) {
		safesock_line_add(line, " port ");
		safesock_line_add_uint(line, (uint64_t)d->port);
	}
	safesock_line_add(line, " (");
	int rules = d->rules && d->rules_length > 0;
	if (d->reason) {
		safesock_line_add(line, d->reason);
		if (rules) { /* privateNames: these rules allowed the name, not the address */
			safesock_line_add(line, "; ");
			add_rules(line, d);
			safesock_line_add(line, " allows the name, not the address");
		}
	} else if (rules) {
		safesock_line_add(line, "disallowed by ");
		add_rules(line, d);
	} else {
		safesock_line_add(line, "no rule allows it");
	}
	if (d->policy && d->policy_length > 0) {
		safesock_line_add(line, "; policy ");
		safesock_denial_policy(line, d);
	}
	safesock_line_add(line, ")");
	size_t mark = line->length;
	int escape = line->escape; /* ours, not a program's: never escaped */
	line->escape = 0;
	safesock_line_add(line, " \xe2\x80\x94 "); /* an em dash */
	line->escape = escape;
	if (!safesock_denial_explain(line, d))
		line->length = mark;
}

/* A JSON string: quotes, backslash and control bytes escaped; bytes above
 * 0x7e escaped too, so a record is valid JSON whatever a program sent. */
static void add_json_string(struct safesock_line *line, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	safesock_line_add(line, "\"");
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\') {
			char e[2] = { '\\', (char)*p };
			safesock_line_add_n(line, e, 2);
		} else if (*p < 0x20 || *p > 0x7e) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			safesock_line_add_n(line, e, 6);
		} else {
			safesock_line_add_n(line, (const char *)p, 1);
		}
	}
	safesock_line_add(line, "\"");
}

/* How a record's fields are written: a JSON object, the journal's
 * FIELD=value lines, RFC 5424 SD-PARAMs. One walk (audit_fields) writes
 * them all, so the three cannot say different things. */
enum audit_form { AUDIT_JSON, AUDIT_JOURNAL, AUDIT_SYSLOG };

struct audit {
	struct safesock_line *line;
	enum audit_form form;
	int fields;
};

/* The journal's name of a field: SAFESOCK_ and its key in upper case. */
static void add_journal_name(struct safesock_line *line, const char *key)
{
	safesock_line_add(line, "SAFESOCK_");
	for (const char *k = key; *k; k++) {
		char c = *k >= 'a' && *k <= 'z' ? (char)(*k - 'a' + 'A') : *k;
		safesock_line_add_n(line, &c, 1);
	}
}

/* A field's name and what opens its value; `quoted`: a JSON string. */
static void field_open(struct audit *a, const char *key, int quoted)
{
	switch (a->form) {
	case AUDIT_JSON:
		safesock_line_add(a->line, a->fields++ ? ",\"" : "\"");
		safesock_line_add(a->line, key);
		safesock_line_add(a->line, quoted ? "\":\"" : "\":");
		break;
	case AUDIT_JOURNAL:
		add_journal_name(a->line, key);
		safesock_line_add(a->line, "=");
		break;
	case AUDIT_SYSLOG:
		safesock_line_add(a->line, " ");
		safesock_line_add(a->line, key);
		safesock_line_add(a->line, "=\"");
		break;
	}
}

static void field_close(struct audit *a, int quoted)
{
	if (a->form == AUDIT_JOURNAL)
		safesock_line_add(a->line, "\n");
	else if (a->form == AUDIT_SYSLOG || quoted)
		safesock_line_add(a->line, "\"");
}

static void field_uint(struct audit *a, const char *key, uint64_t value)
{
	field_open(a, key, 0);
	safesock_line_add_uint(a->line, value);
	field_close(a, 0);
}

/* Its bytes as the journal stores them: a byte above 0x7e as the UTF-8 of
 * the code point of its value, which is what the JSON reader gets for it
 * (docs/audit-log.md); how many bytes that is, when `line` is NULL. */
static void add_latin1(struct safesock_line *line, const unsigned char *text)
{
	for (const unsigned char *p = text;; p++) {
		/* Each byte read once: another thread of the program may be
		 * rewriting the text (its argv, its own buffer). */
		unsigned char c = *(const volatile unsigned char *)p;
		if (c == '\0')
			return;
		char e[2] = { (char)(0xc0 | c >> 6), (char)(0x80 | (c & 0x3f)) };
		if (c > 0x7f)
			safesock_line_add_n(line, e, 2);
		else
			safesock_line_add_n(line, (const char *)&c, 1);
	}
}

/* A value a program may have chosen, always in the journal's binary form
 * (NAME\n, its length as 64 bits little-endian, the bytes, \n), its
 * length that of the bytes as written, filled in after them: the text is
 * read once, so a newline a racing thread writes into it stays inside the
 * value, and the length always matches (a choice of form made by looking
 * for a newline first let a change between the looks end the value early). */
static void journal_string(struct safesock_line *line, const char *key, const char *text)
{
	add_journal_name(line, key);
	safesock_line_add(line, "\n");
	size_t at = line->length;
	safesock_line_add_n(line, "\0\0\0\0\0\0\0\0", 8);
	size_t start = line->length;
	add_latin1(line, (const unsigned char *)text);
	uint64_t n = line->length - start;
	if (start == at + 8) /* else the line is full: the record is not sent */
		for (int i = 0; i < 8; i++)
			line->text[at + i] = (char)(n >> (8 * i));
	safesock_line_add(line, "\n");
}

/* A text a program may have chosen: escaped as the form needs. */
static void field_string(struct audit *a, const char *key, const char *text)
{
	switch (a->form) {
	case AUDIT_JSON:
		field_open(a, key, 0);
		add_json_string(a->line, text);
		break;
	case AUDIT_JOURNAL:
		journal_string(a->line, key, text);
		break;
	case AUDIT_SYSLOG:
		field_open(a, key, 1);
		a->line->escape = SAFESOCK_ESCAPE_SD;
		safesock_line_add(a->line, text);
		a->line->escape = 0;
		field_close(a, 1);
		break;
	}
}

/* The deciding rules: a JSON array, or a field per rule ("rule"). */
static void field_rules(struct audit *a, const struct safesock_denial *d)
{
	int json = a->form == AUDIT_JSON;
	if (json) {
		field_open(a, "rules", 0);
		safesock_line_add(a->line, "[");
	}
	size_t count = 0;
	for (size_t i = 0, start = 0; d->rules && i < d->rules_length; i++) {
		if (d->rules[i] != '\0')
			continue;
		if (json) {
			safesock_line_add(a->line, count ? "," : "");
			add_json_string(a->line, d->rules + start);
		} else {
			field_string(a, "rule", d->rules + start);
		}
		count++;
		start = i + 1;
	}
	/* A decision names its rules, or "default" when none matched
	 * (docs/decision.md, "What a decision returns"). */
	if (d->rules_length == 0 && d->reason == NULL) {
		if (json)
			add_json_string(a->line, "default");
		else
			field_string(a, "rule", "default");
	}
	if (json)
		safesock_line_add(a->line, "]");
}

/* A field whose text is made in place (the policy, the explain command),
 * escaped as it goes: its words are printable ASCII, or none is written,
 * and then neither is the field. */
static void field_made(struct audit *a, const char *key, const struct safesock_denial *d,
		       int (*make)(struct safesock_line *, const struct safesock_denial *))
{
	struct safesock_line *line = a->line;
	size_t mark = line->length;
	int fields = a->fields;
	field_open(a, key, 1);
	line->escape = a->form == AUDIT_JSON ? SAFESOCK_ESCAPE_JSON : a->form == AUDIT_SYSLOG ? SAFESOCK_ESCAPE_SD : 0;
	size_t start = line->length;
	int made = make(line, d) && line->length > start;
	line->escape = 0;
	if (made) {
		field_close(a, 1);
	} else {
		line->length = mark;
		a->fields = fields;
	}
}

static int make_policy(struct safesock_line *line, const struct safesock_denial *d)
{
	safesock_denial_policy(line, d);
	return 1;
}

static int make_explain(struct safesock_line *line, const struct safesock_denial *d)
{
	return !d->allowed && safesock_denial_explain(line, d);
}

/* Every field of docs/audit-log.md, in its order. */
static void audit_fields(struct audit *a, const struct safesock_denial *d)
{
	field_uint(a, "v", SAFESOCK_AUDIT_VERSION);
	field_open(a, "time", 0);
	safesock_line_add_uint(a->line, d->time_ms / 1000);
	char millis[4] = { '.', (char)('0' + d->time_ms / 100 % 10), (char)('0' + d->time_ms / 10 % 10), (char)('0' + d->time_ms % 10) };
	safesock_line_add_n(a->line, millis, sizeof millis);
	field_close(a, 0);
	field_uint(a, "pid", (uint64_t)(d->pid < 0 ? 0 : d->pid));
	field_string(a, "program", d->program ? d->program : "");
	field_string(a, "op", d->op);
	field_string(a, "host", d->host ? d->host : "");
	if (d->address)
		field_string(a, "addr", d->address);
	if (d->port >= 0)
		field_uint(a, "port", (uint64_t)d->port);
	field_string(a, "verdict", d->allowed ? "allow" : "deny");
	if (d->learn)
		field_string(a, "mode", "learn");
	if (d->layer && d->layer[0] != '\0')
		field_string(a, "layer", d->layer);
	field_rules(a, d);
	if (d->reason)
		field_string(a, "reason", d->reason);
	field_made(a, "policy", d, make_policy);
	field_made(a, "explain", d, make_explain);
}

int safesock_audit_record(struct safesock_line *line, const struct safesock_denial *d)
{
	struct audit a = { .line = line, .form = AUDIT_JSON };
	safesock_line_add(line, "{");
	audit_fields(&a, d);
	safesock_line_add(line, "}");
	/* Room for the newline the writer adds; a full line was cut short. */
	return full(line) ? -1 : 0;
}

int safesock_audit_priority(const struct safesock_denial *d)
{
	return d->allowed ? 6 : d->learn ? 5 : 4;
}

/* What a person reads: the denial line, or what learn mode let through. */
static void add_message(struct safesock_line *line, const struct safesock_denial *d)
{
	line->escape = SAFESOCK_ESCAPE_TEXT;
	if (!d->allowed) {
		safesock_denial_line(line, d);
	} else {
		safesock_line_add(line, d->learn ? "safesock: learn: allowed " : "safesock: allowed ");
		safesock_line_add(line, d->op);
		if (d->host && d->host[0] != '\0') {
			safesock_line_add(line, " of host ");
			safesock_line_add(line, d->host);
		}
		if (d->port >= 0) {
			safesock_line_add(line, " port ");
			safesock_line_add_uint(line, (uint64_t)d->port);
		}
	}
	line->escape = 0;
}

int safesock_audit_journal(struct safesock_line *line, const struct safesock_denial *d)
{
	struct audit a = { .line = line, .form = AUDIT_JOURNAL };
	audit_fields(&a, d);
	safesock_line_add(line, "PRIORITY=");
	safesock_line_add_uint(line, (uint64_t)safesock_audit_priority(d));
	safesock_line_add(line, "\nSYSLOG_IDENTIFIER=safesock\n");
	/* Room for the whole name and a byte of it: a name cut short would
	 * read as a binary field's, and end the parse. */
	if (full(line) || sizeof line->text - 2 - line->length <= sizeof "MESSAGE=")
		return -1;
	/* Last, and the only field that may be cut short: the writer ends it. */
	safesock_line_add(line, "MESSAGE=");
	add_message(line, d);
	return 0;
}

/* RFC 3339 in UTC, to the millisecond, from days since the epoch
 * (Howard Hinnant's civil_from_days: no gmtime, no locale, no lock). */
static void add_timestamp(struct safesock_line *line, uint64_t ms)
{
	uint64_t seconds = ms / 1000, z = seconds / 86400 + 719468;
	uint64_t era = z / 146097, doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	uint64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	uint64_t year = yoe + era * 400 + (month <= 2);
	uint64_t parts[] = { year, month, day, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60, ms % 1000 };
	static const char *const after[] = { "-", "-", "T", ":", ":", ".", "Z" };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		char digits[20];
		size_t n = safesock_decimal(digits, parts[i]);
		for (size_t width = i == 0 ? 4 : i == 6 ? 3 : 2; n < width; width--)
			safesock_line_add(line, "0");
		safesock_line_add_n(line, digits, n);
		safesock_line_add(line, after[i]);
	}
}

/* RFC 5424's HOSTNAME: printable ASCII without blanks, else "-". */
static void add_hostname(struct safesock_line *line, const char *hostname)
{
	int usable = hostname && hostname[0] != '\0' && strlen(hostname) <= 255;
	for (const char *h = hostname; usable && *h; h++)
		usable = *h > 0x20 && *h < 0x7f;
	safesock_line_add(line, usable ? hostname : "-");
}

/* <PRI>1 TIMESTAMP HOSTNAME safesock PID audit [safesock@32473 v="1" ...] MSG:
 * facility user (1), the record's severity. */
int safesock_audit_syslog(struct safesock_line *line, const struct safesock_denial *d, const char *hostname)
{
	struct audit a = { .line = line, .form = AUDIT_SYSLOG };
	safesock_line_add(line, "<");
	safesock_line_add_uint(line, (uint64_t)(8 + safesock_audit_priority(d)));
	safesock_line_add(line, ">1 ");
	add_timestamp(line, d->time_ms);
	safesock_line_add(line, " ");
	add_hostname(line, hostname);
	safesock_line_add(line, " safesock ");
	safesock_line_add_uint(line, (uint64_t)(d->pid < 0 ? 0 : d->pid));
	safesock_line_add(line, " audit [" SAFESOCK_SYSLOG_SD_ID);
	audit_fields(&a, d);
	safesock_line_add(line, "] ");
	if (full(line))
		return -1;
	add_message(line, d);
	return 0;
}

enum safesock_audit_sink safesock_audit_sink_of(const char *spec, const char **path)
{
	static const struct {
		const char *name;
		enum safesock_audit_sink sink;
		const char *socket;
	} sockets[] = {
		{ "journal", SAFESOCK_AUDIT_JOURNAL, SAFESOCK_JOURNAL_SOCKET },
		{ "syslog", SAFESOCK_AUDIT_SYSLOG, SAFESOCK_SYSLOG_SOCKET },
	};
	for (size_t i = 0; i < sizeof sockets / sizeof sockets[0]; i++) {
		size_t n = strlen(sockets[i].name);
		if (strncmp(spec, sockets[i].name, n) != 0 || (spec[n] != '\0' && spec[n] != ':'))
			continue;
		*path = spec[n] == ':' ? spec + n + 1 : sockets[i].socket;
		/* Absolute only: an empty one is the abstract name anyone may
		 * bind, a relative one follows the program's chdir. */
		if ((*path)[0] != '/')
			*path = NULL;
		return sockets[i].sink;
	}
	*path = spec;
	return SAFESOCK_AUDIT_FILE;
}

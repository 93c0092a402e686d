/*
 * denial.c: the one writer of denial lines (safesock_denial.h says what
 * they hold). Both enforcers call it, so a denial reads the same whoever
 * made it.
 */
#include <string.h>

#include "safesock_denial.h"

void safesock_line_add_n(struct safesock_line *line, const char *text, size_t n)
{
	size_t room = sizeof line->text - 2 - line->length; /* keep room for "\n" */
	if (line->json) {
		for (size_t i = 0; i < n && room > 0; i++, room--) {
			if ((text[i] == '"' || text[i] == '\\') && room > 1) {
				line->text[line->length++] = '\\';
				room--;
			}
			line->text[line->length++] = text[i];
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
	safesock_line_add(line, " \xe2\x80\x94 "); /* an em dash */
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

int safesock_audit_record(struct safesock_line *line, const struct safesock_denial *d)
{
	safesock_line_add(line, "{\"v\":");
	safesock_line_add_uint(line, SAFESOCK_AUDIT_VERSION);
	safesock_line_add(line, ",\"time\":");
	safesock_line_add_uint(line, d->time_ms / 1000);
	char millis[4] = { '.', (char)('0' + d->time_ms / 100 % 10), (char)('0' + d->time_ms / 10 % 10), (char)('0' + d->time_ms % 10) };
	safesock_line_add_n(line, millis, sizeof millis);
	safesock_line_add(line, ",\"pid\":");
	safesock_line_add_uint(line, (uint64_t)(d->pid < 0 ? 0 : d->pid));
	safesock_line_add(line, ",\"program\":");
	add_json_string(line, d->program ? d->program : "");
	safesock_line_add(line, ",\"op\":");
	add_json_string(line, d->op);
	safesock_line_add(line, ",\"host\":");
	add_json_string(line, d->host ? d->host : "");
	if (d->address) {
		safesock_line_add(line, ",\"addr\":");
		add_json_string(line, d->address);
	}
	if (d->port >= 0) {
		safesock_line_add(line, ",\"port\":");
		safesock_line_add_uint(line, (uint64_t)d->port);
	}
	safesock_line_add(line, d->allowed ? ",\"verdict\":\"allow\"" : ",\"verdict\":\"deny\"");
	if (d->learn)
		safesock_line_add(line, ",\"mode\":\"learn\"");
	if (d->layer && d->layer[0] != '\0') {
		safesock_line_add(line, ",\"layer\":");
		add_json_string(line, d->layer);
	}
	/* A decision names its rules, or "default" when none matched
	 * (docs/decision.md, "What a decision returns"). */
	safesock_line_add(line, ",\"rules\":[");
	for (size_t i = 0, start = 0; d->rules && i < d->rules_length; i++) {
		if (d->rules[i] != '\0')
			continue;
		if (start > 0)
			safesock_line_add(line, ",");
		add_json_string(line, d->rules + start);
		start = i + 1;
	}
	if (d->rules_length == 0 && d->reason == NULL)
		safesock_line_add(line, "\"default\"");
	safesock_line_add(line, "]");
	if (d->reason) {
		safesock_line_add(line, ",\"reason\":");
		add_json_string(line, d->reason);
	}
	/* Written in place, escaped as they go (line->json): their words are
	 * printable ASCII, or they are not written at all. */
	size_t mark = line->length;
	safesock_line_add(line, ",\"policy\":\"");
	line->json = 1;
	size_t start = line->length;
	safesock_denial_policy(line, d);
	line->json = 0;
	if (line->length == start)
		line->length = mark;
	else
		safesock_line_add(line, "\"");
	mark = line->length;
	safesock_line_add(line, ",\"explain\":\"");
	line->json = 1;
	int explained = !d->allowed && safesock_denial_explain(line, d);
	line->json = 0;
	if (explained)
		safesock_line_add(line, "\"");
	else
		line->length = mark;
	safesock_line_add(line, "}");
	/* Room for the newline the writer adds; a full line was cut short. */
	return line->length >= sizeof line->text - 2 ? -1 : 0;
}

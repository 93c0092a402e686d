/*
 * decision.c: the one decision core (safesock_decision.h says what it
 * takes). Every path that is not an allow ends in the one deny below.
 */
#include <string.h>

#include "safesock_decision.h"

static void deny(struct safesock_decision *out, const char *reason)
{
	out->allowed = 0;
	out->reason = reason;
}

void safesock_decide(const void *table, size_t length, const struct safesock_options *options,
		     struct safesock_identity *identities, size_t count, const char *origin, size_t origin_length,
		     uint16_t port, enum safesock_socket_kind kind, struct safesock_decision *out)
{
	out->rule_count = 0;
	out->reason = NULL;
	out->allowed = 0;
	if (kind != SAFESOCK_KIND_STREAM && options->datagrams != 1)
		return deny(out, "datagrams deny");
	for (size_t i = 0; i < count; i++)
		identities[i].is_origin = origin_length > 0 && identities[i].text_length == origin_length &&
					  memcmp(identities[i].text, origin, origin_length) == 0;
	size_t written = 0;
	int32_t verdict = safesock_table_decide(table, length, identities, count, port, out->rules,
						SAFESOCK_DECISION_RULES, &written);
	out->rule_count = (uint32_t)(written < SAFESOCK_DECISION_RULES ? written : SAFESOCK_DECISION_RULES);
#ifdef SAFESOCK_TEST_FLIP_PORT
	/* A deliberately broken library, for the test that `verify` notices. */
	if (port == SAFESOCK_TEST_FLIP_PORT && verdict >= 0)
		verdict = verdict == 1 ? 0 : 1;
#endif
	if (verdict == 1) {
		out->allowed = 1;
		return;
	}
	deny(out, verdict < 0 ? "table unreadable" : NULL);
}

void safesock_decide_serving(const struct safesock_options *options, int32_t port, struct safesock_decision *out)
{
	out->rule_count = 0;
	out->reason = NULL;
	out->allowed = 1;
	if (port == 0 || options->servers == 1)
		return;
	deny(out, "servers deny");
}

int safesock_also_reached(uint8_t family, const uint8_t address[16], uint8_t reached[16])
{
	static const uint8_t unspecified[16];
	size_t size = family == 4 ? 4 : 16;
	if ((family != 4 && family != 6) || memcmp(address, unspecified, size) != 0)
		return 0;
	memset(reached, 0, 16);
	if (family == 4) {
		reached[0] = 127;
		reached[3] = 1;
	} else {
		reached[15] = 1;
	}
	return 1;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: every input rule of user/lib/validate.c, the ones the API
 * and the CLI share. The first byte picks the rule, the rest is its
 * input (a string, or 8 bytes of a double for the number rules). A rule
 * that accepts must leave a value inside its documented bounds.
 */
#include <math.h>
#include "fuzz.h"
#include "validate.h"

static int number_rule(uint8_t which, double v, const char **why)
{
	switch (which % 6) {
	case 4:
		return validate_drain_timeout_s(v, why);
	case 5:
		return validate_backend_weight(v, why);
	case 0:
		return validate_warmup_timeout_s(v, why);
	case 1:
		return validate_warmup_retries(v, why);
	case 2:
		return validate_warmup_deadline_s(v, why);
	default:
		return validate_warmup_retry_delay_ms(v, why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct slotlb_endpoint_key key;
	struct warmup_policy p;
	struct health_policy hp;
	struct slotlb_backend be;
	enum warmup_mode mode;
	const char *why = NULL;
	uint32_t weight, mask;
	uint8_t tcp;
	size_t limit, i;
	bool reset;
	double v;
	char *s;

	if (size < 1)
		return 0;
	s = fuzz_string(data + 1, size - 1);
	switch (data[0] % 19) {
	case 0:
		if (!validate_name(s, &why))
			FUZZ_ASSERT(strlen(s) < VALIDATE_NAME_LEN);
		validate_name_object(s, "app");
		break;
	case 1:
		if (!validate_version(s, &why))
			FUZZ_ASSERT(strlen(s) < SLOTLB_VERSION_LEN);
		break;
	case 2:
		validate_endpoint(s, &key, &why);
		break;
	case 3:
		if (!validate_backend(s, &be, &weight, &why))
			FUZZ_ASSERT(weight >= 1 && weight <= 65535);
		break;
	case 4:
		validate_warmup_mode(s, &mode, &why);
		break;
	case 5:
		validate_warmup_path(s, &why);
		break;
	case 6:
		warmup_policy_default(&p);
		if (!validate_warmup_statuses(s, &p, &why)) {
			FUZZ_ASSERT(p.n_statuses <= WARMUP_MAX_STATUSES);
			for (i = 0; i < p.n_statuses; i++)
				FUZZ_ASSERT(!validate_warmup_status(
					p.statuses[i], &why));
		}
		validate_warmup_policy(&p, &why);
		break;
	case 7:
		if (size >= 1 + sizeof(v)) {
			memcpy(&v, data + 1, sizeof(v));
			if (!number_rule(data[0] / 19, v, &why))
				FUZZ_ASSERT(isfinite(v) && v >= 0);
		}
		break;
	case 8:
		if (!validate_history_limit(s, &limit, &why))
			FUZZ_ASSERT(limit >= 1 && limit <= 100000);
		break;
	case 9:
		validate_trigger_clean(s);
		for (i = 0; s[i]; i++)
			FUZZ_ASSERT((unsigned char)s[i] >= ' ' ||
				    (unsigned char)s[i] >= 0x80);
		FUZZ_ASSERT(strlen(s) <= TRIGGER_MAX_LEN);
		break;
	case 10:
		if (size >= 1 + sizeof(long)) {
			long st;

			memcpy(&st, data + 1, sizeof(st));
			if (!validate_warmup_status(st, &why))
				FUZZ_ASSERT(st >= 100 && st <= 599);
		}
		break;
	case 11:
		/* a whole policy from raw fields */
		warmup_policy_default(&p);
		memcpy(&p, data + 1,
		       size - 1 < sizeof(p) ? size - 1 : sizeof(p));
		p.path[sizeof(p.path) - 1] = 0;
		validate_warmup_policy(&p, &why);
		break;
	case 12:
		if (!validate_health_tcp(s, &tcp, &why))
			FUZZ_ASSERT(tcp == SLOTLB_HEALTH_TCP_RESET ||
				    tcp == SLOTLB_HEALTH_TCP_LEAVE);
		break;
	case 13:
		if (size >= 1 + sizeof(v)) {
			memcpy(&v, data + 1, sizeof(v));
			if (!validate_health_interval_s(v, &why))
				FUZZ_ASSERT(
					v >= HEALTH_MIN_INTERVAL_MS / 1000.0 &&
					v <= HEALTH_MAX_INTERVAL_MS / 1000.0);
			if (!validate_health_threshold(v, &why))
				FUZZ_ASSERT(v >= 1 &&
					    v <= HEALTH_MAX_THRESHOLD &&
					    v == (int)v);
		}
		break;
	case 14:
		if (!validate_event_list(s, &mask, &why))
			FUZZ_ASSERT(mask != 0);
		break;
	case 15:
		validate_hook_url(s, &why);
		validate_hook_secret(s, strlen(s), &why);
		break;
	case 16:
		validate_text_clean(s, 64);
		FUZZ_ASSERT(strlen(s) <= 64);
		for (i = 0; s[i]; i++)
			FUZZ_ASSERT((unsigned char)s[i] >= ' ' &&
				    (unsigned char)s[i] != 0x7f);
		break;
	case 17:
		if (!validate_reset_rate(s, &mask, &why))
			FUZZ_ASSERT(mask >= 1 && mask <= DRAIN_MAX_RESET_RATE);
		validate_on_drain_timeout(s, &reset, &why);
		break;
	default:
		/* a whole health policy from raw fields */
		health_policy_default(&hp);
		memcpy(&hp, data + 1,
		       size - 1 < sizeof(hp) ? size - 1 : sizeof(hp));
		hp.probe.path[sizeof(hp.probe.path) - 1] = 0;
		if (!validate_health_policy(&hp, &why))
			FUZZ_ASSERT(hp.probe.timeout_ms <= hp.interval_ms &&
				    hp.unhealthy_after >= 1 &&
				    hp.healthy_after >= 1);
		break;
	}
	free(s);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: endpoint, backend and ADDR:PORT strings (user/lib/addr.c)
 * as callers send them. Anything accepted must format back and parse
 * again to the same thing; anything refused must say why.
 */
#include <sys/socket.h>
#include "addr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), buf[SLOTLB_ENDPOINT_STRLEN];
	struct slotlb_endpoint_key key, again;
	struct slotlb_backend be, be2;
	const char *why = NULL;
	uint32_t weight, w2;
	uint8_t family;
	__be32 addr[4];
	__be16 port;

	if (!slotlb_parse_endpoint(s, &key, &why)) {
		FUZZ_ASSERT(!slotlb_format_endpoint(&key, buf, sizeof(buf)));
		FUZZ_ASSERT(!slotlb_parse_endpoint(buf, &again, &why));
		FUZZ_ASSERT(!memcmp(&key, &again, sizeof(key)));
	} else {
		FUZZ_ASSERT(why && *why);
	}
	why = NULL;
	if (!slotlb_parse_backend(s, &be, &weight, &why)) {
		FUZZ_ASSERT(weight >= 1 && weight <= 65535);
		FUZZ_ASSERT(!slotlb_format_backend(&be, buf, sizeof(buf)));
		FUZZ_ASSERT(!slotlb_parse_backend(buf, &be2, &w2, &why));
		FUZZ_ASSERT(!memcmp(&be, &be2, sizeof(be)) && w2 == 1);
	} else {
		FUZZ_ASSERT(why && *why);
	}
	why = NULL;
	if (!slotlb_parse_addr_port(s, addr, &family, &port, &why)) {
		FUZZ_ASSERT(family == AF_INET || family == AF_INET6);
		FUZZ_ASSERT(port != 0);
		FUZZ_ASSERT(
			!slotlb_format_addr(addr, family, buf, sizeof(buf)));
	} else {
		FUZZ_ASSERT(why && *why);
	}
	free(s);
	return 0;
}

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlbd's route table (user/slotlbd/api_routes.c) and the endpoint
# table of docs/api.md list the same routes in the same order, so the
# table reads like the documentation and neither can grow a route the
# other lacks. Docs write parameters as APP, SLOT, IFNAME, ID and show
# query arguments in brackets; the table writes {app}, {slot}, {ifname},
# {id}.
# Also: every GET route is marked ROUTE_READ and every other ROUTE_WRITE,
# since access control grants reads and writes by that flag.
set -u
cd "$(dirname "$0")/../.." || exit 1
table=user/slotlbd/api_routes.c
doc=docs/api.md

code=$(sed -n 's/^[[:space:]]*{"\([A-Z]*\)", "\([^"]*\)",.*/\1 \2/p' "$table")
docs=$(sed -n 's/^| `\([A-Z]* [^`]*\)` |.*/\1/p' "$doc" |
	sed -e 's/\[?[^]]*\]//' -e 's/APP/{app}/g' -e 's/SLOT/{slot}/g' \
		-e 's/IFNAME/{ifname}/g' -e 's/NAME$/{name}/' -e 's/ID$/{id}/')

if [ -z "$code" ] || [ -z "$docs" ]; then
	echo "FAIL: no routes found in $table or $doc"
	exit 1
fi
if [ "$code" != "$docs" ]; then
	echo "FAIL: $table and $doc list different routes:"
	diff <(echo "$code") <(echo "$docs") | sed 's/^/  /'
	exit 1
fi
wrong=$(sed -n 's/^[[:space:]]*{"\([A-Z]*\)", "\([^"]*\)", [a-z_]*, \(ROUTE_[A-Z]*\)},.*/\1 \2 \3/p' \
	"$table" | awk '($1 == "GET") != ($3 == "ROUTE_READ")')
flags=$(grep -c 'ROUTE_\(READ\|WRITE\)},' "$table")
if [ -n "$wrong" ] || [ "$flags" -ne "$(wc -l <<<"$code")" ]; then
	echo "FAIL: access flags: GET must be ROUTE_READ, others ROUTE_WRITE:"
	echo "${wrong:-  ($flags flags for $(wc -l <<<"$code") routes)}"
	exit 1
fi
echo "PASS: $(wc -l <<<"$code") routes, the same in $table and $doc;" \
	"GET routes read, the others write"

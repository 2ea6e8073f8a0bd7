/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One print call per field serves both outputs (the iproute2 json_print
 * idea): in JSON mode it adds a member to the object or array being
 * built; in table mode it fills the next cell of the current row, and the
 * table is printed aligned once complete. Nesting calls (open_object and
 * friends) shape only the JSON; row_end shapes only the table.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

#define MAX_DEPTH 16
#define MAX_COLS 16

static json_t *stack[MAX_DEPTH];
static const char *stack_key[MAX_DEPTH];
static int depth;
static json_t *root;

struct row {
	char *cell[MAX_COLS];
	int n;
};

static struct row *rows;
static size_t n_rows, cap_rows;
static int n_cols;

void out_begin(void)
{
	depth = 0;
	root = NULL;
	n_rows = 0;
	n_cols = 0;
}

/* JSON: attach v under key to whatever is open, or make it the root. */
static void json_put(const char *key, json_t *v)
{
	json_t *top = depth ? stack[depth - 1] : NULL;

	if (!top) {
		json_decref(root);
		root = v;
	} else if (json_is_array(top)) {
		json_array_append_new(top, v);
	} else {
		json_object_set_new(top, key ? key : "", v);
	}
}

static void push(const char *key, json_t *v)
{
	if (!json_output)
		return;
	if (depth == MAX_DEPTH) {
		json_decref(v);
		return;
	}
	stack_key[depth] = key;
	stack[depth++] = v;
}

static void pop(void)
{
	json_t *v;

	if (!json_output || !depth)
		return;
	v = stack[--depth];
	json_put(stack_key[depth], v);
}

void open_object(const char *key)
{
	if (json_output)
		push(key, json_object());
}

void open_array(const char *key)
{
	if (json_output)
		push(key, json_array());
}

void close_object(void)
{
	pop();
}

void close_array(void)
{
	pop();
}

static struct row *cur_row(void)
{
	if (n_rows == 0 || rows[n_rows - 1].n < 0) {
		if (n_rows == cap_rows) {
			size_t cap = cap_rows ? cap_rows * 2 : 32;
			struct row *r = realloc(rows, cap * sizeof(*r));

			if (!r)
				return NULL;
			rows = r;
			cap_rows = cap;
		}
		memset(&rows[n_rows], 0, sizeof(rows[0]));
		n_rows++;
	}
	return &rows[n_rows - 1];
}

static void cell(const char *s)
{
	struct row *r = cur_row();

	if (!r || r->n >= MAX_COLS)
		return;
	r->cell[r->n] = strdup(s ? s : "-");
	/* nothing a daemon answers may drive the terminal */
	if (r->cell[r->n])
		validate_text_clean(r->cell[r->n], strlen(r->cell[r->n]));
	r->n++;
}

void table_begin(const char *const *headers)
{
	if (json_output)
		return;
	for (; *headers; headers++)
		cell(*headers);
	row_end();
}

void row_end(void)
{
	if (json_output || !n_rows || rows[n_rows - 1].n < 0)
		return;
	if (rows[n_rows - 1].n > n_cols)
		n_cols = rows[n_rows - 1].n;
	/* Mark the row closed; the count is kept as -(n + 1). */
	rows[n_rows - 1].n = -rows[n_rows - 1].n - 1;
}

static void print_table(void)
{
	int width[MAX_COLS] = {0};
	size_t i;
	int c;

	row_end();
	for (i = 0; i < n_rows; i++) {
		int n = -rows[i].n - 1;

		for (c = 0; c < n; c++) {
			int l = (int)strlen(rows[i].cell[c]);

			if (l > width[c])
				width[c] = l;
		}
	}
	for (i = 0; i < n_rows; i++) {
		int n = -rows[i].n - 1;

		for (c = 0; c < n; c++) {
			if (c == n - 1)
				printf("%s", rows[i].cell[c]);
			else
				printf("%-*s  ", width[c], rows[i].cell[c]);
			free(rows[i].cell[c]);
		}
		putchar('\n');
	}
	free(rows);
	rows = NULL;
	n_rows = cap_rows = 0;
}

int out_end(void)
{
	if (!json_output) {
		print_table();
		return 0;
	}
	while (depth)
		pop();
	if (root) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(root);
		root = NULL;
	}
	return 0;
}

void print_str(enum print_where w, const char *key, const char *value)
{
	if (json_output && w != PR_TABLE)
		json_put(key, value ? json_string(value) : json_null());
	else if (!json_output && w != PR_JSON)
		cell(value);
}

void print_uint(enum print_where w, const char *key, json_int_t v)
{
	char buf[32];

	if (json_output && w != PR_TABLE) {
		json_put(key, json_integer(v));
	} else if (!json_output && w != PR_JSON) {
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
		cell(buf);
	}
}

void print_bool(enum print_where w, const char *key, bool v)
{
	if (json_output && w != PR_TABLE)
		json_put(key, json_boolean(v));
	else if (!json_output && w != PR_JSON)
		cell(v ? "yes" : "no");
}

void print_json(enum print_where w, const char *key, json_t *v)
{
	char *s;

	if (json_output && w != PR_TABLE) {
		json_put(key, v ? json_deep_copy(v) : json_null());
	} else if (!json_output && w != PR_JSON) {
		if (!v || json_is_null(v)) {
			cell(NULL);
			return;
		}
		if (json_is_string(v)) {
			cell(json_string_value(v));
			return;
		}
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		cell(s);
		free(s);
	}
}

const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

json_int_t jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

void p_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json_output) {
		json_t *e = json_pack("{s:s}", "error", msg);

		/* Machine output stays in one stream: JSON errors go to
		 * stdout, like bpftool's. */
		json_dumpf(e, stdout, JSON_COMPACT);
		putchar('\n');
		fflush(stdout);
		json_decref(e);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

int usage_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p_err("%s", msg);
	return EXIT_USAGE;
}

int out_list(const char *const *headers, json_t *body, const char *key,
	     void (*print)(json_t *item))
{
	json_t *item;
	size_t i;

	out_begin();
	table_begin(headers);
	open_object(NULL);
	open_array(key);
	json_array_foreach(json_object_get(body, key), i, item) print(item);
	close_array();
	close_object();
	json_decref(body);
	return out_end();
}

void print_endpoints(json_t *slot)
{
	char eps[1024] = "";
	json_t *e;
	size_t i;

	open_array("endpoints");
	json_array_foreach(json_object_get(slot, "endpoints"), i, e)
	{
		print_str(PR_JSON, NULL, json_string_value(e));
		snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps), "%s%s",
			 i ? "," : "", json_string_value(e));
	}
	close_array();
	print_str(PR_TABLE, NULL, eps[0] ? eps : NULL);
}

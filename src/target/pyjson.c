// pyjson.c: Python-exact JSON and str() text (see pyjson.h for why).
#include "target/pyjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void target_py_float_repr(double v, char out[32])
{
  if (isnan(v)) {
    snprintf(out, 32, "NaN");
    return;
  }
  if (isinf(v)) {
    snprintf(out, 32, "%s", v < 0 ? "-Infinity" : "Infinity");
    return;
  }
  // Shortest round-trip digits, as Python's repr does (David Gay's mode 0).
  char sci[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(sci, sizeof(sci), "%.*e", prec - 1, v);
    if (strtod(sci, NULL) == v) {
      break;
    }
  }
  // sci = [-]D[.DDD]e[+-]XX
  const char *p = sci;
  bool neg = false;
  if (*p == '-') {
    neg = true;
    p++;
  }
  char digits[24];
  size_t nd = 0;
  for (; *p && *p != 'e'; p++) {
    if (*p != '.' && nd < sizeof(digits) - 1) {
      digits[nd++] = *p;
    }
  }
  digits[nd] = '\0';
  int exp10 = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') {
    digits[--nd] = '\0';
  }
  struct smf_buf b = SMF_BUF_INIT;
  if (neg) {
    smf_buf_puts(&b, "-");
  }
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      for (int i = 0; i <= exp10; i++) {
        smf_buf_append(&b, (size_t)i < nd ? &digits[i] : "0", 1);
      }
      smf_buf_puts(&b, ".");
      smf_buf_puts(&b, (size_t)exp10 + 1 < nd ? &digits[exp10 + 1] : "0");
    } else {
      smf_buf_puts(&b, "0.");
      for (int i = 0; i < -exp10 - 1; i++) {
        smf_buf_puts(&b, "0");
      }
      smf_buf_puts(&b, digits);
    }
  } else {
    smf_buf_append(&b, digits, 1);
    if (nd > 1) {
      smf_buf_printf(&b, ".%s", digits + 1);
    }
    smf_buf_printf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
  }
  snprintf(out, 32, "%s", smf_buf_cstr(&b));
  smf_buf_free(&b);
}

// JSON string with ensure_ascii: non-ASCII as \uXXXX (surrogate pairs above the BMP).
static void py_json_string(const char *s, size_t len, struct smf_buf *b)
{
  smf_buf_puts(b, "\"");
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len; i++) {
    unsigned c = u[i];
    switch (c) {
    case '"':
      smf_buf_puts(b, "\\\"");
      continue;
    case '\\':
      smf_buf_puts(b, "\\\\");
      continue;
    case '\n':
      smf_buf_puts(b, "\\n");
      continue;
    case '\r':
      smf_buf_puts(b, "\\r");
      continue;
    case '\t':
      smf_buf_puts(b, "\\t");
      continue;
    case '\b':
      smf_buf_puts(b, "\\b");
      continue;
    case '\f':
      smf_buf_puts(b, "\\f");
      continue;
    default:
      break;
    }
    if (c < 0x20) {
      smf_buf_printf(b, "\\u%04x", c);
    } else if (c < 0x80) {
      smf_buf_append(b, &u[i], 1);
    } else {
      // Decode one UTF-8 sequence (input is valid UTF-8: YAML and JSON guarantee it).
      unsigned cp = 0, extra = 0;
      if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F, extra = 1;
      } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F, extra = 2;
      } else {
        cp = c & 0x07, extra = 3;
      }
      for (unsigned k = 0; k < extra && i + 1 < len; k++) {
        cp = (cp << 6) | (u[++i] & 0x3F);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        smf_buf_printf(b, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        smf_buf_printf(b, "\\u%04x", cp);
      }
    }
  }
  smf_buf_puts(b, "\"");
}

void target_py_dumps_node(const struct dsl_node *n, struct smf_buf *b)
{
  char num[32];
  if (n == NULL) {
    smf_buf_puts(b, "null");
    return;
  }
  switch (n->type) {
  case DSL_NULL:
    smf_buf_puts(b, "null");
    break;
  case DSL_BOOL:
    smf_buf_puts(b, n->u.b ? "true" : "false");
    break;
  case DSL_INT:
    smf_buf_printf(b, "%lld", (long long)n->u.i);
    break;
  case DSL_FLOAT:
    target_py_float_repr(n->u.f, num);
    smf_buf_puts(b, num);
    break;
  case DSL_STR:
    py_json_string(n->u.str.s, n->u.str.len, b);
    break;
  case DSL_SEQ:
    smf_buf_puts(b, "[");
    for (size_t i = 0; i < n->u.seq.n; i++) {
      smf_buf_puts(b, i ? ", " : "");
      target_py_dumps_node(n->u.seq.items[i], b);
    }
    smf_buf_puts(b, "]");
    break;
  case DSL_MAP:
    smf_buf_puts(b, "{");
    for (size_t i = 0; i < n->u.map.n; i++) {
      smf_buf_puts(b, i ? ", " : "");
      py_json_string(n->u.map.pairs[i].key, strlen(n->u.map.pairs[i].key), b);
      smf_buf_puts(b, ": ");
      target_py_dumps_node(n->u.map.pairs[i].value, b);
    }
    smf_buf_puts(b, "}");
    break;
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// Keys of an object, sorted bytewise (Python sorts str by code point; for UTF-8
// bytewise order is the same). Caller frees the array, not the strings.
static const char **sorted_keys(const json_t *obj, size_t *n)
{
  *n = json_object_size(obj);
  const char **keys = smf_xcalloc(*n ? *n : 1, sizeof(*keys));
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v)
  {
    (void)v;
    keys[i++] = k;
  }
  qsort(keys, *n, sizeof(*keys), cmp_str);
  return keys;
}

void target_py_dumps_compact(const json_t *v, struct smf_buf *b)
{
  char num[32];
  switch (json_typeof(v)) {
  case JSON_NULL:
    smf_buf_puts(b, "null");
    break;
  case JSON_TRUE:
    smf_buf_puts(b, "true");
    break;
  case JSON_FALSE:
    smf_buf_puts(b, "false");
    break;
  case JSON_INTEGER:
    smf_buf_printf(b, "%lld", (long long)json_integer_value(v));
    break;
  case JSON_REAL:
    target_py_float_repr(json_real_value(v), num);
    smf_buf_puts(b, num);
    break;
  case JSON_STRING:
    py_json_string(json_string_value(v), json_string_length(v), b);
    break;
  case JSON_ARRAY:
    smf_buf_puts(b, "[");
    for (size_t i = 0; i < json_array_size(v); i++) {
      smf_buf_puts(b, i ? "," : "");
      target_py_dumps_compact(json_array_get(v, i), b);
    }
    smf_buf_puts(b, "]");
    break;
  case JSON_OBJECT: {
    size_t n;
    const char **keys = sorted_keys(v, &n);
    smf_buf_puts(b, "{");
    for (size_t i = 0; i < n; i++) {
      smf_buf_puts(b, i ? "," : "");
      py_json_string(keys[i], strlen(keys[i]), b);
      smf_buf_puts(b, ":");
      target_py_dumps_compact(json_object_get(v, keys[i]), b);
    }
    smf_buf_puts(b, "}");
    free(keys);
    break;
  }
  }
}

// repr() of a str: single quotes unless the text has ' and no ".
static void py_repr_string(const char *s, struct smf_buf *b)
{
  char q = (strchr(s, '\'') && !strchr(s, '"')) ? '"' : '\'';
  smf_buf_append(b, &q, 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\\' || *p == (unsigned char)q) {
      smf_buf_printf(b, "\\%c", *p);
    } else if (*p == '\n') {
      smf_buf_puts(b, "\\n");
    } else if (*p == '\r') {
      smf_buf_puts(b, "\\r");
    } else if (*p == '\t') {
      smf_buf_puts(b, "\\t");
    } else if (*p < 0x20 || *p == 0x7f) {
      smf_buf_printf(b, "\\x%02x", *p);
    } else {
      smf_buf_append(b, p, 1);
    }
  }
  smf_buf_append(b, &q, 1);
}

// repr() of a value json.loads returned.
static void py_repr(const json_t *v, struct smf_buf *b)
{
  char num[32];
  switch (json_typeof(v)) {
  case JSON_NULL:
    smf_buf_puts(b, "None");
    break;
  case JSON_TRUE:
    smf_buf_puts(b, "True");
    break;
  case JSON_FALSE:
    smf_buf_puts(b, "False");
    break;
  case JSON_INTEGER:
    smf_buf_printf(b, "%lld", (long long)json_integer_value(v));
    break;
  case JSON_REAL:
    target_py_float_repr(json_real_value(v), num);
    smf_buf_puts(b, strcmp(num, "NaN") == 0         ? "nan"
                    : strcmp(num, "Infinity") == 0  ? "inf"
                    : strcmp(num, "-Infinity") == 0 ? "-inf"
                                                    : num);
    break;
  case JSON_STRING:
    py_repr_string(json_string_value(v), b);
    break;
  case JSON_ARRAY:
    smf_buf_puts(b, "[");
    for (size_t i = 0; i < json_array_size(v); i++) {
      smf_buf_puts(b, i ? ", " : "");
      py_repr(json_array_get(v, i), b);
    }
    smf_buf_puts(b, "]");
    break;
  case JSON_OBJECT: {
    smf_buf_puts(b, "{");
    const char *k;
    json_t *item;
    size_t i = 0;
    json_object_foreach((json_t *)v, k, item)
    {
      smf_buf_puts(b, i++ ? ", " : "");
      py_repr_string(k, b);
      smf_buf_puts(b, ": ");
      py_repr(item, b);
    }
    smf_buf_puts(b, "}");
    break;
  }
  }
}

void target_py_str(const json_t *v, struct smf_buf *b)
{
  switch (json_typeof(v)) {
  case JSON_NULL:
    break;
  case JSON_STRING:
    smf_buf_append(b, json_string_value(v), json_string_length(v));
    break;
  case JSON_OBJECT: {
    size_t n;
    const char **keys = sorted_keys(v, &n);
    for (size_t i = 0; i < n; i++) {
      smf_buf_printf(b, "%s%s=", i ? "," : "", keys[i]);
      const json_t *item = json_object_get(v, keys[i]);
      if (json_is_string(item) || json_is_null(item)) {
        smf_buf_puts(b, json_is_null(item) ? "None" : json_string_value(item));
      } else {
        py_repr(item, b);
      }
    }
    free(keys);
    break;
  }
  default:
    py_repr(v, b);
    break;
  }
}

json_t *target_node_to_json(const struct dsl_node *n)
{
  if (n == NULL) {
    return json_null();
  }
  switch (n->type) {
  case DSL_NULL:
    return json_null();
  case DSL_BOOL:
    return json_boolean(n->u.b);
  case DSL_INT:
    return json_integer((json_int_t)n->u.i);
  case DSL_FLOAT:
    return json_real(n->u.f);
  case DSL_STR:
    return json_stringn(n->u.str.s, n->u.str.len);
  case DSL_SEQ: {
    json_t *a = json_array();
    for (size_t i = 0; i < n->u.seq.n; i++) {
      json_array_append_new(a, target_node_to_json(n->u.seq.items[i]));
    }
    return a;
  }
  case DSL_MAP: {
    json_t *o = json_object();
    for (size_t i = 0; i < n->u.map.n; i++) {
      json_object_set_new(o, n->u.map.pairs[i].key, target_node_to_json(n->u.map.pairs[i].value));
    }
    return o;
  }
  }
  return json_null();
}

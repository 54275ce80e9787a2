// json.c: persisted JSON (outputs, params, vars) back into value trees.
#include <jansson.h>
#include <string.h>

#include "engine/eng_int.h"

struct dsl_node *eng_jansson_to_node(struct smf_arena *a, const json_t *j)
{
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    struct dsl_node *m = dsl_node_new(a, DSL_MAP);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
      dsl_map_set(a, m, smf_arena_strdup(a, k), eng_jansson_to_node(a, v));
    }
    return m;
  }
  case JSON_ARRAY: {
    struct dsl_node *s = dsl_node_new(a, DSL_SEQ);
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v)
    {
      dsl_seq_push(a, s, eng_jansson_to_node(a, v));
    }
    return s;
  }
  case JSON_STRING:
    return dsl_node_str(a, json_string_value(j), json_string_length(j));
  case JSON_INTEGER:
    return dsl_node_int(a, (int64_t)json_integer_value(j));
  case JSON_REAL:
    return dsl_node_float(a, json_real_value(j));
  case JSON_TRUE:
    return dsl_node_bool(a, true);
  case JSON_FALSE:
    return dsl_node_bool(a, false);
  case JSON_NULL:
  default:
    return dsl_node_new(a, DSL_NULL);
  }
}

struct dsl_node *eng_json_to_node(struct smf_arena *a, const char *text, struct smf_error *err)
{
  json_error_t je;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
  if (j == NULL) {
    SMF_ERR_SET(err, SMF_EPARSE, "stored JSON: %s (line %d)", je.text, je.line);
    return NULL;
  }
  struct dsl_node *n = eng_jansson_to_node(a, j);
  json_decref(j);
  return n;
}

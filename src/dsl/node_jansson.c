// node_jansson.c: jansson values into value trees (persisted outputs, hook and
// AWS answers). The opposite direction is dsl_node_to_json.
#include <jansson.h>

#include "smflow/dsl.h"

struct dsl_node *dsl_node_from_jansson(struct smf_arena *a, const json_t *j)
{
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    struct dsl_node *m = dsl_node_new(a, DSL_MAP);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v)
    {
      dsl_map_set(a, m, k, dsl_node_from_jansson(a, v));
    }
    return m;
  }
  case JSON_ARRAY: {
    struct dsl_node *s = dsl_node_new(a, DSL_SEQ);
    for (size_t i = 0; i < json_array_size(j); i++) {
      dsl_seq_push(a, s, dsl_node_from_jansson(a, json_array_get(j, i)));
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
  case JSON_FALSE:
    return dsl_node_bool(a, json_is_true(j));
  default:
    return dsl_node_new(a, DSL_NULL);
  }
}

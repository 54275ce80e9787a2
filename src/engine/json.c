// json.c: persisted JSON (outputs, params, vars) back into value trees.
#include <jansson.h>
#include <string.h>

#include "engine/eng_int.h"

struct dsl_node *eng_jansson_to_node(struct smf_arena *a, const json_t *j)
{
  return dsl_node_from_jansson(a, j);
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

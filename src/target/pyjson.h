// pyjson.h: JSON and str() text exactly as Python writes it, for the places
// where SageMaker's contract is defined by Python code: the SDK's json.dumps of
// hyperparameter values, the training toolkit's SM_* values (json.dumps with
// sort_keys and compact separators) and its command-line arguments (str()).
// Private to src/target/.
#pragma once

#include <jansson.h>

#include "smflow/dsl.h"
#include "smflow/util.h"

/// Python's repr(float): the shortest text that reads back to the same double,
/// exponent form outside 1e-4 <= |v| < 1e16 ("1e-05", "0.1", "10.0").
/// JSON spellings for non-finite values ("NaN", "Infinity", "-Infinity").
void target_py_float_repr(double v, char out[32]);

/// json.dumps(v) with the default separators (", ", ": "), keys in document
/// order, ensure_ascii. Appends to b.
void target_py_dumps_node(const struct dsl_node *n, struct smf_buf *b);

/// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True). Appends to b.
void target_py_dumps_compact(const json_t *v, struct smf_buf *b);

/// str(v) of the value json.loads would return (None gives ""), the way the
/// training toolkit turns a hyperparameter into an argument; a top-level object
/// becomes "k=v,k2=v2" with sorted keys. Appends to b.
void target_py_str(const json_t *v, struct smf_buf *b);

/// Typed YAML value -> jansson value (floats stay reals). Caller decrefs.
json_t *target_node_to_json(const struct dsl_node *n);

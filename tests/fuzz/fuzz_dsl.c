// fuzz_dsl.c: libFuzzer target for the pipeline loader. Any input must give
// either a pipeline or diagnostics — no crash, leak, hang or sanitizer report —
// and every tree handed out must survive a walk (JSON output of each step).
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/dsl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct dsl_param_override ov[] = {{"epochs", "3"}};
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  // Every fourth input also carries a --param override, to reach that path.
  size_t n_ov = size % 4 == 0 ? 1 : 0;
  int rc = dsl_load_buffer("fuzz.yaml", (const char *)data, size, ov, n_ov, &p, &d);
  if (rc == 0) {
    for (size_t i = 0; i < p->n_steps; i++) {
      char *j = dsl_node_to_json_flags(p->steps[i].node, i % 2 ? DSL_JSON_PYTHON : 0);
      free(j);
      dsl_spec_validate(p->steps[i].kind, p->steps[i].spec, true, "fuzz.yaml", &d);
    }
  } else if (d.n == 0) {
    abort();  // a failure must always say why
  }
  dsl_pipeline_free(p);
  dsl_diags_free(&d);
  return 0;
}

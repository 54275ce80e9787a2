// dsl_validate_main.c: the smallest driver of the pipeline loader — load,
// validate, print diagnostics, exit 0 (valid) or 2 (invalid). bench_validate.sh
// times it to isolate the library's cost from the CLI's.
#include <stdio.h>

#include "smflow/dsl.h"

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s PIPELINE.yaml\n", argv[0]);
    return 2;
  }
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load(argv[1], NULL, 0, &p, &d);
  dsl_diags_print(&d, stderr);
  if (rc == 0) {
    printf("%s: valid (%zu steps)\n", argv[1], p->n_steps);
  }
  dsl_pipeline_free(p);
  dsl_diags_free(&d);
  return rc == 0 ? 0 : 2;
}

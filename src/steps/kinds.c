// kinds.c: the table of step kinds. Adding a kind: one file, one line here.
#include <stddef.h>

#include "steps/kinds.h"

static const struct step_kind *const step__kinds[] = {
    &step_kind_run,
    &step_kind_upload,
    &step_kind_fit,
    &step_kind_evaluate,
    &step_kind_register,
    &step_kind_deploy,
};

const struct step_kind *step_kind_find(enum dsl_kind kind)
{
  for (size_t i = 0; i < sizeof(step__kinds) / sizeof(step__kinds[0]); i++) {
    if (step__kinds[i]->kind == kind) {
      return step__kinds[i];
    }
  }
  return NULL;
}

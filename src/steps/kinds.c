// kinds.c: the table of step kinds. Adding a kind: one file, one line here.
#include "steps/kinds.h"

#include <stddef.h>

// One line per kind.
// clang-format off
static const struct step_kind *const step__kinds[] = {
    &step_kind_run,
    &step_kind_upload,
    &step_kind_fit,
    &step_kind_evaluate,
    &step_kind_register,
    &step_kind_deploy,
    &step_kind_lua,
};
// clang-format on

static const struct step_kind *step__override[DSL_KIND__COUNT];

void step_kind_override(enum dsl_kind kind, const struct step_kind *k)
{
  step__override[kind] = k;
}

const struct step_kind *step_kind_find(enum dsl_kind kind)
{
  if (step__override[kind]) {
    return step__override[kind];
  }
  for (size_t i = 0; i < sizeof(step__kinds) / sizeof(step__kinds[0]); i++) {
    if (step__kinds[i]->kind == kind) {
      return step__kinds[i];
    }
  }
  return NULL;
}

// test_qa_dsl.c: regressions found by acceptance testing of the pipeline loader —
// out-of-range hex and octal integers, a byte order mark, the written source of
// quoted scalars with escapes.
#include <math.h>
#include <string.h>

#include "smflow/dsl.h"
#include "test.h"

static struct dsl_pipeline *load_ok(const char *text)
{
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load_buffer("t.yaml", text, strlen(text), NULL, 0, &p, &d);
  if (rc != 0) {
    dsl_diags_print(&d, stderr);
  }
  ASSERT_EQ(rc, 0);
  dsl_diags_free(&d);
  return p;
}

static const struct dsl_node *param(const struct dsl_pipeline *p, const char *name)
{
  for (size_t i = 0; i < p->n_params; i++) {
    if (strcmp(p->params[i].name, name) == 0) {
      return p->params[i].value;
    }
  }
  ASSERT(!"no such param");
  return NULL;
}

#define STEP "steps:\n  a: {run: echo}\n"

static bool close_to(double a, double b)
{
  return fabs(a - b) <= fabs(b) * 1e-12;
}

// Integers beyond int64 become floats of the same magnitude, in their own base.
TEST(big_integers_keep_their_magnitude)
{
  struct dsl_pipeline *p = load_ok("smflow: 1\nparams:\n  h: 0xFFFFFFFFFFFFFFFFFF\n"
                                   "  o: 0o7777777777777777777777777\n  d: -99999999999999999999\n"
                                   "  m: 0x7FFFFFFFFFFFFFFF\n" STEP);
  const struct dsl_node *n = param(p, "h");
  ASSERT_EQ(n->type, DSL_FLOAT);
  ASSERT(close_to(n->u.f, 4722366482869645213696.0));
  n = param(p, "o");
  ASSERT_EQ(n->type, DSL_FLOAT);
  ASSERT(close_to(n->u.f, 37778931862957161709568.0));
  n = param(p, "d");
  ASSERT_EQ(n->type, DSL_FLOAT);
  ASSERT(close_to(n->u.f, -1e20));
  n = param(p, "m");
  ASSERT_EQ(n->type, DSL_INT);
  ASSERT_EQ(n->u.i, INT64_MAX);
  dsl_pipeline_free(p);
}

// A byte order mark is not part of the first key; the file's hash covers every byte.
TEST(byte_order_mark)
{
  struct dsl_pipeline *p = load_ok("\xEF\xBB\xBFsmflow: 1\nname: bom\n" STEP);
  ASSERT_STREQ(p->name, "bom");
  ASSERT_EQ(p->steps[0].mark.line, 4);
  dsl_pipeline_free(p);
}

// Quoted one-line scalars whose value differs from what is written keep the written text.
TEST(quoted_source_kept_for_escapes)
{
  struct dsl_pipeline *p = load_ok("smflow: 1\nsteps:\n  a: {run: \"a\\tb ${1}\"}\n"
                                   "  b: {run: 'it''s'}\n  c: {run: \"plain\"}\n"
                                   "  d: {run: plain}\n");
  const struct dsl_node *r = dsl_map_get(p->steps[0].node, "run");
  ASSERT_STREQ(r->u.str.s, "a\tb ${1}");
  ASSERT_STREQ(r->src, "a\\tb ${1}");
  r = dsl_map_get(p->steps[1].node, "run");
  ASSERT_STREQ(r->src, "it''s");
  ASSERT(dsl_map_get(p->steps[2].node, "run")->src == NULL);
  ASSERT(dsl_map_get(p->steps[3].node, "run")->src == NULL);
  dsl_pipeline_free(p);
}

int main(void)
{
  RUN_TEST(big_integers_keep_their_magnitude);
  RUN_TEST(byte_order_mark);
  RUN_TEST(quoted_source_kept_for_escapes);
  return TEST_REPORT();
}

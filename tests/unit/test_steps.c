// test_steps.c: the helpers the step kinds share: deterministic job names
// (length, characters, uniqueness of the parts that must stay unique), the
// job-name base, and spec values turned into strings and argv.
#include <regex.h>

#include "steps/common.h"
#include "test.h"

static const char *RUN = "20261122-003510-1354";

static struct dsl_node *spec_of(struct smf_arena *a, const char *key, const char *value)
{
  struct dsl_node *m = dsl_node_new(a, DSL_MAP);
  if (key) {
    dsl_map_set(a, m, key, dsl_node_str(a, value, strlen(value)));
  }
  return m;
}

static void ctx_init(struct step_ctx *c, struct smf_arena *a, const char *step, int attempt,
                     struct dsl_node *spec)
{
  memset(c, 0, sizeof(*c));
  c->arena = a;
  c->run_id = RUN;
  c->step_id = step;
  c->attempt = attempt;
  c->spec = spec;
}

static bool valid_name(const char *s)
{
  regex_t re;
  regcomp(&re, "^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$", REG_EXTENDED | REG_NOSUB);
  bool ok = regexec(&re, s, 0, NULL, 0) == 0 && strlen(s) <= 63;
  regfree(&re);
  return ok;
}

TEST(job_name_plain)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct step_ctx c;
  ctx_init(&c, &a, "train", 1, spec_of(&a, NULL, NULL));
  ASSERT_STREQ(step_job_name(&c, step_job_base(&c)), "train-20261122-003510-1354-train-1");
  c.attempt = 12;
  ASSERT_STREQ(step_job_name(&c, "xgb"), "xgb-20261122-003510-1354-train-12");
  smf_arena_free(&a);
}

TEST(job_name_long_base_is_cut)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct step_ctx c;
  ctx_init(&c, &a, "train", 3, spec_of(&a, NULL, NULL));
  const char *n = step_job_name(&c, "a-very-long-base-job-name-that-goes-on-and-on-and-on-----x");
  ASSERT(valid_name(n));
  ASSERT(strlen(n) <= 63);
  ASSERT(smf_str_endswith(n, "-20261122-003510-1354-train-3"));
  ASSERT(smf_str_startswith(n, "a-very-long"));
  // A base of nothing but invalid characters is dropped, not left as dashes.
  ASSERT_STREQ(step_job_name(&c, "___"), "20261122-003510-1354-train-3");
  smf_arena_free(&a);
}

TEST(job_name_step_ids_stay_distinct)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct step_ctx c1, c2;
  ctx_init(&c1, &a, "fit_model", 1, spec_of(&a, NULL, NULL));
  ctx_init(&c2, &a, "fit-model", 1, spec_of(&a, NULL, NULL));
  const char *n1 = step_job_name(&c1, "b"), *n2 = step_job_name(&c2, "b");
  ASSERT(valid_name(n1) && valid_name(n2));
  ASSERT(strcmp(n1, n2) != 0);
  ASSERT_STREQ(n2, "b-20261122-003510-1354-fit-model-1");
  ctx_init(&c1, &a, "train-the-big-model-on-all-the-data-version-a", 1, spec_of(&a, NULL, NULL));
  ctx_init(&c2, &a, "train-the-big-model-on-all-the-data-version-b", 1, spec_of(&a, NULL, NULL));
  n1 = step_job_name(&c1, "sagemaker-scikit-learn");
  n2 = step_job_name(&c2, "sagemaker-scikit-learn");
  ASSERT(valid_name(n1) && valid_name(n2));
  ASSERT(strcmp(n1, n2) != 0);
  ASSERT(strstr(n1, RUN) != NULL && smf_str_endswith(n1, "-1"));
  smf_arena_free(&a);
}

TEST(job_base)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct step_ctx c;
  ctx_init(&c, &a, "train", 1,
           spec_of(&a, "image_uri",
                   "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1"));
  ASSERT_STREQ(step_job_base(&c), "sagemaker-scikit-learn");
  ctx_init(&c, &a, "train", 1, spec_of(&a, "base_job_name", "churn"));
  ASSERT_STREQ(step_job_base(&c), "churn");
  ctx_init(&c, &a, "train", 1, spec_of(&a, "framework", "xgboost"));
  ASSERT_STREQ(step_job_base(&c), "xgboost");
  ctx_init(&c, &a, "evaluate", 1, spec_of(&a, "image_uri", "local"));
  ASSERT_STREQ(step_job_base(&c), "evaluate");
  smf_arena_free(&a);
}

TEST(scalars_and_argv)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct step_ctx c;
  ctx_init(&c, &a, "s", 1, spec_of(&a, NULL, NULL));
  ASSERT_STREQ(step_scalar(&c, dsl_node_int(&a, 42)), "42");
  ASSERT_STREQ(step_scalar(&c, dsl_node_bool(&a, true)), "true");
  ASSERT_STREQ(step_scalar(&c, dsl_node_float(&a, 0.5)), "0.5");
  size_t n = 0;
  const char *const *v = step_argv(&c, dsl_node_str(&a, "python3  -X dev", 15), &n);
  ASSERT_EQ(n, 3);
  ASSERT_STREQ(v[0], "python3");
  ASSERT_STREQ(v[2], "dev");
  struct dsl_node *seq = dsl_node_new(&a, DSL_SEQ);
  dsl_seq_push(&a, seq, dsl_node_str(&a, "python3 -u", 10));
  v = step_argv(&c, seq, &n);
  ASSERT_EQ(n, 1);
  ASSERT_STREQ(v[0], "python3 -u");  // list items are taken as they are
  c.pipeline_dir = "/p";
  ASSERT_STREQ(step_path(&c, "data/x"), "/p/data/x");
  ASSERT_STREQ(step_path(&c, "s3://b/k"), "s3://b/k");
  ASSERT_STREQ(step_path(&c, "/abs"), "/abs");
  smf_arena_free(&a);
}

int main(void)
{
  RUN_TEST(job_name_plain);
  RUN_TEST(job_name_long_base_is_cut);
  RUN_TEST(job_name_step_ids_stay_distinct);
  RUN_TEST(job_base);
  RUN_TEST(scalars_and_argv);
  return TEST_REPORT();
}

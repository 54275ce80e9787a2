// test_target.c: target selection and the Python-exact encodings that the
// hyperparameters of CreateTrainingJob and the training toolkit depend on.
// Expected texts are what CPython 3 prints for the same values.
#include "local_test_util.h"
#include "target/pyjson.h"

static void expect_repr(double v, const char *want)
{
  char got[32];
  target_py_float_repr(v, got);
  ASSERT_STREQ(got, want);
}

TEST(float_repr_like_python)
{
  expect_repr(0.1, "0.1");
  expect_repr(1e-05, "1e-05");
  expect_repr(0.0001, "0.0001");
  expect_repr(10.0, "10.0");
  expect_repr(-0.0, "-0.0");
  expect_repr(1.5, "1.5");
  expect_repr(123456789.0, "123456789.0");
  expect_repr(1e16, "1e+16");
  expect_repr(1e22, "1e+22");
  expect_repr(12345678901234567.0, "1.2345678901234568e+16");
  expect_repr(9999999999999998.0, "9999999999999998.0");
  expect_repr(0.30000000000000004, "0.30000000000000004");
  expect_repr(2.5e-07, "2.5e-07");
  expect_repr(-3.75e+100, "-3.75e+100");
}

TEST(json_dumps_of_typed_values)
{
  struct dsl_node *v = ltu_node(DSL_MAP);
  ltu_set(v, "b", ltu_int(1));
  struct dsl_node *list = ltu_node(DSL_SEQ);
  ltu_push(list, ltu_float(0.5));
  ltu_push(list, ltu_str("x\"y"));
  ltu_push(list, ltu_bool(false));
  ltu_push(list, ltu_node(DSL_NULL));
  ltu_set(v, "a", list);
  ltu_set(v, "u", ltu_str("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  char *s = target_json_dumps_py(v);
  ASSERT_STREQ(s,
               "{\"b\": 1, \"a\": [0.5, \"x\\\"y\", false, null], "
               "\"u\": \"caf\\u00e9 \\ud83d\\ude00\"}");
  free(s);
  struct smf_buf b = SMF_BUF_INIT;
  json_t *j = target_node_to_json(v);
  target_py_dumps_compact(j, &b);
  ASSERT_STREQ(smf_buf_cstr(&b),
               "{\"a\":[0.5,\"x\\\"y\",false,null],\"b\":1,"
               "\"u\":\"caf\\u00e9 \\ud83d\\ude00\"}");
  smf_buf_reset(&b);
  target_py_str(json_object_get(j, "a"), &b);
  ASSERT_STREQ(smf_buf_cstr(&b), "[0.5, 'x\"y', False, None]");
  smf_buf_reset(&b);
  target_py_str(j, &b);  // a top-level map becomes k=v pairs, as the toolkit's arguments
  ASSERT_STREQ(smf_buf_cstr(&b), "a=[0.5, 'x\"y', False, None],b=1,u=caf\xc3\xa9 \xf0\x9f\x98\x80");
  smf_buf_free(&b);
  json_decref(j);
  ltu_node_free(v);
}

TEST(hyperparameters_as_the_sdk_sends_them)
{
  struct dsl_node *hp = ltu_node(DSL_MAP);
  ltu_set(hp, "epochs", ltu_int(10));
  ltu_set(hp, "lr", ltu_float(1e-05));
  ltu_set(hp, "optimizer", ltu_str("adam"));
  ltu_set(hp, "flag", ltu_bool(true));
  struct dsl_node *fw = ltu_node(DSL_MAP);
  ltu_set(fw, "sagemaker_mpi_enabled", ltu_bool(true));
  struct target_training_job job = {.job_name = "j-1",
                                    .entry_point = "train.py",
                                    .submit_dir_uri = "s3://b/code/sourcedir.tar.gz",
                                    .hyperparameters = hp,
                                    .framework_hyperparameters = fw};
  struct target_hps hps;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_hps_encode(&job, "eu-west-1", &hps, &err), 0);
  static const char *const want[][2] = {
      {"epochs", "10"},
      {"lr", "1e-05"},
      {"optimizer", "\"adam\""},
      {"flag", "true"},
      {"sagemaker_mpi_enabled", "true"},
      {"sagemaker_submit_directory", "\"s3://b/code/sourcedir.tar.gz\""},
      {"sagemaker_program", "\"train.py\""},
      {"sagemaker_container_log_level", "20"},
      {"sagemaker_job_name", "\"j-1\""},
      {"sagemaker_region", "\"eu-west-1\""}};
  ASSERT_EQ(hps.n, SMF_ARRAY_LEN(want));
  for (size_t i = 0; i < hps.n; i++) {
    ASSERT_STREQ(hps.items[i].name, want[i][0]);
    ASSERT_STREQ(hps.items[i].json, want[i][1]);
  }
  target_hps_free(&hps);
  job.entry_point = NULL;
  ASSERT_EQ(target_hps_encode(&job, NULL, &hps, &err), SMF_EINVAL);
  ltu_node_free(hp);
  ltu_node_free(fw);
}

TEST(target_by_name)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct target_config cfg = {.loop = &loop, .state_dir = state, .base_dir = state};
  struct target *t = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_new("nowhere", &cfg, &t, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "known: local");
  ASSERT(t == NULL);
  ASSERT_EQ(target_new("local", &cfg, &t, &err), 0);
  ASSERT_STREQ(t->vt->name, "local");
  ASSERT_STREQ(target_names()[0], "local");
  ASSERT_STREQ(target_job_status_name(TARGET_JOB_COMPLETED), "Completed");
  ltu_finish(&loop, t);
  ltu_rm(state);
  free(state);
}

struct store_ctx {
  int done;
  int status;
  size_t n;
  char uris[4][128];
  uint64_t size;
};

static void on_put(void *data, int status, const struct smf_error *err)
{
  struct store_ctx *c = data;
  (void)err;
  c->status = status;
  c->done++;
}

static void on_head(void *data, int status, const struct target_object *o,
                    const struct smf_error *err)
{
  (void)err;
  struct store_ctx *c = data;
  c->status = status;
  c->size = o ? o->size : 0;
  c->done++;
}

static void on_list(void *data, int status, const struct target_object *objs, size_t n,
                    const struct smf_error *err)
{
  (void)err;
  struct store_ctx *c = data;
  c->status = status;
  c->n = n;
  for (size_t i = 0; i < n && i < 4; i++) {
    snprintf(c->uris[i], sizeof(c->uris[i]), "%s", objs[i].uri);
  }
  c->done++;
}

TEST(store_operations_on_the_thread_pool)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct target *t = ltu_target(&loop, state);
  struct smf_error err = SMF_ERROR_INIT;
  struct store_ctx c = {0};
  ASSERT_EQ(t->vt->store->put_bytes(t, "hello", 5, "s3://bkt/data/tr/a.txt", on_put, &c, &err), 0);
  ASSERT_EQ(t->vt->store->put_bytes(t, "hi", 2, "s3://bkt/data/trial.txt", on_put, &c, &err), 0);
  while (c.done < 2) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(t->vt->store->head(t, "s3://bkt/data/tr/a.txt", on_head, &c, &err), 0);
  while (c.done < 3) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(c.size, 5);
  ASSERT_EQ(t->vt->store->head(t, "s3://bkt/none", on_head, &c, &err), 0);
  while (c.done < 4) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(c.status, SMF_ENOENT);
  ASSERT_EQ(t->vt->store->list(t, "s3://bkt/data/tr", on_list, &c, &err), 0);
  while (c.done < 5) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(c.n, 2);
  ASSERT_STREQ(c.uris[0], "s3://bkt/data/tr/a.txt");
  ASSERT_STREQ(c.uris[1], "s3://bkt/data/trial.txt");
  ltu_finish(&loop, t);
  ltu_rm(state);
  free(state);
}

int main(void)
{
  RUN_TEST(float_repr_like_python);
  RUN_TEST(json_dumps_of_typed_values);
  RUN_TEST(hyperparameters_as_the_sdk_sends_them);
  RUN_TEST(target_by_name);
  RUN_TEST(store_operations_on_the_thread_pool);
  return TEST_REPORT();
}

// test_local_processing.c: evaluate's runtime on the local target: the model
// extracted for the script, inputs materialised, the arguments, the report
// stored and parsed into metrics; a missing report and a failing script.
#include <signal.h>

#include "local_test_util.h"

#define BUCKET "s3://smflow-test"
#define MODEL_A "{\"weights\": [1.5, -2.0, 0.75, 0.5], \"bias\": -0.25}"

static void put_model(const char *state)
{
  char *dir = smf_xasprintf("%s/model-src", state);
  char *file = smf_xasprintf("%s/model.json", dir);
  char *tgz = smf_xasprintf("%s/model.tar.gz", state);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_mkdir_p(dir, &err), 0);
  ASSERT_EQ(smf_file_write_atomic(file, MODEL_A, strlen(MODEL_A), &err), 0);
  struct smf_pack_spec spec = {.source_dir = dir, .output = tgz};
  struct smf_pack_result res;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  struct local_store st;
  ASSERT_EQ(local_store_init(&st, state, state, &err), 0);
  ASSERT_EQ(local_store_put_file(&st, tgz, BUCKET "/models/a/model.tar.gz", &err), 0);
  local_store_close(&st);
  free(dir);
  free(file);
  free(tgz);
}

static char *seed(void)
{
  char *state = ltu_tmpdir();
  put_model(state);
  // Three rows the model gets right, one it gets wrong: accuracy 0.75.
  ltu_put(state, BUCKET "/data/test/part-1.csv", "1,1.2,-0.8,0.3,0.1\n0,-1.0,1.5,-0.2,0.4\n");
  ltu_put(state, BUCKET "/data/test/part-2.csv", "1,2.0,0.0,0.0,0.0\n1,-2.0,2.0,0.0,0.0\n");
  return state;
}

static void run(struct target *t, uv_loop_t *loop, const struct target_processing_job *job,
                struct ltu_job *c)
{
  struct smf_error err = SMF_ERROR_INIT;
  c->t = t;
  ASSERT_EQ(target_processing_start(t, job, ltu_on_event, c, &c->job, &err), 0);
  ltu_run_until(loop, &c->done, 30000);
}

static const struct target_proc_input test_input[] = {{"test", BUCKET "/data/test/"}};

static struct target_processing_job eval_job(const char *name, const char *code, const char *ep,
                                             const char *report)
{
  struct target_processing_job job = {.job_name = name,
                                      .image_uri = "local",
                                      .entry_point = ep,
                                      .code_uri = code,
                                      .model_uri = BUCKET "/models/a/model.tar.gz",
                                      .inputs = test_input,
                                      .n_inputs = 1,
                                      .report = report,
                                      .resources = {.instance_count = 1}};
  return job;
}

TEST(quickstart_evaluate)
{
  char *state = seed();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  const char *src = getenv("SMF_SOURCE_DIR");
  char *code = smf_xasprintf("%s/examples/quickstart/code", src ? src : ".");
  struct target_processing_job job = eval_job("eval-job-1", code, "evaluate.py", "evaluation.json");
  job.output_uri = BUCKET "/eval/eval-job-1/output";
  struct ltu_job c = {0};
  run(t, &loop, &job, &c);
  if (c.status != TARGET_JOB_COMPLETED) {
    fprintf(stderr, "%s\n%s", c.reason, smf_buf_cstr(&c.log));
  }
  ASSERT_EQ(c.status, TARGET_JOB_COMPLETED);
  ASSERT_STREQ(c.report_uri, BUCKET "/eval/eval-job-1/output/evaluation.json");
  ASSERT_EQ(c.n_metrics, 2);
  ASSERT_STREQ(c.metric_name[0], "accuracy");
  ASSERT(c.metric_value[0] == 0.75);
  ASSERT_STREQ(c.metric_name[1], "rows");
  ASSERT(c.metric_value[1] == 4);
  char *path = ltu_path(state, c.report_uri);
  char *text = ltu_read(path);
  ASSERT_CONTAINS(text, "\"accuracy\": 0.75");
  ASSERT_CONTAINS(c.report_json, "\"accuracy\":0.75");
  ASSERT_CONTAINS(smf_buf_cstr(&c.log), "[algo-1] accuracy=0.7500 on 4 rows");
  free(text);
  free(path);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
  free(code);
}

TEST(arguments_layout_and_outputs)
{
  char *state = seed();
  ltu_put_code(state, BUCKET "/code/sourcedir.tar.gz");
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_processing_job job =
      eval_job("eval-args-1", BUCKET "/code/sourcedir.tar.gz", "args_eval.py", "report.json");
  job.output_uri = BUCKET "/eval/args/";
  struct ltu_job c = {0};
  run(t, &loop, &job, &c);
  ASSERT_EQ(c.status, TARGET_JOB_COMPLETED);
  char *base = smf_xasprintf("%s/jobs/eval-args-1/algo-1/processing", state);
  char *argv = smf_xasprintf(
      "\"argv\":[\"--model-dir\",\"%s/model\",\"--output-dir\",\"%s/output\","
      "\"--test\",\"%s/input/test\"]",
      base, base, base);
  ASSERT_CONTAINS(c.report_json, argv);
  char *cwd = smf_xasprintf("\"cwd\":\"%s/input/code\"", base);
  ASSERT_CONTAINS(c.report_json, cwd);
  ASSERT_CONTAINS(c.report_json, "\"model_files\":[\"model.json\"]");
  ASSERT_CONTAINS(c.report_json, "\"test_files\":[\"part-1.csv\",\"part-2.csv\"]");
  ASSERT_STREQ(c.report_uri, BUCKET "/eval/args/report.json");
  // Nested numbers become dotted metric names.
  bool nested = false;
  for (size_t i = 0; i < c.n_metrics; i++) {
    nested =
        nested || (strcmp(c.metric_name[i], "nested.auc.value") == 0 && c.metric_value[i] == 0.75);
  }
  ASSERT(nested);
  // Every file of the output directory is stored.
  char *extra = ltu_path(state, BUCKET "/eval/args/extra.txt");
  char *text = ltu_read(extra);
  ASSERT_STREQ(text, "also stored\n");
  free(text);
  free(extra);
  free(base);
  free(argv);
  free(cwd);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(missing_report_and_failing_script)
{
  char *state = seed();
  ltu_put_code(state, BUCKET "/code/sourcedir.tar.gz");
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_processing_job job =
      eval_job("eval-noreport-1", BUCKET "/code/sourcedir.tar.gz", "no_report.py", "report.json");
  job.output_uri = BUCKET "/eval/x/";
  struct ltu_job c = {0};
  run(t, &loop, &job, &c);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.klass, SMF_CLASS_CLIENT);
  ASSERT_CONTAINS(c.reason, "report report.json");
  ltu_job_free(&c);

  struct target_processing_job job2 =
      eval_job("eval-fail-1", BUCKET "/code/sourcedir.tar.gz", "crash_train.py", "report.json");
  struct ltu_job c2 = {0};
  run(t, &loop, &job2, &c2);
  ASSERT_EQ(c2.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c2.klass, SMF_CLASS_ALGORITHM);
  ASSERT_CONTAINS(c2.reason, "ZeroDivisionError");
  ltu_job_free(&c2);
  ltu_finish(&loop, t);
  ltu_rm(state);
  free(state);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  RUN_TEST(quickstart_evaluate);
  RUN_TEST(arguments_layout_and_outputs);
  RUN_TEST(missing_report_and_failing_script);
  return TEST_REPORT();
}

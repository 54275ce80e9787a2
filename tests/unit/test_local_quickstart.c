// test_local_quickstart.c: the quickstart's scripts end to end through the
// target interface, as its pipeline runs them: make_data.py -> fit (train.py)
// -> evaluate (evaluate.py) -> deploy (inference.py) -> /invocations with
// sample.csv.
#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>

#include "local_test_util.h"

#define BUCKET "s3://quickstart-bucket"

struct ep_ctx {
  bool done;
  int status;
  char url[128];
  char message[1024];
};

static void on_endpoint(void *data, int status, const struct target_endpoint_info *ep,
                        const struct smf_error *err)
{
  struct ep_ctx *c = data;
  c->done = true;
  c->status = status;
  if (ep) {
    snprintf(c->url, sizeof(c->url), "%s", ep->url);
  }
  if (err) {
    snprintf(c->message, sizeof(c->message), "%s", err->message);
  }
}

static void on_removed(void *data, int status, const struct smf_error *err)
{
  (void)err;
  struct ep_ctx *c = data;
  c->done = true;
  c->status = status;
}

static size_t collect(char *p, size_t size, size_t n, void *data)
{
  smf_buf_append(data, p, size * n);
  return size * n;
}

static void run_cmd(const char *cmd)
{
  int rc = system(cmd);
  ASSERT(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
}

TEST(quickstart_end_to_end)
{
  const char *src = getenv("SMF_SOURCE_DIR");
  char *qs = smf_xasprintf("%s/examples/quickstart", src ? src : ".");
  char *state = ltu_tmpdir();
  char *cmd =
      smf_xasprintf("cd '%s' && python3 '%s/make_data.py' --out data >/dev/null", state, qs);
  run_cmd(cmd);
  // The upload step's work: the code packed as sourcedir.tar.gz.
  char *code = smf_xasprintf("%s/code", qs), *tgz = smf_xasprintf("%s/sourcedir.tar.gz", state);
  struct smf_pack_spec spec = {.source_dir = code, .output = tgz};
  struct smf_pack_result pr;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &pr, &err), 0);
  struct local_store st;
  ASSERT_EQ(local_store_init(&st, state, state, &err), 0);
  ASSERT_EQ(local_store_put_file(&st, tgz, BUCKET "/code/sourcedir.tar.gz", &err), 0);
  local_store_close(&st);

  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct dsl_node *hp = ltu_node(DSL_MAP);
  ltu_set(hp, "epochs", ltu_int(200));
  ltu_set(hp, "learning-rate", ltu_float(0.1));
  struct target_channel train = {.name = "train", .uri = "data/train"};  // relative: base_dir
  struct target_metric_def loss = {"train:loss", "loss=([0-9.]+)"};
  struct target_training_job job = {
      .job_name = "quickstart-train-1",
      .image_uri = "local",
      .entry_point = "train.py",
      .submit_dir_uri = BUCKET "/code/sourcedir.tar.gz",
      .hyperparameters = hp,
      .channels = &train,
      .n_channels = 1,
      .output_path = BUCKET "/models/",
      .metric_definitions = &loss,
      .n_metric_definitions = 1,
      .resources = {.instance_type = "ml.m5.large", .instance_count = 1}};
  struct ltu_job fit = {.t = t};
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &fit, &fit.job, &err), 0);
  ltu_run_until(&loop, &fit.done, 120000);
  ASSERT_EQ(fit.status, TARGET_JOB_COMPLETED);
  ASSERT_STREQ(fit.model_data, BUCKET "/models/quickstart-train-1/output/model.tar.gz");
  ASSERT_STREQ(fit.metric_name[0], "train:loss");
  ASSERT(fit.metric_value[0] > 0 && fit.metric_value[0] < 0.4);

  struct target_proc_input test = {"test", "data/test"};
  struct target_processing_job ev = {.job_name = "quickstart-evaluate-1",
                                     .entry_point = "evaluate.py",
                                     .code_uri = code,
                                     .model_uri = fit.model_data,
                                     .inputs = &test,
                                     .n_inputs = 1,
                                     .report = "evaluation.json",
                                     .output_uri = BUCKET "/evaluation/quickstart-evaluate-1"};
  struct ltu_job eval = {.t = t};
  ASSERT_EQ(target_processing_start(t, &ev, ltu_on_event, &eval, &eval.job, &err), 0);
  ltu_run_until(&loop, &eval.done, 60000);
  ASSERT_EQ(eval.status, TARGET_JOB_COMPLETED);
  ASSERT_STREQ(eval.metric_name[0], "accuracy");
  ASSERT(eval.metric_value[0] >= 0.8);  // the pipeline's min_accuracy

  struct target_endpoint_spec dep = {.endpoint = "quickstart",
                                     .model_data = fit.model_data,
                                     .entry_point = "inference.py",
                                     .source_dir = code};
  struct ep_ctx ep = {0};
  ASSERT_EQ(target_endpoint_deploy(t, &dep, on_endpoint, &ep, &err), 0);
  ltu_run_until(&loop, &ep.done, 60000);
  if (ep.status != 0) {
    fprintf(stderr, "%s\n", ep.message);
  }
  ASSERT_EQ(ep.status, 0);
  char *sample_path = smf_xasprintf("%s/sample.csv", qs);
  char *sample = ltu_read(sample_path);
  CURL *h = curl_easy_init();
  char *url = smf_xasprintf("%s/invocations", ep.url);
  struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: text/csv");
  struct smf_buf body = SMF_BUF_INIT;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, sample);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(h), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  ASSERT_EQ(status, 200);
  ASSERT_CONTAINS(smf_buf_cstr(&body), "{\"predictions\": [{\"label\": 1, \"probability\": 0.9");
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(h);

  struct ep_ctx del = {0};
  ASSERT_EQ(target_endpoint_delete(t, "quickstart", on_removed, &del, &err), 0);
  ltu_run_until(&loop, &del.done, 10000);
  ASSERT_EQ(del.status, 0);
  ltu_finish(&loop, t);
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  smf_buf_free(&body);
  ltu_job_free(&fit);
  ltu_job_free(&eval);
  ltu_node_free(hp);
  ltu_rm(state);
  free(url);
  free(sample);
  free(sample_path);
  free(state);
  free(qs);
  free(cmd);
  free(code);
  free(tgz);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  RUN_TEST(quickstart_end_to_end);
  curl_global_cleanup();
  return TEST_REPORT();
}

// target.c: the `aws` target: its vtable and its setup. Setup resolves the
// region, the endpoints (AWS_ENDPOINT_URL*, profile `endpoint_url`), the
// credentials (the AWS CLI's chain) and the account id (STS
// GetCallerIdentity), which names the default bucket sagemaker-REGION-ACCOUNT.
//
// target_new is synchronous and runs before the engine's loop starts, so the
// credential fetch and GetCallerIdentity run to completion on a private,
// short-lived loop here; nothing of it touches the run's loop. The client for
// the run then lives on cfg->loop, with a shared rate limit on Describe*/List*
// calls (SMFLOW_AWS_DESCRIBE_RATE per second, default 5, burst 10).
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "aws/http.h"
#include "smflow/log.h"
#include "target/aws/awst.h"

struct awst *awst_of(struct target *t)
{
  return t->impl;
}

void awst_env_of(struct target *t, struct awst_env *env)
{
  struct awst *a = awst_of(t);
  *env = (struct awst_env){.region = t->region,
                           .account = t->account_id,
                           .role = t->role,
                           .share_dir = a->share_dir,
                           .default_bucket = a->default_bucket};
}

// ---- the private bootstrap loop -------------------------------------------------

struct boot {
  uv_loop_t loop;
  int done;
  int rc;
  struct smf_error err;
  struct aws_creds creds;
  char *account;
};

static void boot_creds_cb(const struct aws_creds *creds, const struct smf_error *err, void *data)
{
  struct boot *b = data;
  b->done = 1;
  if (creds == NULL) {
    b->rc = err && err->code ? err->code : SMF_ECREDS;
    if (err) {
      b->err = *err;
    }
    return;
  }
  aws_creds_copy(&b->creds, creds);
}

static void boot_sts_cb(const struct aws_sts_result *res, const struct smf_error *err, void *data)
{
  struct boot *b = data;
  b->done = 1;
  if (res == NULL || res->account == NULL) {
    b->rc = err && err->code ? err->code : SMF_EAWS;
    if (err) {
      b->err = *err;
    }
    return;
  }
  b->account = smf_xstrdup(res->account);
}

static void boot_closed(void *data)
{
  *(int *)data = 1;
}

static void boot_wait(struct boot *b, int *flag)
{
  while (!*flag && uv_run(&b->loop, UV_RUN_ONCE)) {
  }
}

// Credentials through the provider chain, on the private loop.
static int boot_creds(struct boot *b, const struct aws_shared_config *sc, struct smf_error *err)
{
  struct aws_creds_plan *plan = NULL;
  int rc = aws_creds_plan_resolve(sc, &plan, err);
  if (rc != 0) {
    return rc;
  }
  struct aws_http *http = NULL;
  if ((rc = aws_http_new(&b->loop, &http, err)) != 0) {
    aws_creds_plan_free(plan);
    return rc;
  }
  struct aws_creds_provider *p = NULL;
  rc = aws_creds_provider_new(http, plan, NULL, &p, err);  // takes the plan
  if (rc == 0) {
    rc = aws_creds_provider_get(p, &b->creds, boot_creds_cb, b, err);
    if (rc == AWS_CREDS_PENDING) {
      boot_wait(b, &b->done);
      rc = b->rc;
      if (rc != 0) {
        *err = b->err;
      }
    }
    aws_creds_provider_close(p);
  }
  int closed = 0;
  aws_http_close(http, boot_closed, &closed);
  boot_wait(b, &closed);
  return rc;
}

static void boot_endpoints(struct aws_client *c, const struct aws_shared_config *sc,
                           const char *region)
{
  for (int s = 0; s < AWS_SVC__COUNT; s++) {
    struct aws_endpoint ep;
    struct smf_error e = SMF_ERROR_INIT;
    if (aws_endpoint_resolve(sc, (enum aws_service)s, region, &ep, &e) == 0 && ep.overridden) {
      aws_client_set_endpoint(c, (enum aws_service)s, ep.url);
    }
  }
}

static int boot_client(uv_loop_t *loop, const struct aws_shared_config *sc, const char *region,
                       const struct aws_creds *creds, struct aws_client **out,
                       struct smf_error *err)
{
  struct aws_endpoint s3;
  struct smf_error e = SMF_ERROR_INIT;
  bool path_style = aws_endpoint_resolve(sc, AWS_SVC_S3, region, &s3, &e) == 0 && s3.s3_path_style;
  struct aws_client_config cc = {.region = region, .s3_path_style = path_style};
  int rc = aws_client_new(loop, &cc, out, err);
  if (rc != 0) {
    return rc;
  }
  boot_endpoints(*out, sc, region);
  aws_client_set_creds(*out, creds);
  return 0;
}

// Credentials and account id, synchronously on a private loop.
static int boot_run(const struct aws_shared_config *sc, const char *region, struct boot *b,
                    struct smf_error *err)
{
  uv_loop_init(&b->loop);
  int rc = boot_creds(b, sc, err);
  struct aws_client *c = NULL;
  if (rc == 0) {
    rc = boot_client(&b->loop, sc, region, &b->creds, &c, err);
  }
  if (rc == 0) {
    b->done = 0;
    rc = aws_sts_get_caller_identity(c, boot_sts_cb, b, err);
    if (rc == 0) {
      boot_wait(b, &b->done);
      rc = b->rc;
      if (rc != 0) {
        *err = b->err;  // "STS GetCallerIdentity: ..." (the client names the call)
      }
    }
  }
  if (c) {
    int closed = 0;
    aws_client_close(c, boot_closed, &closed);
    boot_wait(b, &closed);
  }
  uv_run(&b->loop, UV_RUN_DEFAULT);
  uv_loop_close(&b->loop);
  return rc;
}

// ---- the target -------------------------------------------------------------------

static double env_num(const char *name, double dflt)
{
  const char *v = getenv(name);
  char *end;
  double d = v && *v ? strtod(v, &end) : dflt;
  return v && *v && *end == '\0' && d > 0 ? d : dflt;
}

void awst_live_add(struct target *t, struct awst_live *l, void (*quiesce)(struct awst_live *l))
{
  struct awst *a = awst_of(t);
  l->quiesce = quiesce;
  l->prev = &a->live;
  l->next = a->live.next;
  if (a->live.next) {
    a->live.next->prev = l;
  }
  a->live.next = l;
  a->live_jobs++;
}

void awst_live_remove(struct target *t, struct awst_live *l)
{
  if (l->prev) {
    l->prev->next = l->next;
  }
  if (l->next) {
    l->next->prev = l->prev;
  }
  l->prev = l->next = NULL;
  awst_of(t)->live_jobs--;
}

// Quiesce what is in flight (remote jobs keep running), then close the client:
// the loop's last run delivers the cancellations, which release the rest.
static void awst_close(struct target *t)
{
  struct awst *a = t->impl;
  if (a == NULL || a->closing) {
    return;
  }
  a->closing = true;
  awst_refresh_close(t);
  for (struct awst_live *l = a->live.next, *next; l; l = next) {
    next = l->next;
    l->quiesce(l);
  }
  if (a->client) {
    aws_client_close(a->client, NULL, NULL);  // frees itself once its calls are gone
  }
}

static void awst_free(struct target *t)
{
  struct awst *a = t->impl;
  if (a == NULL) {
    return;
  }
  awst_close(t);
  free(a->default_bucket);
  free(a->share_dir);
  free(a);
  t->impl = NULL;
}

// `smflow cancel`: Stop{Training,Processing}Job by name for a job whose handle
// is gone. SMF_ENOENT when SageMaker does not know the job.
struct stop_req {
  target_done_cb cb;
  void *data;
};

static void stop_by_name_cb(json_t *res, const struct smf_error *err, void *data)
{
  struct stop_req *r = data;
  if (res) {
    r->cb(r->data, 0, NULL);
  } else {
    struct smf_error e = *err;
    bool missing =
        strcasestr(err->message, "not found") || strcasestr(err->message, "could not find");
    e.code = missing ? SMF_ENOENT : err->code;
    r->cb(r->data, e.code, &e);
  }
  free(r);
}

static int awst_stop_job_by_name(struct target *t, bool processing, const char *job_name,
                                 target_done_cb cb, void *data, struct smf_error *err)
{
  struct stop_req *r = smf_xcalloc(1, sizeof(*r));
  *r = (struct stop_req){cb, data};
  json_t *b = json_pack("{s:s}", processing ? "ProcessingJobName" : "TrainingJobName", job_name);
  int rc =
      aws_sagemaker_call(awst_of(t)->client, processing ? "StopProcessingJob" : "StopTrainingJob",
                         b, NULL, stop_by_name_cb, r, err);
  json_decref(b);
  if (rc != 0) {
    free(r);
  }
  return rc;
}

static const struct target_vtable awst_vtable = {
    .name = "aws",
    .outlives_host = true,
    .store = &awst_store_ops,
    .training = &awst_training_ops,
    .processing = &awst_processing_ops,
    .hosting = &awst_hosting_ops,
    .registry = &awst_registry_ops,
    .free = awst_free,
    .close = awst_close,
    .stop_job_by_name = awst_stop_job_by_name,
    .job_logs = awst_job_logs,
};

static int awst_region(const struct target_config *cfg, const struct aws_shared_config *sc,
                       char *out, size_t n, struct smf_error *err)
{
  if (cfg->region && *cfg->region) {
    snprintf(out, n, "%s", cfg->region);
    return 0;
  }
  return aws_region_resolve(sc, out, n, err);
}

int aws_target_new(const struct target_config *cfg, struct target **out, struct smf_error *err)
{
  *out = NULL;
  struct aws_shared_config *sc = NULL;
  int rc = aws_shared_config_load(NULL, &sc, err);
  char region[64];
  if (rc == 0) {
    rc = awst_region(cfg, sc, region, sizeof(region), err);
  }
  struct boot b = {0};
  if (rc == 0) {
    rc = boot_run(sc, region, &b, err);
  }
  struct target *t = NULL;
  if (rc == 0) {
    t = smf_xcalloc(1, sizeof(*t));
    struct target_config c2 = *cfg;
    c2.region = region;
    target__init(t, &awst_vtable, &c2);
    struct awst *a = smf_xcalloc(1, sizeof(*a));
    t->impl = a;
    t->account_id = b.account;
    b.account = NULL;
    a->default_bucket = smf_xasprintf("sagemaker-%s-%s", region, t->account_id);
    a->share_dir = cfg->share_dir ? smf_xstrdup(cfg->share_dir) : NULL;
    a->poll_min_ms = (int64_t)env_num("SMFLOW_AWS_POLL_MS", 5000);
    a->poll_max_ms = (int64_t)env_num("SMFLOW_AWS_POLL_MAX_MS", 60000);
    rc = boot_client(cfg->loop, sc, region, &b.creds, &a->client, err);
  }
  if (rc == 0 && b.creds.expiration_ms != 0) {
    rc = awst_refresh_start(t, sc, err);
  }
  if (rc == 0) {
    double rate = env_num("SMFLOW_AWS_DESCRIBE_RATE", 5);
    aws_client_set_rate(awst_of(t)->client, AWS_SVC_SAGEMAKER, "Describe", rate, rate * 2);
    aws_client_set_rate(awst_of(t)->client, AWS_SVC_SAGEMAKER, "List", rate, rate * 2);
    aws_client_set_rate(awst_of(t)->client, AWS_SVC_LOGS, "Get", rate, rate * 2);
    aws_client_set_rate(awst_of(t)->client, AWS_SVC_LOGS, "Describe", rate, rate * 2);
    *out = t;
  } else if (t) {
    target_free(t);
  }
  aws_creds_clear(&b.creds);
  free(b.account);
  aws_shared_config_free(sc);
  if (rc == SMF_ENOENT) {  // no region: a setup error, not "no such object"
    rc = err->code = SMF_EINVAL;
  }
  if (rc != 0 && err->klass == SMF_CLASS_NONE) {
    err->klass = SMF_CLASS_CLIENT;
  }
  return rc;
}

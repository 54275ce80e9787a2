// creds_provider.c: runs a credential plan (creds_chain.c) asynchronously,
// caches the result and refreshes it before it expires.
//
// A fetch is a small state machine per plan node. An AssumeRole node first
// fetches its source's credentials (a child fetch), then calls STS with them.
// Only one top-level fetch runs at a time; every get() that arrives meanwhile
// waits for it. All callbacks run from the HTTP client's completion callbacks,
// i.e. from the loop, never from inside get().
#include <stdlib.h>
#include <string.h>

#include "aws/creds_fetch.h"
#include "aws/http.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

#define PROVIDER_REFRESH_EARLY_MS (5 * 60 * 1000)
#define PROVIDER_TIMEOUT_MS 5000

struct provider_waiter {
  aws_creds_fn cb;
  void *data;
  struct provider_waiter *next;
};

struct aws_creds_provider {
  struct aws_http *http;
  struct aws_creds_plan *plan;
  struct aws_creds_provider_opts opts;
  struct aws_creds cached;         // empty until the first fetch succeeds
  struct aws__creds_fetch *fetch;  // top-level fetch in flight, or NULL
  struct provider_waiter *waiters, **waiters_tail;
  unsigned fetches;
  unsigned in_flight;  // fetches not yet completed (incl. cancelled ones)
  bool closing;
};

static int64_t provider_now(const struct aws_creds_provider *p)
{
  return p->opts.now_ms ? p->opts.now_ms(p->opts.now_data) : smf_time_now_ms();
}

static bool provider_fresh(const struct aws_creds_provider *p, int64_t margin_ms)
{
  if (!aws_creds_valid(&p->cached)) {
    return false;
  }
  return p->cached.expiration_ms == 0 || provider_now(p) + margin_ms < p->cached.expiration_ms;
}

int aws_creds_provider_new(struct aws_http *http, struct aws_creds_plan *plan,
                           const struct aws_creds_provider_opts *opts,
                           struct aws_creds_provider **out, struct smf_error *err)
{
  if (plan == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "credentials provider needs a plan");
  }
  if (http == NULL && plan->kind != AWS_CREDS_KIND_STATIC) {
    aws_creds_plan_free(plan);
    return SMF_ERR_SET(err, SMF_EINVAL, "credentials provider '%s' needs an HTTP client",
                       plan->provider);
  }
  struct aws_creds_provider *p = smf_xcalloc(1, sizeof(*p));
  p->http = http;
  p->plan = plan;
  if (opts) {
    p->opts = *opts;
  }
  if (p->opts.refresh_early_ms <= 0) {
    p->opts.refresh_early_ms = PROVIDER_REFRESH_EARLY_MS;
  }
  if (p->opts.timeout_ms <= 0) {
    p->opts.timeout_ms = PROVIDER_TIMEOUT_MS;
  }
  p->waiters_tail = &p->waiters;
  if (plan->kind == AWS_CREDS_KIND_STATIC) {
    aws_creds_copy(&p->cached, &plan->creds);
  }
  *out = p;
  return 0;
}

int aws_creds_provider_default(struct aws_http *http, const char *profile,
                               const struct aws_creds_provider_opts *opts,
                               struct aws_creds_provider **out, char *region_out, size_t region_len,
                               struct smf_error *err)
{
  struct aws_shared_config *c = NULL;
  struct aws_creds_plan *plan = NULL;
  *out = NULL;
  int rc = aws_shared_config_load(profile, &c, err);
  if (rc == 0) {
    rc = aws_creds_plan_resolve(c, &plan, err);
  }
  if (rc == 0 && region_out != NULL && region_len > 0) {
    region_out[0] = '\0';
    if (aws_region_resolve(c, region_out, region_len, NULL) != 0) {
      region_out[0] = '\0';
    }
  }
  aws_shared_config_free(c);
  if (rc == 0) {
    rc = aws_creds_provider_new(http, plan, opts, out, err);  // takes the plan
  }
  return rc;
}

static void provider_free(struct aws_creds_provider *p)
{
  aws_creds_clear(&p->cached);
  aws_creds_plan_free(p->plan);
  free(p);
}

// Hand the outcome to every waiter. creds NULL = failure described by err.
static void provider_notify(struct aws_creds_provider *p, const struct aws_creds *creds,
                            const struct smf_error *err)
{
  struct provider_waiter *w = p->waiters;
  p->waiters = NULL;
  p->waiters_tail = &p->waiters;
  while (w != NULL) {
    struct provider_waiter *next = w->next;
    w->cb(creds, creds ? NULL : err, w->data);
    free(w);
    w = next;
  }
}

// A top-level fetch finished (rc 0: *creds holds the result).
static void provider_fetch_done(void *data, int rc, struct aws_creds *creds,
                                const struct smf_error *err)
{
  struct aws_creds_provider *p = data;
  p->in_flight--;
  if (!p->closing) {
    p->fetch = NULL;
  }
  if (p->closing) {
    struct smf_error cancelled = SMF_ERROR_INIT;
    SMF_ERR_SET(&cancelled, SMF_ECANCELLED, "credentials provider closed");
    provider_notify(p, NULL, &cancelled);
    if (p->in_flight == 0) {
      provider_free(p);
    }
    return;
  }
  if (rc == 0) {
    aws_creds_clear(&p->cached);
    aws_creds_copy(&p->cached, creds);
    provider_notify(p, &p->cached, NULL);
  } else if (provider_fresh(p, 0)) {
    provider_notify(p, &p->cached, NULL);  // refresh failed, old ones still work
  } else {
    provider_notify(p, NULL, err);
  }
}

int aws_creds_provider_get(struct aws_creds_provider *p, struct aws_creds *out, aws_creds_fn cb,
                           void *data, struct smf_error *err)
{
  if (p->closing) {
    return SMF_ERR_SET(err, SMF_ECANCELLED, "credentials provider closed");
  }
  if (provider_fresh(p, p->opts.refresh_early_ms)) {
    aws_creds_copy(out, &p->cached);
    return 0;
  }
  if (p->plan->kind == AWS_CREDS_KIND_STATIC) {
    return SMF_ERR_SET(err, SMF_ECREDS, "static credentials are empty");
  }
  if (p->fetch == NULL) {
    struct aws__creds_fetch_env env = {
        .http = p->http,
        .timeout_ms = p->opts.timeout_ms,
        .now_ms = p->opts.now_ms,
        .now_data = p->opts.now_data,
        .counter = &p->fetches,
    };
    int rc = aws__creds_fetch_start(&env, p->plan, provider_fetch_done, p, &p->fetch, err);
    if (rc != 0) {
      return rc;
    }
    p->in_flight++;
  }
  struct provider_waiter *w = smf_xcalloc(1, sizeof(*w));
  w->cb = cb;
  w->data = data;
  *p->waiters_tail = w;
  p->waiters_tail = &w->next;
  return AWS_CREDS_PENDING;
}

void aws_creds_provider_close(struct aws_creds_provider *p)
{
  if (p == NULL) {
    return;
  }
  p->closing = true;
  if (p->in_flight == 0) {
    provider_free(p);
    return;
  }
  aws__creds_fetch_cancel(p->fetch);
}

unsigned aws_creds_provider_fetches(const struct aws_creds_provider *p)
{
  return p->fetches;
}

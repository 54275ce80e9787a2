// refresh.c: credentials that expire (assumed roles, web identity, container
// and instance credentials) are refreshed during the run: a provider running
// the same plan lives on the run's loop and, every SMFLOW_AWS_CREDS_CHECK_MS
// (default 60 s), is asked for credentials; it fetches new ones when the
// cached ones come within its refresh margin of their expiry
// (SMFLOW_AWS_CREDS_REFRESH_EARLY_MS, default 5 minutes) and the client signs
// with them from then on. The timer does not keep the loop alive.
#include <stdlib.h>

#include "aws/http.h"
#include "smflow/log.h"
#include "target/aws/awst.h"

struct awst_refresh {
  struct target *t;
  struct aws_http *http;
  struct aws_creds_provider *provider;
  uv_timer_t timer;
  bool pending;       ///< a fetch is in flight: its callback comes
  bool timer_closed;  ///< closed: freed by whichever comes last
};

static void refresh_got(const struct aws_creds *creds, const struct smf_error *err, void *data)
{
  struct awst_refresh *r = data;
  r->pending = false;
  if (r->timer_closed) {  // closed while fetching (the fetch was cancelled)
    free(r);
    return;
  }
  struct awst *a = awst_of(r->t);
  if (a->closing) {
    return;
  }
  if (creds == NULL) {
    smf_log(SMF_LOG_WARN, "aws: refreshing credentials failed: %s",
            err ? err->message : "unknown error");
    return;
  }
  aws_client_set_creds(a->client, creds);
  a->creds_refreshes++;
}

static void refresh_tick(uv_timer_t *h)
{
  struct awst_refresh *r = h->data;
  if (r->pending) {
    return;
  }
  struct aws_creds c = AWS_CREDS_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  int rc = aws_creds_provider_get(r->provider, &c, refresh_got, r, &err);
  if (rc == AWS_CREDS_PENDING) {
    r->pending = true;
  } else if (rc == 0) {
    aws_client_set_creds(awst_of(r->t)->client, &c);
    aws_creds_clear(&c);
  } else {
    smf_log(SMF_LOG_WARN, "aws: refreshing credentials failed: %s", err.message);
  }
}

static int64_t env_ms(const char *name, int64_t dflt)
{
  const char *v = getenv(name);
  long long n = v && *v ? atoll(v) : 0;
  return n > 0 ? (int64_t)n : dflt;
}

int awst_refresh_start(struct target *t, const struct aws_shared_config *sc, struct smf_error *err)
{
  struct aws_creds_plan *plan = NULL;
  int rc = aws_creds_plan_resolve(sc, &plan, err);
  if (rc != 0) {
    return rc;
  }
  struct awst_refresh *r = smf_xcalloc(1, sizeof(*r));
  r->t = t;
  if ((rc = aws_http_new(t->loop, &r->http, err)) != 0) {
    aws_creds_plan_free(plan);
    free(r);
    return rc;
  }
  struct aws_creds_provider_opts opts = {.refresh_early_ms =
                                             env_ms("SMFLOW_AWS_CREDS_REFRESH_EARLY_MS", 0)};
  if ((rc = aws_creds_provider_new(r->http, plan, &opts, &r->provider, err)) != 0) {
    aws_http_close(r->http, NULL, NULL);
    free(r);
    return rc;
  }
  int64_t every = env_ms("SMFLOW_AWS_CREDS_CHECK_MS", 60000);
  uv_timer_init(t->loop, &r->timer);
  r->timer.data = r;
  uv_timer_start(&r->timer, refresh_tick, (uint64_t)every, (uint64_t)every);
  uv_unref((uv_handle_t *)&r->timer);
  awst_of(t)->refresh = r;
  return 0;
}

static void refresh_closed(uv_handle_t *h)
{
  struct awst_refresh *r = h->data;
  r->timer_closed = true;
  if (!r->pending) {
    free(r);
  }
}

void awst_refresh_close(struct target *t)
{
  struct awst_refresh *r = awst_of(t)->refresh;
  if (r == NULL) {
    return;
  }
  awst_of(t)->refresh = NULL;
  aws_creds_provider_close(r->provider);  // a pending callback runs later: it sees closing
  aws_http_close(r->http, NULL, NULL);
  uv_close((uv_handle_t *)&r->timer, refresh_closed);
}

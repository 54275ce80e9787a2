// client.c: the AWS client object: settings, credentials, endpoints, rate
// rules, and the translation of AWS error answers into struct smf_error.
// The life of one call (sign, send, retry) is in call.c.
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws/client_int.h"
#include "aws/xml.h"
#include "smflow/crypto_lib.h"
#include "smflow/log.h"

static const struct {
  const char *host_prefix;  // "<prefix>.<region>.amazonaws.com"
  const char *signing;
  const char *label;  // in messages
} svc_info[AWS_SVC__COUNT] = {
    [AWS_SVC_S3] = {"s3", "s3", "S3"},
    [AWS_SVC_SAGEMAKER] = {"api.sagemaker", "sagemaker", "SageMaker"},
    [AWS_SVC_STS] = {"sts", "sts", "STS"},
    [AWS_SVC_LOGS] = {"logs", "logs", "CloudWatch Logs"},
    [AWS_SVC_RUNTIME] = {"runtime.sagemaker", "sagemaker", "SageMaker Runtime"},
};

const char *aws__signing_region(struct aws_client *c, enum aws_service svc)
{
  return c->signing_region[svc];
}

const char *aws__service_signing_name(enum aws_service svc)
{
  return svc_info[svc].signing;
}

const char *aws__service_label(enum aws_service svc)
{
  return svc_info[svc].label;
}

static int parse_attempts(const char *v)
{
  if (v && *v) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 100) {
      return (int)n;
    }
  }
  return 0;
}

// As the SDKs: AWS_MAX_ATTEMPTS, then the profile's max_attempts, then 3.
static int default_max_attempts(const struct aws_shared_config *sc)
{
  int n = parse_attempts(getenv("AWS_MAX_ATTEMPTS"));
  if (n == 0 && sc) {
    n = parse_attempts(aws_shared_config_get(sc, NULL, "max_attempts"));
  }
  return n ? n : AWS_RETRY_MAX_ATTEMPTS;
}

int aws_client_new(struct uv_loop_s *loop, const struct aws_client_config *cfg,
                   struct aws_client **out, struct smf_error *err)
{
  *out = NULL;
  if (!cfg || !cfg->region || !*cfg->region) {
    return SMF_ERR_SET(err, SMF_EINVAL, "AWS client: no region");
  }
  // Signing, checksums and credentials need libcrypto: a client is not made
  // without it (loaded at run time, crypto_lib.h).
  int rc = smf_crypto_load(err);
  if (rc != 0) {
    return rc;
  }
  struct aws_client *c = smf_xcalloc(1, sizeof *c);
  rc = aws_http_new(loop, &c->http, err);
  if (rc != 0) {
    free(c);
    return rc;
  }
  c->signer = aws_sigv4_signer_new();
  c->loop = loop;
  c->region = smf_xstrdup(cfg->region);
  for (int i = 0; i < AWS_SVC__COUNT; i++) {
    snprintf(c->signing_region[i], sizeof c->signing_region[i], "%s", cfg->region);
    if (cfg->endpoint_url) {
      c->endpoints[i] = smf_xstrdup(cfg->endpoint_url);
      c->overridden[i] = true;
      continue;
    }
    struct aws_endpoint ep;
    rc = aws_endpoint_resolve(cfg->shared_config, (enum aws_service)i, cfg->region, &ep, err);
    if (rc != 0) {
      aws_client_close(c, NULL, NULL);
      return rc;
    }
    c->endpoints[i] = smf_xstrdup(ep.url);
    c->overridden[i] = ep.overridden || ep.s3_path_style;
    snprintf(c->signing_region[i], sizeof c->signing_region[i], "%s", ep.signing_region);
  }
  c->path_style = cfg->s3_path_style;
  const char *ca = cfg->ca_bundle ? cfg->ca_bundle : getenv("AWS_CA_BUNDLE");
  if ((!ca || !*ca) && cfg->shared_config) {
    ca = aws_shared_config_get(cfg->shared_config, NULL, "ca_bundle");
  }
  c->ca_bundle = ca && *ca ? smf_xstrdup(ca) : NULL;
  c->virtual_style = cfg->s3_virtual_style && !cfg->s3_path_style;
  c->max_attempts =
      cfg->max_attempts > 0 ? cfg->max_attempts : default_max_attempts(cfg->shared_config);
  c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
  c->timeout_ms = cfg->timeout_ms;
  c->read_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : 60000;
  aws_retry_quota_init(&c->quota, AWS_RETRY_QUOTA_CAPACITY);
  aws_rand_seed(&c->rand, cfg->random_seed ? cfg->random_seed
                                           : (uv_hrtime() ^ ((uint64_t)getpid() << 32)));
  *out = c;
  return 0;
}

static void client_http_closed(void *data)
{
  struct aws_client *c = data;
  void (*cb)(void *) = c->close_cb;
  void *cb_data = c->close_data;
  aws_sigv4_signer_free(c->signer);
  aws_creds_clear(&c->creds);
  free(c->region);
  free(c->ca_bundle);
  for (int i = 0; i < AWS_SVC__COUNT; i++) {
    free(c->endpoints[i]);
  }
  for (size_t i = 0; i < c->nrates; i++) {
    free(c->rates[i].prefix);
  }
  free(c->rates);
  free(c);
  if (cb) {
    cb(cb_data);
  }
}

void aws_client_close(struct aws_client *c, void (*cb)(void *data), void *data)
{
  if (c->closing) {
    return;
  }
  c->closing = true;
  c->close_cb = cb;
  c->close_data = data;
  if (c->ncalls == 0) {
    aws_http_close(c->http, client_http_closed, c);
    return;
  }
  for (struct aws_call *call = c->calls; call; call = call->next) {
    aws_call_cancel(call);
  }
}

void aws__client_call_gone(struct aws_client *c, struct aws_call *call)
{
  if (call->prev) {
    call->prev->next = call->next;
  } else {
    c->calls = call->next;
  }
  if (call->next) {
    call->next->prev = call->prev;
  }
  call->prev = call->next = NULL;
  c->ncalls--;
  if (c->closing && c->ncalls == 0) {
    aws_http_close(c->http, client_http_closed, c);
  }
}

void aws_client_set_creds(struct aws_client *c, const struct aws_creds *creds)
{
  aws_creds_clear(&c->creds);
  if (creds) {
    aws_creds_copy(&c->creds, creds);
  }
}

void aws_client_set_endpoint(struct aws_client *c, enum aws_service svc, const char *url)
{
  free(c->endpoints[svc]);
  c->endpoints[svc] = url ? smf_xstrdup(url) : NULL;
  c->overridden[svc] = url != NULL;
}

void aws_client_set_creds_provider(struct aws_client *c, struct aws_creds_provider *p)
{
  c->provider = p;
}

struct aws_http *aws_client_http(struct aws_client *c)
{
  return c->http;
}

void aws_client_set_rate(struct aws_client *c, enum aws_service svc, const char *op_prefix,
                         double rate, double burst)
{
  c->rates = smf_xrealloc(c->rates, (c->nrates + 1) * sizeof *c->rates);
  struct aws__rate_rule *r = &c->rates[c->nrates++];
  r->svc = svc;
  r->prefix = smf_xstrdup(op_prefix ? op_prefix : "");
  aws_rate_bucket_init(&r->bucket, rate, burst, (int64_t)uv_now(c->loop));
}

int64_t aws_client_clock_skew_ms(const struct aws_client *c)
{
  return c->skew_ms;
}

int aws_client_retry_quota(const struct aws_client *c)
{
  return c->quota.available;
}

uint64_t aws_client_attempts(const struct aws_client *c)
{
  return c->attempts;
}

static bool host_is_ip_or_local(const char *host)
{
  unsigned char tmp[16];
  char h[256];
  snprintf(h, sizeof h, "%s", host);
  size_t n = strlen(h);
  if (n > 2 && h[0] == '[' && h[n - 1] == ']') {  // [::1]
    h[n - 1] = '\0';
    memmove(h, h + 1, n - 1);
  }
  return inet_pton(AF_INET, h, tmp) == 1 || inet_pton(AF_INET6, h, tmp) == 1 ||
         strcasecmp(h, "localhost") == 0;
}

int aws__endpoint(struct aws_client *c, enum aws_service svc, const char *bucket,
                  struct smf_buf *origin, struct smf_buf *host, bool *path_style,
                  struct smf_error *err)
{
  char *def = NULL;
  const char *url = c->endpoints[svc];
  if (!url) {
    def = smf_xasprintf("https://%s.%s.amazonaws.com", svc_info[svc].host_prefix, c->region);
    url = def;
  }
  struct aws_http_url u;
  int rc = 0;
  if (aws_http_url_split(url, &u) != 0) {
    rc = SMF_ERR_SET(err, SMF_EINVAL, "bad endpoint URL '%s'", url);
    goto fail;
  }
  const char *scheme = u.scheme, *h = u.host, *port = u.port, *path = u.path;
  *path_style = false;
  if (svc == AWS_SVC_S3 && bucket) {
    if (c->virtual_style) {
      *path_style = !aws_s3_bucket_virtual_ok(bucket);
    } else {
      *path_style = c->path_style || c->overridden[svc] || host_is_ip_or_local(h) ||
                    !aws_s3_bucket_virtual_ok(bucket);
    }
  }
  smf_buf_reset(host);
  if (svc == AWS_SVC_S3 && bucket && !*path_style) {
    smf_buf_printf(host, "%s.", bucket);
  }
  smf_buf_puts(host, h);
  if (port) {
    smf_buf_printf(host, ":%s", port);
  }
  smf_buf_reset(origin);
  smf_buf_printf(origin, "%s://%s", scheme, smf_buf_cstr(host));
  if (path && strcmp(path, "/") != 0) {
    size_t n = strlen(path);
    smf_buf_append(origin, path, path[n - 1] == '/' ? n - 1 : n);
  }
  aws_http_url_clear(&u);
fail:
  free(def);
  return rc;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
  snprintf(dst, cap, "%s", src ? src : "");
}

static void parse_json_error(const struct aws_http_req *req, char *code, size_t code_cap,
                             char *msg, size_t msg_cap)
{
  json_t *j = json_loadb(req->body.data, req->body.len, 0, NULL);
  if (!j) {
    return;
  }
  const char *t = json_string_value(json_object_get(j, "__type"));
  if (!t) {
    t = json_string_value(json_object_get(j, "code"));
  }
  if (t) {
    const char *hash = strrchr(t, '#');
    copy_field(code, code_cap, hash ? hash + 1 : t);
  }
  const char *m = json_string_value(json_object_get(j, "message"));
  if (!m) {
    m = json_string_value(json_object_get(j, "Message"));
  }
  if (m) {
    copy_field(msg, msg_cap, m);
  }
  json_decref(j);
}

static void parse_xml_error(const struct aws_http_req *req, char *code, size_t code_cap,
                            char *msg, size_t msg_cap, char *rid, size_t rid_cap)
{
  struct aws_xml_doc doc;
  if (aws_xml_parse(req->body.data, req->body.len, &doc, NULL) != 0) {
    return;
  }
  const struct aws_xml_node *e = aws_xml_find(doc.root, "Error");
  if (e) {
    const char *v = aws_xml_child_text(e, "Code");
    if (v) {
      copy_field(code, code_cap, v);
    }
    if ((v = aws_xml_child_text(e, "Message")) != NULL) {
      copy_field(msg, msg_cap, v);
    }
  }
  const struct aws_xml_node *r = aws_xml_find(doc.root, "RequestId");
  if (r && !rid[0]) {
    copy_field(rid, rid_cap, r->text);
  }
  aws_xml_free(&doc);
}

static const char *status_code_name(long status)
{
  switch (status) {
    case 304: return "NotModified";
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 412: return "PreconditionFailed";
    default: return status >= 500 ? "InternalError" : "UnknownError";
  }
}

static enum smf_errclass error_class(long status, const char *code)
{
  if (aws_retry_is_throttle_code(code)) {
    return SMF_CLASS_THROTTLING;
  }
  if (strcmp(code, "ResourceLimitExceeded") == 0) {
    return SMF_CLASS_RESOURCE_LIMIT;
  }
  return status >= 500 ? SMF_CLASS_INTERNAL_SERVER : SMF_CLASS_CLIENT;
}

void aws__parse_error(const struct aws_http_req *req, enum aws_service svc, const char *op,
                      struct smf_error *err)
{
  char code[96] = "", msg[512] = "", rid[96] = "";
  const char *h = aws_http_req_header_get(req, "x-amz-request-id");
  if (!h) {
    h = aws_http_req_header_get(req, "x-amzn-RequestId");
  }
  copy_field(rid, sizeof rid, h);
  const char *body = req->body.data ? req->body.data : "";
  while (*body == ' ' || *body == '\n' || *body == '\r' || *body == '\t') {
    body++;
  }
  if (*body == '{') {
    parse_json_error(req, code, sizeof code, msg, sizeof msg);
  } else if (*body == '<') {
    parse_xml_error(req, code, sizeof code, msg, sizeof msg, rid, sizeof rid);
  }
  const char *etype = aws_http_req_header_get(req, "x-amzn-ErrorType");
  if (!code[0] && etype) {
    size_t n = strcspn(etype, ":");
    snprintf(code, sizeof code, "%.*s", (int)n, etype);
  }
  if (!code[0]) {
    copy_field(code, sizeof code, status_code_name(req->status));
  }
  int rc = req->status == 404 ? SMF_ENOENT : SMF_EAWS;
  SMF_ERR_SET(err, rc, "%s %s: HTTP %ld %s%s%s%s%s%s", svc_info[svc].label, op, req->status, code,
              msg[0] ? ": " : "", msg, rid[0] ? " (request id " : "", rid, rid[0] ? ")" : "");
  err->http_status = (int)req->status;
  copy_field(err->aws_code, sizeof err->aws_code, code);
  copy_field(err->request_id, sizeof err->request_id, rid);
  err->klass = error_class(req->status, code);
}

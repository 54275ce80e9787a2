// creds_fetch.c: the network credential providers, on the asynchronous HTTP
// client: STS AssumeRole (signed with the source credentials), STS
// AssumeRoleWithWebIdentity (unsigned), the container credentials endpoint and
// EC2 instance metadata (IMDSv2: PUT a session token, GET the role, GET its
// credentials).
//
// Response bodies hold secrets: they are zeroed before their memory is reused.
#include "aws/creds_fetch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/http.h"
#include "aws/sigv4.h"
#include "aws/xml.h"
#include "smflow/crypto_lib.h"
#include "smflow/error.h"
#include "smflow/util.h"

#define IMDS_TOKEN_TTL "21600"
#define STS_VERSION "2011-06-15"
#define TOKEN_FILE_MAX (64 * 1024)

enum fetch_step { STEP_MAIN, STEP_IMDS_TOKEN, STEP_IMDS_ROLE, STEP_IMDS_CREDS };

struct aws__creds_fetch {
  struct aws__creds_fetch_env env;
  const struct aws_creds_plan *plan;
  aws__creds_fetch_cb cb;
  void *data;
  struct aws__creds_fetch *child;  // AssumeRole: the source's fetch
  struct aws_http_req req;
  enum fetch_step step;
  bool cancelled;
  char *imds_token;
  struct smf_buf body;  // request body (form), borrowed by req until completion
};

static void fetch_http_done(struct aws_http_req *req, void *data);

// ---- helpers ---------------------------------------------------------------

int aws__parse_time_ms(const char *s, int64_t *out)
{
  struct tm tm = {0};
  const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (rest == NULL) {
    return SMF_EINVAL;
  }
  if (*rest == '.') {
    rest++;
    while (*rest >= '0' && *rest <= '9') {
      rest++;
    }
  }
  if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0 && strcmp(rest, "") != 0) {
    return SMF_EINVAL;
  }
  *out = (int64_t)timegm(&tm) * 1000;
  return 0;
}

static void cleanse_buf(struct smf_buf *b)
{
  if (b->data) {
    smf_crypto_cleanse(b->data, b->cap);
  }
}

// Zero the response and release everything the request holds.
static void fetch_req_release(struct aws__creds_fetch *f)
{
  cleanse_buf(&f->req.body);
  aws_http_req_cleanup(&f->req);
}

static void fetch_free(struct aws__creds_fetch *f)
{
  fetch_req_release(f);
  if (f->imds_token) {
    smf_crypto_clear_free(f->imds_token, strlen(f->imds_token));
  }
  cleanse_buf(&f->body);
  smf_buf_free(&f->body);
  free(f);
}

// Report and free. creds may be NULL when rc != 0.
static void fetch_finish(struct aws__creds_fetch *f, int rc, struct aws_creds *creds,
                         const struct smf_error *err)
{
  aws__creds_fetch_cb cb = f->cb;
  void *data = f->data;
  fetch_free(f);
  cb(data, rc, creds, err);
}

static void fetch_fail(struct aws__creds_fetch *f, struct smf_error *err)
{
  fetch_finish(f, err->code ? err->code : SMF_EINTERNAL, NULL, err);
}

static int64_t fetch_now_ms(const struct aws__creds_fetch *f)
{
  return f->env.now_ms ? f->env.now_ms(f->env.now_data) : smf_time_now_ms();
}

// Start f->req (already reset) as METHOD URL with the given headers.
static int fetch_send(struct aws__creds_fetch *f, const char *method, const char *url,
                      const struct aws_sigv4_kv *headers, size_t n_headers, struct smf_error *err)
{
  aws_http_req_set(&f->req, method, url);
  for (size_t i = 0; i < n_headers; i++) {
    aws_http_req_header(&f->req, headers[i].name, headers[i].value);
  }
  if (f->body.len > 0 || strcmp(method, "POST") == 0) {
    aws_http_req_body_mem(&f->req, f->body.data ? f->body.data : "", f->body.len);
  }
  aws_http_req_max_response(&f->req, 1 << 20);
  aws_http_req_timeouts(&f->req, f->env.timeout_ms, f->env.timeout_ms);
  int rc = aws_http_req_start(f->env.http, &f->req, fetch_http_done, f, err);
  if (rc == 0 && f->env.counter) {
    (*f->env.counter)++;
  }
  return rc;
}

// Transport failure or non-2xx: fill *err. Returns 0 when the answer is a 2xx.
static int fetch_check_http(struct aws__creds_fetch *f, const char *what, struct smf_error *err)
{
  if (f->cancelled || f->req.result == SMF_ECANCELLED) {
    return SMF_ERR_SET(err, SMF_ECANCELLED, "%s: cancelled", what);
  }
  if (f->req.result != 0) {
    return SMF_ERR_SET(err, f->req.result, "%s: %s", what,
                       f->req.curl_error[0] ? f->req.curl_error : smf_strerror(f->req.result));
  }
  if (f->req.status < 200 || f->req.status > 299) {
    int rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: HTTP %ld", what, f->req.status);
    err->http_status = (int)f->req.status;
    return rc;
  }
  return 0;
}

static char *read_token_file(const char *path, struct smf_error *err)
{
  char *data = NULL;
  size_t len = 0;
  if (smf_file_read(path, &data, &len, err) != 0) {
    return NULL;
  }
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ')) {
    data[--len] = '\0';
  }
  if (len == 0 || len > TOKEN_FILE_MAX) {
    smf_crypto_clear_free(data, len);
    SMF_ERR_SET(err, SMF_ECREDS, "%s: token file is empty or too large", path);
    return NULL;
  }
  return data;
}

// ---- JSON answers: container endpoint, IMDS ----------------------------------

static void json_wipe(json_t *obj, const char *key)
{
  json_t *v = json_object_get(obj, key);
  if (json_is_string(v)) {
    smf_crypto_cleanse((char *)json_string_value(v), json_string_length(v));
  }
}

static int fetch_parse_json_creds(struct aws__creds_fetch *f, const char *what,
                                  struct aws_creds *out, struct smf_error *err)
{
  json_error_t jerr;
  json_t *root = json_loadb(f->req.body.data ? f->req.body.data : "", f->req.body.len, 0, &jerr);
  if (!json_is_object(root)) {
    json_decref(root);
    return SMF_ERR_SET(err, SMF_ECREDS, "%s: the answer is not a JSON object", what);
  }
  const char *code = json_string_value(json_object_get(root, "Code"));
  const char *id = json_string_value(json_object_get(root, "AccessKeyId"));
  const char *secret = json_string_value(json_object_get(root, "SecretAccessKey"));
  const char *token = json_string_value(json_object_get(root, "Token"));
  const char *exp = json_string_value(json_object_get(root, "Expiration"));
  int64_t exp_ms = 0;
  int rc = 0;
  if (code && strcmp(code, "Success") != 0) {
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: Code %s", what, code);
  } else if (id == NULL || secret == NULL) {
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: no AccessKeyId/SecretAccessKey in the answer", what);
  } else if (exp && aws__parse_time_ms(exp, &exp_ms) != 0) {
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: bad Expiration '%s'", what, exp);
  } else {
    aws_creds_set(out, id, secret, token, exp_ms, f->plan->provider);
  }
  json_wipe(root, "SecretAccessKey");
  json_wipe(root, "Token");
  json_decref(root);
  return rc;
}

// ---- STS ---------------------------------------------------------------------

static void form_add(struct smf_buf *b, const char *name, const char *value)
{
  if (b->len > 0) {
    smf_buf_append(b, "&", 1);
  }
  smf_buf_puts(b, name);
  smf_buf_append(b, "=", 1);
  aws_sigv4_uri_encode(b, value, strlen(value), false);
}

// POST the form in f->body to STS, signed with `creds` unless it is NULL.
static int fetch_sts_send(struct aws__creds_fetch *f, const struct aws_creds *creds,
                          struct smf_error *err)
{
  struct aws_endpoint ep;
  int rc = aws_endpoint_resolve(NULL, AWS_SVC_STS, f->plan->region, &ep, err);
  if (rc != 0) {
    return rc;
  }
  char path[300];
  snprintf(path, sizeof(path), "%s/", ep.base_path);
  char *url = smf_xasprintf("%s/", ep.url);
  struct aws_sigv4_kv headers[2 + AWS_SIGV4_MAX_ADD] = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
  };
  size_t nh = 1;
  struct aws_sigv4_result sig = AWS_SIGV4_RESULT_INIT;
  struct aws_sigv4_signer *signer = NULL;
  if (creds != NULL) {
    struct aws_sigv4_kv to_sign[] = {{"Host", ep.host}, headers[0]};
    struct aws_sigv4_request sr = {.method = "POST",
                                   .path = path,
                                   .headers = to_sign,
                                   .n_headers = 2,
                                   .body = f->body.data,
                                   .body_len = f->body.len};
    struct aws_sigv4_config cfg = {.creds = creds,
                                   .region = ep.signing_region,
                                   .service = ep.signing_name,
                                   .time_s = fetch_now_ms(f) / 1000,
                                   .flags = AWS_SIGV4_FLAGS_DEFAULT};
    signer = aws_sigv4_signer_new();
    rc = aws_sigv4_sign_headers(signer, &sr, &cfg, &sig, err);
    for (size_t i = 0; rc == 0 && i < sig.n_add; i++) {
      headers[nh++] = sig.add[i];
    }
  }
  if (rc == 0) {
    rc = fetch_send(f, "POST", url, headers, nh, err);
  }
  aws_sigv4_result_free(&sig);
  aws_sigv4_signer_free(signer);
  free(url);
  return rc;
}

static int fetch_sts_assume_role(struct aws__creds_fetch *f, const struct aws_creds *source,
                                 struct smf_error *err)
{
  const struct aws_creds_plan *p = f->plan;
  smf_buf_reset(&f->body);
  form_add(&f->body, "Action", "AssumeRole");
  form_add(&f->body, "Version", STS_VERSION);
  form_add(&f->body, "RoleArn", p->role_arn);
  form_add(&f->body, "RoleSessionName", p->session_name);
  if (p->external_id) {
    form_add(&f->body, "ExternalId", p->external_id);
  }
  if (p->duration_s > 0) {
    char d[16];
    snprintf(d, sizeof(d), "%d", p->duration_s);
    form_add(&f->body, "DurationSeconds", d);
  }
  return fetch_sts_send(f, source, err);
}

static int fetch_sts_web_identity(struct aws__creds_fetch *f, struct smf_error *err)
{
  const struct aws_creds_plan *p = f->plan;
  char *token = read_token_file(p->token_file, err);
  if (token == NULL) {
    return err && err->code ? err->code : SMF_ECREDS;
  }
  smf_buf_reset(&f->body);
  form_add(&f->body, "Action", "AssumeRoleWithWebIdentity");
  form_add(&f->body, "Version", STS_VERSION);
  form_add(&f->body, "RoleArn", p->role_arn);
  form_add(&f->body, "RoleSessionName", p->session_name);
  form_add(&f->body, "WebIdentityToken", token);
  smf_crypto_clear_free(token, strlen(token));
  return fetch_sts_send(f, NULL, err);
}

// Zero the text of every element below n (the Credentials element).
static void xml_wipe(const struct aws_xml_node *n)
{
  for (const struct aws_xml_node *c = n ? n->child : NULL; c != NULL; c = c->next) {
    smf_crypto_cleanse((char *)c->text, strlen(c->text));
  }
}

static int fetch_sts_parse(struct aws__creds_fetch *f, struct aws_creds *out, struct smf_error *err)
{
  const char *what = f->plan->kind == AWS_CREDS_KIND_ASSUME_ROLE ? "sts:AssumeRole"
                                                                 : "sts:AssumeRoleWithWebIdentity";
  struct aws_xml_doc doc = {0};
  int rc = 0;
  if (f->req.result == 0 && f->req.body.len > 0 &&
      aws_xml_parse(f->req.body.data, f->req.body.len, &doc, NULL) == 0 &&
      (f->req.status < 200 || f->req.status > 299)) {
    const struct aws_xml_node *e = aws_xml_find(doc.root, "Error");
    const char *code = e ? aws_xml_child_text(e, "Code") : NULL;
    const char *msg = e ? aws_xml_child_text(e, "Message") : NULL;
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s %s: HTTP %ld %s: %s", what, f->plan->role_arn,
                     f->req.status, code ? code : "", msg ? msg : "");
    err->http_status = (int)f->req.status;
    snprintf(err->aws_code, sizeof(err->aws_code), "%s", code ? code : "");
    const char *rid =
        aws_xml_find(doc.root, "RequestId") ? aws_xml_find(doc.root, "RequestId")->text : "";
    snprintf(err->request_id, sizeof(err->request_id), "%s", rid);
    aws_xml_free(&doc);
    return rc;
  }
  rc = fetch_check_http(f, what, err);
  if (rc != 0) {
    aws_xml_free(&doc);
    return rc;
  }
  const struct aws_xml_node *c = doc.root ? aws_xml_find(doc.root, "Credentials") : NULL;
  const char *id = c ? aws_xml_child_text(c, "AccessKeyId") : NULL;
  const char *secret = c ? aws_xml_child_text(c, "SecretAccessKey") : NULL;
  const char *token = c ? aws_xml_child_text(c, "SessionToken") : NULL;
  const char *exp = c ? aws_xml_child_text(c, "Expiration") : NULL;
  int64_t exp_ms = 0;
  if (id == NULL || secret == NULL || token == NULL) {
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: no Credentials in the answer", what);
  } else if (exp == NULL || aws__parse_time_ms(exp, &exp_ms) != 0) {
    rc = SMF_ERR_SET(err, SMF_ECREDS, "%s: bad Expiration in the answer", what);
  } else {
    aws_creds_set(out, id, secret, token, exp_ms, f->plan->provider);
  }
  xml_wipe(c);
  aws_xml_free(&doc);
  return rc;
}

// ---- IMDSv2 ------------------------------------------------------------------

static int fetch_imds_next(struct aws__creds_fetch *f, const char *role, struct smf_error *err)
{
  const char *url_base = f->plan->url;
  fetch_req_release(f);
  if (f->step == STEP_IMDS_TOKEN) {
    char *url = smf_xasprintf("%s/latest/api/token", url_base);
    struct aws_sigv4_kv h[] = {{"X-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL}};
    int rc = fetch_send(f, "PUT", url, h, 1, err);
    free(url);
    return rc;
  }
  struct aws_sigv4_kv h[] = {{"X-aws-ec2-metadata-token", f->imds_token}};
  char *url =
      smf_xasprintf("%s/latest/meta-data/iam/security-credentials/%s", url_base, role ? role : "");
  int rc = fetch_send(f, "GET", url, h, 1, err);
  free(url);
  return rc;
}

// One IMDS answer arrived: move to the next step, or finish.
static void fetch_imds_done(struct aws__creds_fetch *f)
{
  struct smf_error err = SMF_ERROR_INIT;
  static const char *const what[] = {"", "IMDS token", "IMDS role", "IMDS credentials"};
  int rc = fetch_check_http(f, what[f->step], &err);
  if (rc == 0 && f->step == STEP_IMDS_CREDS) {
    struct aws_creds creds = AWS_CREDS_INIT;
    rc = fetch_parse_json_creds(f, what[f->step], &creds, &err);
    if (rc == 0) {
      fetch_finish(f, 0, &creds, NULL);
      aws_creds_clear(&creds);
      return;
    }
  }
  char *role = NULL;
  if (rc == 0 && f->step == STEP_IMDS_TOKEN) {
    const char *body = smf_buf_cstr(&f->req.body);
    f->imds_token = smf_xstrndup(body, strcspn(body, "\r\n"));
  } else if (rc == 0) {
    const char *body = smf_buf_cstr(&f->req.body);
    role = smf_xstrndup(body, strcspn(body, "\r\n"));
    if (*role == '\0' || strpbrk(role, "/?#% ") != NULL) {
      rc = SMF_ERR_SET(&err, SMF_ECREDS, "IMDS: no usable instance role in the answer");
    }
  }
  if (rc == 0) {
    f->step++;
    rc = fetch_imds_next(f, role, &err);
  }
  free(role);
  if (rc != 0) {
    fetch_fail(f, &err);
  }
}

// ---- the state machine ---------------------------------------------------------

static void fetch_http_done(struct aws_http_req *req, void *data)
{
  (void)req;
  struct aws__creds_fetch *f = data;
  struct smf_error err = SMF_ERROR_INIT;
  struct aws_creds creds = AWS_CREDS_INIT;
  int rc = 0;
  switch (f->plan->kind) {
  case AWS_CREDS_KIND_ASSUME_ROLE:
  case AWS_CREDS_KIND_WEB_IDENTITY:
    rc = f->cancelled ? SMF_ERR_SET(&err, SMF_ECANCELLED, "cancelled")
                      : fetch_sts_parse(f, &creds, &err);
    break;
  case AWS_CREDS_KIND_CONTAINER:
    rc = fetch_check_http(f, "container credentials", &err);
    if (rc == 0) {
      rc = fetch_parse_json_creds(f, "container credentials", &creds, &err);
    }
    break;
  case AWS_CREDS_KIND_IMDS:
    fetch_imds_done(f);
    return;
  case AWS_CREDS_KIND_STATIC:
    rc = SMF_ERR_SET(&err, SMF_EINTERNAL, "static credentials need no fetch");
    break;
  }
  if (rc == 0) {
    fetch_finish(f, 0, &creds, NULL);
  } else {
    fetch_fail(f, &err);
  }
  aws_creds_clear(&creds);
}

// The source of an AssumeRole arrived: call STS with it.
static void fetch_source_done(void *data, int rc, struct aws_creds *creds,
                              const struct smf_error *source_err)
{
  struct aws__creds_fetch *f = data;
  f->child = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  if (rc == 0 && f->cancelled) {
    rc = SMF_ERR_SET(&err, SMF_ECANCELLED, "cancelled");
  } else if (rc != 0) {
    err = *source_err;
    smf_error_prefix(&err, "source of %s", f->plan->role_arn);
  } else {
    rc = fetch_sts_assume_role(f, creds, &err);
  }
  if (rc != 0) {
    fetch_fail(f, &err);
  }
}

static int fetch_container(struct aws__creds_fetch *f, struct smf_error *err)
{
  const struct aws_creds_plan *p = f->plan;
  char *token = NULL;
  if (p->auth_token_file) {
    token = read_token_file(p->auth_token_file, err);
    if (token == NULL) {
      return err && err->code ? err->code : SMF_ECREDS;
    }
  } else if (p->auth_token) {
    token = smf_xstrdup(p->auth_token);
  }
  struct aws_sigv4_kv h[] = {{"Authorization", token}};
  int rc = fetch_send(f, "GET", p->url, h, token ? 1 : 0, err);
  if (token) {
    smf_crypto_clear_free(token, strlen(token));
  }
  return rc;
}

int aws__creds_fetch_start(const struct aws__creds_fetch_env *env,
                           const struct aws_creds_plan *plan, aws__creds_fetch_cb cb, void *data,
                           struct aws__creds_fetch **out, struct smf_error *err)
{
  struct aws__creds_fetch *f = smf_xcalloc(1, sizeof(*f));
  f->env = *env;
  f->plan = plan;
  f->cb = cb;
  f->data = data;
  aws_http_req_init(&f->req);
  int rc = SMF_EINVAL;
  switch (plan->kind) {
  case AWS_CREDS_KIND_ASSUME_ROLE:
    if (plan->source == NULL) {
      rc = SMF_ERR_SET(err, SMF_EINVAL, "AssumeRole without a source of credentials");
    } else if (plan->source->kind == AWS_CREDS_KIND_STATIC) {
      rc = fetch_sts_assume_role(f, &plan->source->creds, err);
    } else {
      rc = aws__creds_fetch_start(env, plan->source, fetch_source_done, f, &f->child, err);
    }
    break;
  case AWS_CREDS_KIND_WEB_IDENTITY:
    rc = fetch_sts_web_identity(f, err);
    break;
  case AWS_CREDS_KIND_CONTAINER:
    rc = fetch_container(f, err);
    break;
  case AWS_CREDS_KIND_IMDS:
    f->step = STEP_IMDS_TOKEN;
    rc = fetch_imds_next(f, NULL, err);
    break;
  case AWS_CREDS_KIND_STATIC:
    rc = SMF_ERR_SET(err, SMF_EINVAL, "static credentials need no fetch");
    break;
  }
  if (rc != 0) {
    fetch_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

void aws__creds_fetch_cancel(struct aws__creds_fetch *f)
{
  if (f == NULL) {
    return;
  }
  f->cancelled = true;
  if (f->child) {
    aws__creds_fetch_cancel(f->child);
  } else {
    aws_http_req_cancel(&f->req);
  }
}

// sts.c: STS over the query protocol (form-encoded POST, XML answers):
// GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/client_int.h"
#include "aws/xml.h"

#define STS_VERSION "2011-06-15"

struct sts_ctx {
  aws_sts_fn cb;
  void *data;
  const char *result_name;  // "AssumeRoleResult", ...
};

static void form_add(struct smf_buf *b, const char *name, const char *value)
{
  if (b->len) {
    smf_buf_puts(b, "&");
  }
  aws_sigv4_uri_encode(b, name, strlen(name), false);
  smf_buf_puts(b, "=");
  aws_sigv4_uri_encode(b, value, strlen(value), false);
}

// "2026-11-22T01:21:39Z" or with fractional seconds → Unix ms (0 when unparsable).
static int64_t parse_iso8601(const char *s)
{
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) {
    return 0;
  }
  return (int64_t)timegm(&tm) * 1000;
}

static void sts_done(struct aws_result *res, void *data)
{
  struct sts_ctx *ctx = data;
  struct aws_sts_result out = {0};
  struct aws_creds creds = AWS_CREDS_INIT;
  struct aws_xml_doc doc = {0};
  struct smf_error err = SMF_ERROR_INIT;
  if (res->code != 0) {
    ctx->cb(NULL, &res->err, ctx->data);
    goto done;
  }
  if (aws_xml_parse(res->body, res->body_len, &doc, &err) != 0) {
    smf_error_prefix(&err, "%s", aws_call_op(res->call));
    ctx->cb(NULL, &err, ctx->data);
    goto done;
  }
  const struct aws_xml_node *r = aws_xml_find(doc.root, ctx->result_name);
  const struct aws_xml_node *cr = aws_xml_child(r, "Credentials");
  if (!r || (strcmp(ctx->result_name, "GetCallerIdentityResult") != 0 && !cr)) {
    SMF_ERR_SET(&err, SMF_EPARSE, "%s: answer without %s", aws_call_op(res->call),
                ctx->result_name);
    ctx->cb(NULL, &err, ctx->data);
    goto done;
  }
  if (cr) {
    aws_creds_set(&creds, aws_xml_child_text(cr, "AccessKeyId"),
                  aws_xml_child_text(cr, "SecretAccessKey"), aws_xml_child_text(cr, "SessionToken"),
                  parse_iso8601(aws_xml_child_text(cr, "Expiration")), "sts");
    out.creds = &creds;
    const struct aws_xml_node *u = aws_xml_child(r, "AssumedRoleUser");
    out.arn = aws_xml_child_text(u, "Arn");
    out.user_id = aws_xml_child_text(u, "AssumedRoleId");
  } else {
    out.account = aws_xml_child_text(r, "Account");
    out.arn = aws_xml_child_text(r, "Arn");
    out.user_id = aws_xml_child_text(r, "UserId");
  }
  ctx->cb(&out, NULL, ctx->data);
done:
  aws_creds_clear(&creds);
  aws_xml_free(&doc);
  free(ctx);
}

static int sts_call(struct aws_client *c, const char *action, struct smf_buf *form,
                    bool anonymous, aws_sts_fn cb, void *data, struct smf_error *err)
{
  static const struct aws_kv headers[] = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
  };
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_STS;
  r.op = action;
  r.method = "POST";
  r.path = "/";
  r.headers = headers;
  r.n_headers = 1;
  r.body = smf_buf_cstr(form);
  r.body_len = form->len;
  r.idempotent = true;  // no side effect beyond issuing a fresh credential
  r.anonymous = anonymous;
  struct sts_ctx *ctx = smf_xcalloc(1, sizeof *ctx);
  ctx->cb = cb;
  ctx->data = data;
  ctx->result_name = strcmp(action, "GetCallerIdentity") == 0 ? "GetCallerIdentityResult"
                     : strcmp(action, "AssumeRole") == 0      ? "AssumeRoleResult"
                                                              : "AssumeRoleWithWebIdentityResult";
  int rc = aws_call_start(c, &r, sts_done, ctx, NULL, err);
  if (rc != 0) {
    free(ctx);
  }
  // The form may hold a web identity token: wipe it.
  if (form->data) {
    memset(form->data, 0, form->cap);
  }
  smf_buf_free(form);
  return rc;
}

int aws_sts_get_caller_identity(struct aws_client *c, aws_sts_fn cb, void *data,
                                struct smf_error *err)
{
  struct smf_buf f = SMF_BUF_INIT;
  form_add(&f, "Action", "GetCallerIdentity");
  form_add(&f, "Version", STS_VERSION);
  return sts_call(c, "GetCallerIdentity", &f, false, cb, data, err);
}

int aws_sts_assume_role(struct aws_client *c, const char *role_arn, const char *session_name,
                        int duration_s, aws_sts_fn cb, void *data, struct smf_error *err)
{
  struct smf_buf f = SMF_BUF_INIT;
  form_add(&f, "Action", "AssumeRole");
  form_add(&f, "Version", STS_VERSION);
  form_add(&f, "RoleArn", role_arn);
  form_add(&f, "RoleSessionName", session_name);
  if (duration_s > 0) {
    char d[16];
    snprintf(d, sizeof d, "%d", duration_s);
    form_add(&f, "DurationSeconds", d);
  }
  return sts_call(c, "AssumeRole", &f, false, cb, data, err);
}

int aws_sts_assume_role_web_identity(struct aws_client *c, const char *role_arn,
                                     const char *session_name, const char *token, int duration_s,
                                     aws_sts_fn cb, void *data, struct smf_error *err)
{
  struct smf_buf f = SMF_BUF_INIT;
  form_add(&f, "Action", "AssumeRoleWithWebIdentity");
  form_add(&f, "Version", STS_VERSION);
  form_add(&f, "RoleArn", role_arn);
  form_add(&f, "RoleSessionName", session_name);
  form_add(&f, "WebIdentityToken", token);
  if (duration_s > 0) {
    char d[16];
    snprintf(d, sizeof d, "%d", duration_s);
    form_add(&f, "DurationSeconds", d);
  }
  return sts_call(c, "AssumeRoleWithWebIdentity", &f, true, cb, data, err);
}

// schema.c: the table-driven checker of step specs, and the value predicates
// (S3 URIs, ARNs, instance types, SageMaker names, durations, ...).
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dsl/internal.h"

void dsl__verr(struct dsl_vctx *v, const char *where, struct dsl_mark m, const char *fmt, ...)
{
  struct smf_buf b = SMF_BUF_INIT;
  if (v->step) {
    smf_buf_printf(&b, "step '%s': ", v->step);
  } else if (v->scope) {
    smf_buf_printf(&b, "%s: ", v->scope);
  }
  if (where && *where) {
    smf_buf_printf(&b, "%s: ", where);
  }
  va_list ap;
  va_start(ap, fmt);
  smf_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  dsl_diags_add(v->d, v->path, m, "%s", smf_buf_cstr(&b));
  smf_buf_free(&b);
}

const char *dsl__where(char *buf, size_t n, const char *where, const char *key)
{
  snprintf(buf, n, "%s%s%s", where && *where ? where : "", where && *where ? "." : "", key);
  return buf;
}

bool dsl__deferred(const struct dsl_vctx *v, const struct dsl_node *n)
{
  return !v->resolved && n->type == DSL_STR && n->has_expr;
}

// ---- predicates ------------------------------------------------------------------

static bool is_ipv4(const char *s, size_t len)
{
  int dots = 0, digits = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.') {
      if (digits == 0) {
        return false;
      }
      dots++, digits = 0;
    } else if (isdigit((unsigned char)s[i]) && digits < 3) {
      digits++;
    } else {
      return false;
    }
  }
  return dots == 3 && digits > 0;
}

const char *dsl__check_s3uri(const char *s)
{
  if (strncmp(s, "s3://", 5) != 0) {
    return "expected an S3 URI (s3://bucket/key)";
  }
  const char *b = s + 5;
  size_t len = strcspn(b, "/");
  if (len < 3 || len > 63) {
    return "the bucket name must be 3 to 63 characters long";
  }
  for (size_t i = 0; i < len; i++) {
    char c = b[i];
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' || c == '-')) {
      return "the bucket name may hold only lowercase letters, digits, dots and hyphens";
    }
  }
  if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[len - 1])) {
    return "the bucket name must start and end with a letter or digit";
  }
  for (size_t i = 0; i + 1 < len; i++) {
    if (b[i] == '.' && (b[i + 1] == '.' || b[i + 1] == '-')) {
      return "the bucket name may not hold '..' or '.-'";
    }
    if (b[i] == '-' && b[i + 1] == '.') {
      return "the bucket name may not hold '-.'";
    }
  }
  if (is_ipv4(b, len)) {
    return "the bucket name may not be an IP address";
  }
  return NULL;
}

const char *dsl__check_arn(const char *s, const char *service, const char *resource_prefix)
{
  // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
  if (strncmp(s, "arn:", 4) != 0) {
    return "expected an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)";
  }
  const char *f[6];
  size_t fl[6];
  const char *p = s;
  for (int i = 0; i < 5; i++) {
    f[i] = p;
    const char *c = strchr(p, ':');
    if (c == NULL) {
      return "expected an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)";
    }
    fl[i] = (size_t)(c - p);
    p = c + 1;
  }
  f[5] = p;
  fl[5] = strlen(p);
  if (fl[1] == 0 || strncmp(f[1], "aws", 3) != 0) {
    return "the ARN's partition must be aws, aws-cn, aws-us-gov, ...";
  }
  if (fl[2] == 0 || fl[5] == 0) {
    return "the ARN needs a service and a resource";
  }
  if (fl[4] != 0 && fl[4] != 12) {
    return "the ARN's account must be 12 digits";
  }
  for (size_t i = 0; i < fl[4]; i++) {
    if (!isdigit((unsigned char)f[4][i])) {
      return "the ARN's account must be 12 digits";
    }
  }
  if (service && (fl[2] != strlen(service) || strncmp(f[2], service, fl[2]) != 0)) {
    return strcmp(service, "iam") == 0 ? "expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
                                       : "the ARN names another service";
  }
  if (service && strcmp(service, "iam") == 0 && (fl[3] != 0 || fl[4] != 12)) {
    return "expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)";
  }
  if (resource_prefix && (strncmp(f[5], resource_prefix, strlen(resource_prefix)) != 0 ||
                          fl[5] <= strlen(resource_prefix))) {
    return "expected an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)";
  }
  return NULL;
}

const char *dsl__check_itype(const char *s)
{
  if (strcmp(s, "local") == 0 || strcmp(s, "local_gpu") == 0) {
    return NULL;
  }
  // ml.FAMILY.SIZE: family [a-z][a-z0-9-]*, size [a-z0-9]+
  if (strncmp(s, "ml.", 3) == 0) {
    const char *fam = s + 3;
    const char *dot = strchr(fam, '.');
    bool ok = dot && dot > fam && islower((unsigned char)fam[0]) && dot[1] != '\0';
    for (const char *p = fam; ok && p < dot; p++) {
      ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-';
    }
    for (const char *p = dot ? dot + 1 : s; ok && *p; p++) {
      ok = islower((unsigned char)*p) || isdigit((unsigned char)*p);
    }
    if (ok) {
      return NULL;
    }
  }
  return "expected an instance type such as ml.m5.xlarge, or local / local_gpu";
}

const char *dsl__check_awsname(const char *s, size_t max)
{
  // ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$, at most `max` characters
  size_t len = strlen(s);
  if (len == 0 || len > max) {
    return "must be 1 to 63 characters";
  }
  if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1])) {
    return "must start and end with a letter or digit";
  }
  for (size_t i = 0; i < len; i++) {
    if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
      return "may hold only letters, digits and hyphens";
    }
  }
  return NULL;
}

bool dsl__is_ident(const char *s)
{
  if (!(isalpha((unsigned char)*s) || *s == '_')) {
    return false;
  }
  for (; *s; s++) {
    if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '.')) {
      return false;
    }
  }
  return s[-1] != '.';
}

bool dsl__valid_step_id(const char *s)
{
  if (*s == '\0' || strlen(s) > 63) {
    return false;
  }
  for (; *s; s++) {
    if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '-')) {
      return false;
    }
  }
  return true;
}

bool dsl__valid_pipeline_name(const char *s)
{
  size_t len = strlen(s);
  if (len == 0 || len > 40) {
    return false;
  }
  for (; *s; s++) {
    if (!isalnum((unsigned char)*s) && *s != '-') {
      return false;
    }
  }
  return true;
}

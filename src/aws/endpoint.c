// endpoint.c: where each service lives, per region and partition, and the
// endpoint overrides of the AWS SDKs (AWS_ENDPOINT_URL*, the config file).
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/sigv4.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct endpoint_service {
  const char *host_prefix;  // "api.sagemaker" -> api.sagemaker.REGION.SUFFIX
  const char *signing_name;
  const char *env_suffix;  // AWS_ENDPOINT_URL_<this>
  const char *env_alias;   // a second accepted name, or NULL
  const char *config_key;  // key in a [services] block
};

static const struct endpoint_service k_services[AWS_SVC__COUNT] = {
    [AWS_SVC_S3] = {"s3", "s3", "S3", NULL, "s3"},
    [AWS_SVC_SAGEMAKER] = {"api.sagemaker", "sagemaker", "SAGEMAKER", NULL, "sagemaker"},
    [AWS_SVC_RUNTIME] = {"runtime.sagemaker", "sagemaker", "SAGEMAKER_RUNTIME", NULL,
                         "sagemaker_runtime"},
    [AWS_SVC_STS] = {"sts", "sts", "STS", NULL, "sts"},
    [AWS_SVC_LOGS] = {"logs", "logs", "CLOUDWATCH_LOGS", "LOGS", "cloudwatch_logs"},
};

const char *aws_partition_of(const char *region)
{
  if (region == NULL) {
    return "aws";
  }
  if (smf_str_startswith(region, "cn-")) {
    return "aws-cn";
  }
  if (smf_str_startswith(region, "us-gov-")) {
    return "aws-us-gov";
  }
  if (smf_str_startswith(region, "us-isob-")) {
    return "aws-iso-b";
  }
  if (smf_str_startswith(region, "us-iso-")) {
    return "aws-iso";
  }
  return "aws";
}

static const char *endpoint_dns_suffix(const char *partition)
{
  if (strcmp(partition, "aws-cn") == 0) {
    return "amazonaws.com.cn";
  }
  if (strcmp(partition, "aws-iso") == 0) {
    return "c2s.ic.gov";
  }
  if (strcmp(partition, "aws-iso-b") == 0) {
    return "sc2s.sgov.gov";
  }
  return "amazonaws.com";
}

static bool endpoint_region_ok(const char *r)
{
  if (*r == '\0' || strlen(r) > 40) {
    return false;
  }
  for (; *r; r++) {
    if (!(islower((unsigned char)*r) || isdigit((unsigned char)*r) || *r == '-')) {
      return false;
    }
  }
  return true;
}

static const char *endpoint_env(const char *name)
{
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

// The configured override URL for svc, or NULL.
static const char *endpoint_override(const struct aws_shared_config *c, enum aws_service svc)
{
  const char *ignore = endpoint_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
  if (ignore && strcasecmp(ignore, "true") == 0) {
    return NULL;
  }
  const struct endpoint_service *s = &k_services[svc];
  char name[64];
  snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", s->env_suffix);
  const char *v = endpoint_env(name);
  if (v == NULL && s->env_alias) {
    snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", s->env_alias);
    v = endpoint_env(name);
  }
  if (v == NULL) {
    v = endpoint_env("AWS_ENDPOINT_URL");
  }
  if (v == NULL && c != NULL) {
    v = aws_shared_config_service(c, s->config_key, "endpoint_url");
    if (v == NULL) {
      v = aws_shared_config_get(c, NULL, "endpoint_url");
    }
  }
  return v && *v ? v : NULL;
}

// Split an override URL into url/host/base_path of *out.
static int endpoint_parse_url(const char *url, struct aws_endpoint *out, struct smf_error *err)
{
  const char *rest = NULL;
  if (strncasecmp(url, "http://", 7) == 0) {
    rest = url + 7;
  } else if (strncasecmp(url, "https://", 8) == 0) {
    rest = url + 8;
  }
  size_t host_len = rest ? strcspn(rest, "/?#") : 0;
  if (rest == NULL || host_len == 0 || host_len >= sizeof(out->host) ||
      strlen(url) >= sizeof(out->url) || strpbrk(url, " \t\r\n") != NULL ||
      strpbrk(rest + host_len, "?#") != NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "endpoint URL '%s' is not a valid http:// or https:// URL",
                       url);
  }
  snprintf(out->host, sizeof(out->host), "%.*s", (int)host_len, rest);
  snprintf(out->base_path, sizeof(out->base_path), "%s", rest + host_len);
  size_t n = strlen(out->base_path);
  while (n > 0 && out->base_path[n - 1] == '/') {
    out->base_path[--n] = '\0';
  }
  snprintf(out->url, sizeof(out->url), "%.*s%s", (int)(rest - url + (ptrdiff_t)host_len), url,
           out->base_path);
  return 0;
}

int aws_endpoint_resolve(const struct aws_shared_config *c, enum aws_service svc,
                         const char *region, struct aws_endpoint *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  if ((unsigned)svc >= AWS_SVC__COUNT) {
    return SMF_ERR_SET(err, SMF_EINVAL, "unknown AWS service %d", (int)svc);
  }
  bool global = region == NULL || *region == '\0';
  if (global) {
    region = "us-east-1";
  }
  if (!endpoint_region_ok(region)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "'%s' is not a valid AWS region name", region);
  }
  const struct endpoint_service *s = &k_services[svc];
  out->service = svc;
  out->signing_name = s->signing_name;
  out->partition = aws_partition_of(region);
  out->dns_suffix = endpoint_dns_suffix(out->partition);
  snprintf(out->signing_region, sizeof(out->signing_region), "%s", region);
  const char *style =
      svc == AWS_SVC_S3 ? aws_shared_config_get_sub(c, "s3", "addressing_style") : NULL;
  out->s3_path_style = style && strcmp(style, "path") == 0;

  const char *override = endpoint_override(c, svc);
  if (override != NULL) {
    out->overridden = true;
    out->s3_path_style = true;
    return endpoint_parse_url(override, out, err);
  }
  if ((svc == AWS_SVC_STS && global) || (svc == AWS_SVC_S3 && strcmp(region, "us-east-1") == 0)) {
    snprintf(out->host, sizeof(out->host), "%s.%s", s->host_prefix, out->dns_suffix);
  } else {
    snprintf(out->host, sizeof(out->host), "%s.%s.%s", s->host_prefix, region, out->dns_suffix);
  }
  snprintf(out->url, sizeof(out->url), "https://%s", out->host);
  return 0;
}

bool aws_s3_bucket_virtual_ok(const char *b)
{
  size_t n = b ? strlen(b) : 0;
  if (n < 3 || n > 63 || !isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1])) {
    return false;
  }
  bool all_digits = true;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)b[i];
    if (!(islower(ch) || isdigit(ch) || ch == '-')) {
      return false;  // dots (TLS wildcard), upper case, anything else
    }
    all_digits = all_digits && isdigit(ch);
  }
  return !all_digits;
}

void aws_s3_addr_free(struct aws_s3_addr *a)
{
  if (a == NULL) {
    return;
  }
  free(a->url);
  free(a->host);
  free(a->path);
  memset(a, 0, sizeof(*a));
}

int aws_s3_addr_make(const struct aws_endpoint *ep, const char *bucket, const char *key,
                     struct aws_s3_addr *out, struct smf_error *err)
{
  memset(out, 0, sizeof(*out));
  if (bucket == NULL || *bucket == '\0' || strpbrk(bucket, "/?#") != NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "invalid S3 bucket name '%s'", bucket ? bucket : "");
  }
  bool virtual_host = !ep->overridden && !ep->s3_path_style && aws_s3_bucket_virtual_ok(bucket);
  struct smf_buf path = SMF_BUF_INIT;
  if (virtual_host) {
    out->host = smf_xasprintf("%s.%s", bucket, ep->host);
  } else {
    out->host = smf_xstrdup(ep->host);
    smf_buf_puts(&path, ep->base_path);
    smf_buf_append(&path, "/", 1);
    aws_sigv4_uri_encode(&path, bucket, strlen(bucket), false);
  }
  if (key != NULL && *key != '\0') {
    smf_buf_append(&path, "/", 1);
    aws_sigv4_uri_encode(&path, key, strlen(key), true);
  } else if (virtual_host) {
    smf_buf_append(&path, "/", 1);
  }
  out->path = smf_buf_steal(&path);
  const char *scheme_end = strstr(ep->url, "://");
  out->url =
      smf_xasprintf("%.*s://%s%s", (int)(scheme_end - ep->url), ep->url, out->host, out->path);
  return 0;
}

// creds_chain.c: decides where credentials come from, following the AWS CLI's
// provider chain. This part is synchronous (environment and parsed files);
// the network providers run later from the plan (creds_provider.c).
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/shared_config.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

#define CHAIN_MAX_DEPTH 16
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"

struct chain {
  const struct aws_shared_config *c;
  const char *visited[CHAIN_MAX_DEPTH];
  size_t n_visited;
  struct smf_error *err;
};

static const char *env_get(const char *name)
{
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

static char *dup_or_null(const char *s)
{
  return s ? smf_xstrdup(s) : NULL;
}

static struct aws_creds_plan *plan_new(enum aws_creds_kind kind, const char *provider,
                                       const char *profile)
{
  struct aws_creds_plan *p = smf_xcalloc(1, sizeof(*p));
  p->kind = kind;
  p->provider = provider;
  p->profile = dup_or_null(profile);
  return p;
}

void aws_creds_plan_free(struct aws_creds_plan *p)
{
  while (p != NULL) {
    struct aws_creds_plan *next = p->source;
    aws_creds_clear(&p->creds);
    free(p->profile);
    free(p->role_arn);
    free(p->session_name);
    free(p->external_id);
    free(p->token_file);
    free(p->region);
    free(p->url);
    if (p->auth_token) {
      memset(p->auth_token, 0, strlen(p->auth_token));
      free(p->auth_token);
    }
    free(p->auth_token_file);
    free(p);
    p = next;
  }
}

// ---- leaf providers ----------------------------------------------------------

// Environment keys. 0 with *out set, 0 with *out NULL when none, or SMF_ECREDS.
static int chain_env(struct chain *ch, struct aws_creds_plan **out)
{
  const char *id = env_get("AWS_ACCESS_KEY_ID");
  const char *secret = env_get("AWS_SECRET_ACCESS_KEY");
  *out = NULL;
  if (id == NULL && secret == NULL) {
    return 0;
  }
  if (id == NULL || secret == NULL) {
    return SMF_ERR_SET(ch->err, SMF_ECREDS,
                       "partial credentials in the environment: %s is set "
                       "but %s is not",
                       id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                       id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
  }
  const char *token = env_get("AWS_SESSION_TOKEN");
  if (token == NULL) {
    token = env_get("AWS_SECURITY_TOKEN");
  }
  *out = plan_new(AWS_CREDS_KIND_STATIC, "env", NULL);
  aws_creds_set(&(*out)->creds, id, secret, token, 0, "env");
  return 0;
}

// Static keys of `profile` in one of the files (credentials file first).
static int chain_profile_keys(struct chain *ch, const char *profile, struct aws_creds_plan **out)
{
  const struct aws_config_file *files[] = {ch->c->credentials, ch->c->config};
  const char *names[] = {"shared-credentials-file", "config-file"};
  *out = NULL;
  for (size_t i = 0; i < 2; i++) {
    const char *id = aws_config_get(files[i], profile, "aws_access_key_id");
    const char *secret = aws_config_get(files[i], profile, "aws_secret_access_key");
    if (id == NULL && secret == NULL) {
      continue;
    }
    if (id == NULL || secret == NULL || *id == '\0' || *secret == '\0') {
      const char *set = id ? "aws_access_key_id" : "aws_secret_access_key";
      const char *where = aws_config_where(files[i], profile, set);
      return SMF_ERR_SET(ch->err, SMF_ECREDS,
                         "%s: profile '%s' has partial credentials: %s without %s",
                         where ? where : "shared config", profile, id && *id ? set : "a key id",
                         id && *id ? "aws_secret_access_key" : "its pair");
    }
    *out = plan_new(AWS_CREDS_KIND_STATIC, names[i], profile);
    aws_creds_set(&(*out)->creds, id, secret,
                  aws_config_get(files[i], profile, "aws_session_token"), 0, names[i]);
    return 0;
  }
  return 0;
}

static char *chain_sts_region(const struct chain *ch, const char *profile)
{
  const char *r = env_get("AWS_REGION");
  if (r == NULL) {
    r = env_get("AWS_DEFAULT_REGION");
  }
  if (r == NULL) {
    r = aws_shared_config_get(ch->c, profile, "region");
  }
  return r && *r ? smf_xstrdup(r) : NULL;
}

static char *chain_session_name(const char *configured)
{
  if (configured && *configured) {
    return smf_xstrdup(configured);
  }
  return smf_xasprintf("smflow-%lld", (long long)time(NULL));
}

// http:// is allowed only to the loopback and the ECS/EKS agent addresses
// (as in the AWS SDKs): the token and the answer would otherwise cross a network
// in the clear.
static bool chain_container_url_ok(const char *url)
{
  if (strncasecmp(url, "https://", 8) == 0) {
    return true;
  }
  if (strncasecmp(url, "http://", 7) != 0) {
    return false;
  }
  const char *h = url + 7;
  size_t n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
  char host[64];
  if (n >= sizeof(host)) {
    return false;
  }
  memcpy(host, h, n);
  host[n] = '\0';
  struct in_addr v4;
  bool loopback_v4 = inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
  return loopback_v4 || strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
         strcmp(host, "169.254.170.2") == 0 || strcmp(host, "169.254.170.23") == 0 ||
         strcasecmp(host, "[fd00:ec2::23]") == 0;
}

// Container credentials: 0 with *out set, 0 with *out NULL when not configured.
static int chain_container(struct chain *ch, struct aws_creds_plan **out)
{
  const char *rel = env_get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const char *full = env_get("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  *out = NULL;
  if (rel == NULL && full == NULL) {
    return 0;
  }
  if (rel == NULL && !chain_container_url_ok(full)) {
    return SMF_ERR_SET(ch->err, SMF_ECREDS,
                       "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// to the "
                       "loopback or the container agent (169.254.170.2, 169.254.170.23)");
  }
  struct aws_creds_plan *p = plan_new(AWS_CREDS_KIND_CONTAINER, "container", NULL);
  p->url =
      rel ? smf_xasprintf(CONTAINER_HOST "%s%s", rel[0] == '/' ? "" : "/", rel) : smf_xstrdup(full);
  p->auth_token_file = dup_or_null(env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
  if (p->auth_token_file == NULL) {
    p->auth_token = dup_or_null(env_get("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
  }
  *out = p;
  return 0;
}

static bool chain_imds_disabled(void)
{
  const char *v = env_get("AWS_EC2_METADATA_DISABLED");
  return v && strcasecmp(v, "true") == 0;
}

static struct aws_creds_plan *chain_imds(const struct chain *ch)
{
  const char *ep = env_get("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (ep == NULL) {
    ep = aws_shared_config_get(ch->c, NULL, "ec2_metadata_service_endpoint");
  }
  struct aws_creds_plan *p = plan_new(AWS_CREDS_KIND_IMDS, "imds", NULL);
  p->url = smf_xstrdup(ep && *ep ? ep : IMDS_DEFAULT_ENDPOINT);
  size_t n = strlen(p->url);
  while (n > 0 && p->url[n - 1] == '/') {
    p->url[--n] = '\0';
  }
  return p;
}

// ---- profiles ----------------------------------------------------------------

static int chain_profile(struct chain *ch, const char *profile, bool top,
                         struct aws_creds_plan **out);

static int chain_error_at(struct chain *ch, int code, const char *profile, const char *key,
                          const char *msg)
{
  const char *where = aws__shared_config_where(ch->c, profile, key);
  return SMF_ERR_SET(ch->err, code, "%s: profile '%s': %s", where ? where : "shared config",
                     profile, msg);
}

// credential_source = Environment | Ec2InstanceMetadata | EcsContainer.
static int chain_credential_source(struct chain *ch, const char *profile, const char *cs,
                                   struct aws_creds_plan **out)
{
  *out = NULL;
  if (strcmp(cs, "Environment") == 0) {
    int rc = chain_env(ch, out);
    if (rc == 0 && *out == NULL) {
      rc = chain_error_at(ch, SMF_ECREDS, profile, "credential_source",
                          "credential_source is Environment but AWS_ACCESS_KEY_ID is not set");
    }
    return rc;
  }
  if (strcmp(cs, "Ec2InstanceMetadata") == 0) {
    *out = chain_imds(ch);
    return 0;
  }
  if (strcmp(cs, "EcsContainer") == 0) {
    int rc = chain_container(ch, out);
    if (rc == 0 && *out == NULL) {
      rc = chain_error_at(ch, SMF_ECREDS, profile, "credential_source",
                          "credential_source is EcsContainer but no container credentials "
                          "URI is set");
    }
    return rc;
  }
  return chain_error_at(ch, SMF_EINVAL, profile, "credential_source",
                        "credential_source must be Environment, Ec2InstanceMetadata or "
                        "EcsContainer");
}

static int chain_source_profile(struct chain *ch, const char *profile, const char *src,
                                struct aws_creds_plan **out)
{
  *out = NULL;
  if (strcmp(src, profile) == 0) {  // a role profile that also holds its own keys
    int rc = chain_profile_keys(ch, profile, out);
    if (rc == 0 && *out == NULL) {
      rc = chain_error_at(ch, SMF_ECREDS, profile, "source_profile",
                          "source_profile names itself but the profile has no keys");
    }
    return rc;
  }
  if (!aws__shared_config_has_profile(ch->c, src)) {
    char msg[256];
    snprintf(msg, sizeof(msg), "source_profile '%s' does not exist", src);
    return chain_error_at(ch, SMF_EINVAL, profile, "source_profile", msg);
  }
  int rc = chain_profile(ch, src, false, out);
  if (rc == 0 && *out == NULL) {
    char msg[256];
    snprintf(msg, sizeof(msg), "source_profile '%s' has no credentials", src);
    rc = chain_error_at(ch, SMF_ECREDS, profile, "source_profile", msg);
  }
  return rc;
}

static int chain_assume_role(struct chain *ch, const char *profile, const char *role,
                             struct aws_creds_plan **out)
{
  const char *src = aws_shared_config_get(ch->c, profile, "source_profile");
  const char *cs = aws_shared_config_get(ch->c, profile, "credential_source");
  if (src && cs) {
    return chain_error_at(ch, SMF_EINVAL, profile, "credential_source",
                          "source_profile and credential_source are mutually exclusive");
  }
  if (aws_shared_config_get(ch->c, profile, "mfa_serial")) {
    return chain_error_at(ch, SMF_EUNSUPPORTED, profile, "mfa_serial",
                          "roles that need an MFA code are not supported");
  }
  const char *dur = aws_shared_config_get(ch->c, profile, "duration_seconds");
  char *end = NULL;
  long duration = dur ? strtol(dur, &end, 10) : 0;
  if (dur && (*end != '\0' || duration < 900 || duration > 43200)) {
    return chain_error_at(ch, SMF_EINVAL, profile, "duration_seconds",
                          "duration_seconds must be a number from 900 to 43200");
  }
  struct aws_creds_plan *p = plan_new(AWS_CREDS_KIND_ASSUME_ROLE, "assume-role", profile);
  p->role_arn = smf_xstrdup(role);
  p->session_name = chain_session_name(aws_shared_config_get(ch->c, profile, "role_session_name"));
  p->external_id = dup_or_null(aws_shared_config_get(ch->c, profile, "external_id"));
  p->duration_s = (int)duration;
  p->region = chain_sts_region(ch, profile);
  int rc = src ? chain_source_profile(ch, profile, src, &p->source)
               : chain_credential_source(ch, profile, cs, &p->source);
  if (rc != 0) {
    aws_creds_plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

static int chain_profile(struct chain *ch, const char *profile, bool top,
                         struct aws_creds_plan **out)
{
  *out = NULL;
  for (size_t i = 0; i < ch->n_visited; i++) {
    if (strcmp(ch->visited[i], profile) == 0) {
      return chain_error_at(ch, SMF_EINVAL, profile, "source_profile",
                            "source_profile chain loops back to this profile");
    }
  }
  if (ch->n_visited == CHAIN_MAX_DEPTH) {
    return chain_error_at(ch, SMF_EINVAL, profile, "source_profile",
                          "source_profile chain is too long");
  }
  ch->visited[ch->n_visited++] = profile;
  const char *role = aws_shared_config_get(ch->c, profile, "role_arn");
  if (role && (aws_shared_config_get(ch->c, profile, "source_profile") ||
               aws_shared_config_get(ch->c, profile, "credential_source"))) {
    return chain_assume_role(ch, profile, role, out);
  }
  const char *token_file = top ? env_get("AWS_WEB_IDENTITY_TOKEN_FILE") : NULL;
  const char *role_arn = top ? env_get("AWS_ROLE_ARN") : NULL;
  const char *session = top ? env_get("AWS_ROLE_SESSION_NAME") : NULL;
  if (token_file == NULL) {
    token_file = aws_shared_config_get(ch->c, profile, "web_identity_token_file");
  }
  if (role_arn == NULL) {
    role_arn = role;
  }
  if (session == NULL) {
    session = aws_shared_config_get(ch->c, profile, "role_session_name");
  }
  if (token_file && role_arn) {
    struct aws_creds_plan *p = plan_new(AWS_CREDS_KIND_WEB_IDENTITY, "web-identity", profile);
    p->role_arn = smf_xstrdup(role_arn);
    p->token_file = smf_xstrdup(token_file);
    p->session_name = chain_session_name(session);
    p->region = chain_sts_region(ch, profile);
    *out = p;
    return 0;
  }
  return chain_profile_keys(ch, profile, out);
}

int aws_creds_plan_resolve(const struct aws_shared_config *c, struct aws_creds_plan **out,
                           struct smf_error *err)
{
  struct chain ch = {.c = c, .err = err};
  const char *profile = c->profile;
  *out = NULL;
  if (strcmp(profile, "default") != 0 && !aws__shared_config_has_profile(c, profile)) {
    return SMF_ERR_SET(err, SMF_ECREDS, "the AWS profile '%s' is not in %s or %s", profile,
                       c->config ? "the config file" : "~/.aws/config",
                       c->credentials ? "the credentials file" : "~/.aws/credentials");
  }
  int rc = 0;
  if (!c->explicit_profile) {
    rc = chain_env(&ch, out);
    if (rc != 0 || *out != NULL) {
      return rc;
    }
  }
  rc = chain_profile(&ch, profile, true, out);
  if (rc != 0 || *out != NULL) {
    return rc;
  }
  rc = chain_container(&ch, out);
  if (rc != 0) {
    return rc;
  }
  if (*out == NULL && !chain_imds_disabled()) {
    *out = chain_imds(&ch);
  }
  if (*out == NULL) {
    return SMF_ERR_SET(err, SMF_ECREDS,
                       "no AWS credentials found (environment, profile '%s', container; "
                       "instance metadata is disabled)",
                       profile);
  }
  return 0;
}

char *aws_creds_plan_describe(const struct aws_creds_plan *p)
{
  struct smf_buf b = SMF_BUF_INIT;
  for (; p != NULL; p = p->source) {
    smf_buf_puts(&b, p->provider);
    if (p->profile) {
      smf_buf_printf(&b, "(%s)", p->profile);
    }
    if (p->role_arn) {
      smf_buf_printf(&b, " %s", p->role_arn);
    }
    if (p->url) {
      smf_buf_printf(&b, " %s", p->url);
    }
    if (p->source) {
      smf_buf_puts(&b, " <- ");
    }
  }
  return smf_buf_steal(&b);
}

// shared_config.c: the two AWS shared files seen together, the selected
// profile, and region resolution.
#include "aws/shared_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/config.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

// `~/.aws/NAME`, or NULL when HOME is not set. Caller frees.
static char *shared_default_path(const char *name)
{
  const char *home = getenv("HOME");
  if (home == NULL || *home == '\0') {
    return NULL;
  }
  return smf_xasprintf("%s/.aws/%s", home, name);
}

static int shared_load_one(const char *env, const char *name, enum aws_config_kind kind,
                           struct aws_config_file **out, struct smf_error *err)
{
  const char *path = getenv(env);
  char *owned = NULL;
  if (path == NULL || *path == '\0') {
    owned = shared_default_path(name);
    path = owned;
  }
  int rc = path ? aws_config_file_load(path, kind, out, err)
                : aws_config_file_parse("", name, kind, out, err);
  free(owned);
  return rc;
}

int aws_shared_config_load(const char *profile, struct aws_shared_config **out,
                           struct smf_error *err)
{
  struct aws_shared_config *c = smf_xcalloc(1, sizeof(*c));
  int rc = shared_load_one("AWS_CONFIG_FILE", "config", AWS_CONFIG_FILE_CONFIG, &c->config, err);
  if (rc == 0) {
    rc = shared_load_one("AWS_SHARED_CREDENTIALS_FILE", "credentials", AWS_CONFIG_FILE_CREDENTIALS,
                         &c->credentials, err);
  }
  if (rc != 0) {
    aws_shared_config_free(c);
    *out = NULL;
    return rc;
  }
  c->explicit_profile = profile != NULL && *profile != '\0';
  if (!c->explicit_profile) {
    profile = getenv("AWS_PROFILE");
    if (profile == NULL || *profile == '\0') {
      profile = getenv("AWS_DEFAULT_PROFILE");
    }
    if (profile == NULL || *profile == '\0') {
      profile = "default";
    }
  }
  c->profile = smf_xstrdup(profile);
  *out = c;
  return 0;
}

void aws_shared_config_free(struct aws_shared_config *c)
{
  if (c == NULL) {
    return;
  }
  aws_config_file_free(c->config);
  aws_config_file_free(c->credentials);
  free(c->profile);
  free(c);
}

const char *aws_shared_config_profile(const struct aws_shared_config *c)
{
  return c->profile;
}

const char *aws_shared_config_get(const struct aws_shared_config *c, const char *profile,
                                  const char *key)
{
  if (c == NULL) {
    return NULL;
  }
  if (profile == NULL) {
    profile = c->profile;
  }
  const char *v = aws_config_get(c->credentials, profile, key);
  return v ? v : aws_config_get(c->config, profile, key);
}

const char *aws_shared_config_get_sub(const struct aws_shared_config *c, const char *sub,
                                      const char *key)
{
  return c ? aws_config_get_sub(c->config, c->profile, sub, key) : NULL;
}

const char *aws_shared_config_service(const struct aws_shared_config *c, const char *service,
                                      const char *key)
{
  const char *services = c ? aws_config_get(c->config, c->profile, "services") : NULL;
  return services ? aws_config_get_service(c->config, services, service, key) : NULL;
}

const char *aws__shared_config_where(const struct aws_shared_config *c, const char *profile,
                                     const char *key)
{
  if (c == NULL) {
    return NULL;
  }
  const char *w = aws_config_where(c->credentials, profile, key);
  return w ? w : aws_config_where(c->config, profile, key);
}

bool aws__shared_config_has_profile(const struct aws_shared_config *c, const char *profile)
{
  return c && (aws_config_has_profile(c->credentials, profile) ||
               aws_config_has_profile(c->config, profile));
}

int aws_region_resolve(const struct aws_shared_config *c, char *out, size_t n,
                       struct smf_error *err)
{
  const char *r = getenv("AWS_REGION");
  if (r == NULL || *r == '\0') {
    r = getenv("AWS_DEFAULT_REGION");
  }
  if ((r == NULL || *r == '\0') && c != NULL) {
    r = aws_shared_config_get(c, NULL, "region");
  }
  if (r == NULL || *r == '\0') {
    return SMF_ERR_SET(err, SMF_ENOENT, "no AWS region: set AWS_REGION or `region` in profile '%s'",
                       c ? c->profile : "default");
  }
  if (strlen(r) >= n) {
    return SMF_ERR_SET(err, SMF_EINVAL, "AWS region name too long");
  }
  snprintf(out, n, "%s", r);
  return 0;
}

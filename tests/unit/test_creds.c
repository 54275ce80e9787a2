// test_creds.c: the shared config parser, profile selection, region resolution
// and the credential provider chain, on real files in a temporary directory.
#include <stdlib.h>
#include <unistd.h>

#include "aws/config.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "test.h"

static char g_dir[256];

static const char *const k_env[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
};

static char *tmp_path(const char *name)
{
  return smf_xasprintf("%s/%s", g_dir, name);
}

static void write_file(const char *name, const char *text)
{
  char *p = tmp_path(name);
  ASSERT_EQ(smf_file_write_atomic(p, text, strlen(text), NULL), 0);
  free(p);
}

// A clean environment whose shared files are config/credentials in g_dir.
static void env_reset(const char *config, const char *credentials)
{
  for (size_t i = 0; i < SMF_ARRAY_LEN(k_env); i++) {
    unsetenv(k_env[i]);
  }
  char *c = tmp_path("config"), *k = tmp_path("credentials");
  unlink(c);
  unlink(k);
  if (config) write_file("config", config);
  if (credentials) write_file("credentials", credentials);
  setenv("AWS_CONFIG_FILE", c, 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", k, 1);
  setenv("HOME", g_dir, 1);
  free(c);
  free(k);
}

// Resolve with the current environment; returns rc, plan in *out.
static int resolve(const char *profile, struct aws_creds_plan **out, struct smf_error *err)
{
  struct aws_shared_config *c = NULL;
  int rc = aws_shared_config_load(profile, &c, err);
  *out = NULL;
  if (rc == 0) {
    rc = aws_creds_plan_resolve(c, out, err);
  }
  aws_shared_config_free(c);
  return rc;
}

// ---- the parser ----------------------------------------------------------------

TEST(parser_sections_comments_nested)
{
  const char *text =
      "# leading comment\n"
      "[default]\n"
      "region = eu-west-1   \n"
      "; another comment\n"
      "Output=json\n"
      "s3 =\n"
      "  addressing_style = path\n"
      "\tmax_concurrent_requests = 20\n"
      "cli_pager=\n"
      "[profile dev]   # trailing comment\n"
      "region = us-west-2\n"
      "role_arn = arn:aws:iam::123456789012:role/dev\n"
      "[services local]\n"
      "s3 =\n"
      "  endpoint_url = http://127.0.0.1:9000\n"
      "[sso-session x]\n"
      "sso_region = us-east-1\n"
      "[default]\n"
      "region = eu-central-1\n";
  struct aws_config_file *f = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_config_file_parse(text, "cfg", AWS_CONFIG_FILE_CONFIG, &f, &err), 0);
  ASSERT_STREQ(aws_config_get(f, "default", "region"), "eu-central-1");  // last wins
  ASSERT_STREQ(aws_config_get(f, "default", "output"), "json");          // keys lowercased
  ASSERT_STREQ(aws_config_get(f, "default", "OUTPUT"), "json");
  ASSERT_STREQ(aws_config_get(f, "default", "s3"), "");
  ASSERT_STREQ(aws_config_get_sub(f, "default", "s3", "addressing_style"), "path");
  ASSERT_STREQ(aws_config_get_sub(f, "default", "s3", "max_concurrent_requests"), "20");
  ASSERT(aws_config_get(f, "default", "addressing_style") == NULL);
  ASSERT_STREQ(aws_config_get(f, "default", "cli_pager"), "");
  ASSERT_STREQ(aws_config_get(f, "dev", "role_arn"), "arn:aws:iam::123456789012:role/dev");
  ASSERT(aws_config_get(f, "profile dev", "region") == NULL);
  ASSERT_STREQ(aws_config_get_service(f, "local", "s3", "endpoint_url"), "http://127.0.0.1:9000");
  ASSERT(!aws_config_has_profile(f, "x"));
  ASSERT(aws_config_has_profile(f, "dev"));
  ASSERT_STREQ(aws_config_where(f, "dev", "region"), "cfg:11");
  aws_config_file_free(f);

  // In the credentials file "[profile dev]" is a profile literally named so.
  ASSERT_EQ(aws_config_file_parse("[profile dev]\na=1\n[dev]\na=2\n", "creds",
                                  AWS_CONFIG_FILE_CREDENTIALS, &f, &err),
            0);
  ASSERT_STREQ(aws_config_get(f, "profile dev", "a"), "1");
  ASSERT_STREQ(aws_config_get(f, "dev", "a"), "2");
  aws_config_file_free(f);
}

TEST(parser_errors_have_file_and_line)
{
  struct {
    const char *text;
    const char *msg;
  } cases[] = {
      {"region = x\n", "f.ini:1: 'key = value' before any [section]"},
      {"[default]\nregion x\n", "f.ini:2: expected 'key = value'"},
      {"[default\nregion = x\n", "f.ini:1: section header without ']'"},
      {"[default]\n\n[]\n", "f.ini:3: empty section name"},
      {"[default]\n= x\n", "f.ini:2: missing key before '='"},
      {"[default] x\n", "f.ini:1: unexpected text after section header"},
      {"[default]\ns3 =\n  nokey\n", "f.ini:3: expected 'key = value' in a nested block"},
      {"[default]\n  a = b\n", "f.ini:2: indented line outside of a nested block"},
      {"[profile ]\n", "f.ini:1: section name missing after its type"},
  };
  for (size_t i = 0; i < SMF_ARRAY_LEN(cases); i++) {
    struct aws_config_file *f = NULL;
    struct smf_error err = SMF_ERROR_INIT;
    ASSERT_EQ(aws_config_file_parse(cases[i].text, "f.ini", AWS_CONFIG_FILE_CONFIG, &f, &err),
              SMF_EPARSE);
    ASSERT(f == NULL);
    ASSERT_STREQ(err.message, cases[i].msg);
  }
}

TEST(load_missing_and_malformed_files)
{
  env_reset(NULL, NULL);
  struct aws_shared_config *c = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_shared_config_load(NULL, &c, &err), 0);  // missing files are empty
  ASSERT_STREQ(aws_shared_config_profile(c), "default");
  aws_shared_config_free(c);

  env_reset("[default]\nregion = x\n", "[default]\naws_access_key_id AKID\n");
  ASSERT_EQ(aws_shared_config_load(NULL, &c, &err), SMF_EPARSE);
  ASSERT_CONTAINS(err.message, "/credentials:2: expected 'key = value'");
  ASSERT_CONTAINS(err.message, g_dir);
}

// ---- profiles, region --------------------------------------------------------------

TEST(profile_selection_and_region)
{
  env_reset("[default]\nregion = eu-west-1\n[profile dev]\nregion = us-west-2\n", NULL);
  struct aws_shared_config *c = NULL;
  char region[64];
  ASSERT_EQ(aws_shared_config_load(NULL, &c, NULL), 0);
  ASSERT_EQ(aws_region_resolve(c, region, sizeof(region), NULL), 0);
  ASSERT_STREQ(region, "eu-west-1");
  aws_shared_config_free(c);

  setenv("AWS_DEFAULT_PROFILE", "dev", 1);
  ASSERT_EQ(aws_shared_config_load(NULL, &c, NULL), 0);
  ASSERT_STREQ(aws_shared_config_profile(c), "dev");
  ASSERT_EQ(aws_region_resolve(c, region, sizeof(region), NULL), 0);
  ASSERT_STREQ(region, "us-west-2");
  setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
  ASSERT_EQ(aws_region_resolve(c, region, sizeof(region), NULL), 0);
  ASSERT_STREQ(region, "ap-south-1");
  setenv("AWS_REGION", "cn-north-1", 1);
  ASSERT_EQ(aws_region_resolve(c, region, sizeof(region), NULL), 0);
  ASSERT_STREQ(region, "cn-north-1");
  aws_shared_config_free(c);

  setenv("AWS_PROFILE", "default", 1);  // AWS_PROFILE beats AWS_DEFAULT_PROFILE
  ASSERT_EQ(aws_shared_config_load(NULL, &c, NULL), 0);
  ASSERT_STREQ(aws_shared_config_profile(c), "default");
  aws_shared_config_free(c);
  ASSERT_EQ(aws_shared_config_load("dev", &c, NULL), 0);  // an explicit profile beats both
  ASSERT_STREQ(aws_shared_config_profile(c), "dev");
  aws_shared_config_free(c);

  env_reset(NULL, NULL);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_shared_config_load(NULL, &c, NULL), 0);
  ASSERT_EQ(aws_region_resolve(c, region, sizeof(region), &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "no AWS region");
  aws_shared_config_free(c);
}

// ---- the provider chain ----------------------------------------------------------

TEST(env_first_then_files)
{
  env_reset("[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n",
            "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
            "aws_session_token = filetoken\n");
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  setenv("AWS_SESSION_TOKEN", "envtoken", 1);
  struct aws_creds_plan *p = NULL;
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_EQ(p->kind, AWS_CREDS_KIND_STATIC);
  ASSERT_STREQ(p->provider, "env");
  ASSERT_STREQ(p->creds.access_key_id, "ENVKEY");
  ASSERT_STREQ(p->creds.secret_access_key, "envsecret");
  ASSERT_STREQ(p->creds.session_token, "envtoken");
  aws_creds_plan_free(p);

  // An explicit profile ignores the environment keys (as `aws --profile` does).
  ASSERT_EQ(resolve("default", &p, NULL), 0);
  ASSERT_STREQ(p->provider, "shared-credentials-file");
  ASSERT_STREQ(p->creds.access_key_id, "FILEKEY");
  ASSERT_STREQ(p->creds.session_token, "filetoken");
  aws_creds_plan_free(p);

  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("AWS_SESSION_TOKEN");
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);  // credentials file beats config file
  ASSERT_STREQ(p->creds.access_key_id, "FILEKEY");
  aws_creds_plan_free(p);

  env_reset("[default]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n", NULL);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_STREQ(p->provider, "config-file");
  ASSERT_STREQ(p->creds.access_key_id, "CFGKEY");
  ASSERT(p->creds.session_token == NULL);
  aws_creds_plan_free(p);
}

TEST(partial_and_missing)
{
  struct aws_creds_plan *p = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  env_reset(NULL, NULL);
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);
  ASSERT_EQ(resolve(NULL, &p, &err), SMF_ECREDS);
  ASSERT_CONTAINS(err.message, "AWS_SECRET_ACCESS_KEY");

  env_reset(NULL, "[default]\n\n\naws_access_key_id = K\n");
  ASSERT_EQ(resolve(NULL, &p, &err), SMF_ECREDS);
  ASSERT_CONTAINS(err.message, "/credentials:4: profile 'default' has partial credentials");

  env_reset(NULL, NULL);
  setenv("AWS_PROFILE", "nope", 1);
  ASSERT_EQ(resolve(NULL, &p, &err), SMF_ECREDS);
  ASSERT_CONTAINS(err.message, "'nope'");

  env_reset(NULL, NULL);
  setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
  ASSERT_EQ(resolve(NULL, &p, &err), SMF_ECREDS);
  ASSERT_CONTAINS(err.message, "no AWS credentials found");
  ASSERT(p == NULL);
}

TEST(fallback_container_then_imds)
{
  struct aws_creds_plan *p = NULL;
  env_reset(NULL, NULL);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_EQ(p->kind, AWS_CREDS_KIND_IMDS);
  ASSERT_STREQ(p->url, "http://169.254.169.254");
  aws_creds_plan_free(p);

  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1234/", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_STREQ(p->url, "http://127.0.0.1:1234");
  aws_creds_plan_free(p);

  setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_EQ(p->kind, AWS_CREDS_KIND_CONTAINER);
  ASSERT_STREQ(p->url, "http://169.254.170.2/v2/credentials/abc");
  ASSERT_STREQ(p->auth_token, "tok");
  aws_creds_plan_free(p);

  unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds", 1);
  setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/run/token", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_STREQ(p->url, "http://127.0.0.1:9/creds");
  ASSERT_STREQ(p->auth_token_file, "/run/token");  // the file beats the inline token
  ASSERT(p->auth_token == NULL);
  aws_creds_plan_free(p);

  // Plain http only to the loopback or the container agent.
  const char *ok[] = {"https://creds.example.com/x", "http://localhost:80/c",
                      "http://169.254.170.23/v1/credentials", "http://[::1]:9/c"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(ok); i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok[i], 1);
    ASSERT_EQ(resolve(NULL, &p, NULL), 0);
    ASSERT_STREQ(p->url, ok[i]);
    aws_creds_plan_free(p);
  }
  struct smf_error err = SMF_ERROR_INIT;
  const char *bad[] = {"http://10.0.0.1/creds", "http://127.0.0.1.evil.com/x", "ftp://x/y"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(bad); i++) {
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad[i], 1);
    ASSERT_EQ(resolve(NULL, &p, &err), SMF_ECREDS);
    ASSERT_CONTAINS(err.message, "must be https://");
  }
}

TEST(assume_role_chains)
{
  const char *config =
      "[default]\nregion = eu-west-1\n"
      "[profile base]\naws_access_key_id = BASEKEY\naws_secret_access_key = basesecret\n"
      "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = base\n"
      "external_id = ext\nrole_session_name = sess-a\nduration_seconds = 1800\n"
      "[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\nregion = us-east-2\n"
      "[profile self]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = self\n"
      "aws_access_key_id = SELFKEY\naws_secret_access_key = selfsecret\n"
      "[profile envsrc]\nrole_arn = arn:aws:iam::1:role/e\ncredential_source = Environment\n"
      "[profile imdssrc]\nrole_arn = arn:aws:iam::1:role/i\ncredential_source = "
      "Ec2InstanceMetadata\n"
      "[profile loop1]\nrole_arn = arn:aws:iam::1:role/l1\nsource_profile = loop2\n"
      "[profile loop2]\nrole_arn = arn:aws:iam::1:role/l2\nsource_profile = loop1\n"
      "[profile both]\nrole_arn = r\nsource_profile = base\ncredential_source = Environment\n"
      "[profile ghost]\nrole_arn = r\nsource_profile = missing\n"
      "[profile badcs]\nrole_arn = r\ncredential_source = Nowhere\n"
      "[profile wi]\nrole_arn = arn:aws:iam::1:role/w\nweb_identity_token_file = /tok\n"
      "[profile chainwi]\nrole_arn = arn:aws:iam::1:role/cw\nsource_profile = wi\n";
  env_reset(config, NULL);
  setenv("AWS_ACCESS_KEY_ID", "ENVKEY", 1);  // not used: explicit profiles below
  setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  struct aws_creds_plan *p = NULL;
  struct smf_error err = SMF_ERROR_INIT;

  ASSERT_EQ(resolve("b", &p, NULL), 0);
  ASSERT_EQ(p->kind, AWS_CREDS_KIND_ASSUME_ROLE);
  ASSERT_STREQ(p->role_arn, "arn:aws:iam::1:role/b");
  ASSERT_STREQ(p->region, "us-east-2");
  ASSERT(p->source && p->source->kind == AWS_CREDS_KIND_ASSUME_ROLE);
  ASSERT_STREQ(p->source->role_arn, "arn:aws:iam::1:role/a");
  ASSERT_STREQ(p->source->external_id, "ext");
  ASSERT_STREQ(p->source->session_name, "sess-a");
  ASSERT_EQ(p->source->duration_s, 1800);
  ASSERT(p->source->source && p->source->source->kind == AWS_CREDS_KIND_STATIC);
  ASSERT_STREQ(p->source->source->creds.access_key_id, "BASEKEY");
  char *d = aws_creds_plan_describe(p);
  ASSERT_STREQ(d,
               "assume-role(b) arn:aws:iam::1:role/b <- assume-role(a) arn:aws:iam::1:role/a "
               "<- config-file(base)");
  ASSERT(strstr(d, "secret") == NULL);
  free(d);
  aws_creds_plan_free(p);

  ASSERT_EQ(resolve("self", &p, NULL), 0);
  ASSERT_STREQ(p->source->creds.access_key_id, "SELFKEY");
  ASSERT(smf_str_startswith(p->session_name, "smflow-"));  // generated
  aws_creds_plan_free(p);

  ASSERT_EQ(resolve("envsrc", &p, NULL), 0);
  ASSERT_STREQ(p->source->provider, "env");
  ASSERT_STREQ(p->source->creds.access_key_id, "ENVKEY");
  aws_creds_plan_free(p);

  ASSERT_EQ(resolve("imdssrc", &p, NULL), 0);
  ASSERT_EQ(p->source->kind, AWS_CREDS_KIND_IMDS);
  aws_creds_plan_free(p);

  ASSERT_EQ(resolve("chainwi", &p, NULL), 0);
  ASSERT_EQ(p->source->kind, AWS_CREDS_KIND_WEB_IDENTITY);
  ASSERT_STREQ(p->source->token_file, "/tok");
  aws_creds_plan_free(p);

  ASSERT_EQ(resolve("loop1", &p, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "loops back");
  ASSERT_CONTAINS(err.message, "/config:");
  ASSERT_EQ(resolve("both", &p, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "mutually exclusive");
  ASSERT_EQ(resolve("ghost", &p, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "source_profile 'missing' does not exist");
  ASSERT_EQ(resolve("badcs", &p, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "credential_source must be");
  unsetenv("AWS_ACCESS_KEY_ID");
  ASSERT_EQ(resolve("envsrc", &p, &err), SMF_ECREDS);
}

TEST(web_identity_env_and_profile)
{
  env_reset("[default]\nregion = eu-north-1\n",
            "[default]\naws_access_key_id = K\n"
            "aws_secret_access_key = S\n");
  struct aws_creds_plan *p = NULL;
  setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);  // no role: the file keys are used
  ASSERT_STREQ(p->provider, "shared-credentials-file");
  aws_creds_plan_free(p);
  setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/ci", 1);
  setenv("AWS_ROLE_SESSION_NAME", "gh-run", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);  // web identity comes before the files' keys
  ASSERT_EQ(p->kind, AWS_CREDS_KIND_WEB_IDENTITY);
  ASSERT_STREQ(p->token_file, "/var/run/token");
  ASSERT_STREQ(p->role_arn, "arn:aws:iam::1:role/ci");
  ASSERT_STREQ(p->session_name, "gh-run");
  ASSERT_STREQ(p->region, "eu-north-1");
  aws_creds_plan_free(p);
  setenv("AWS_ACCESS_KEY_ID", "E", 1);  // but after environment keys
  setenv("AWS_SECRET_ACCESS_KEY", "S", 1);
  ASSERT_EQ(resolve(NULL, &p, NULL), 0);
  ASSERT_STREQ(p->provider, "env");
  aws_creds_plan_free(p);
}

TEST(creds_value_type)
{
  struct aws_creds a = AWS_CREDS_INIT, b = AWS_CREDS_INIT;
  ASSERT(!aws_creds_valid(&a));
  aws_creds_set(&a, "ID", "SECRET", "", 42, "test");
  ASSERT(a.session_token == NULL);  // empty token = none
  ASSERT(aws_creds_valid(&a));
  aws_creds_copy(&b, &a);
  ASSERT_STREQ(b.secret_access_key, "SECRET");
  ASSERT_EQ(b.expiration_ms, 42);
  aws_creds_clear(&a);
  aws_creds_clear(&b);
  ASSERT(a.access_key_id == NULL && !aws_creds_valid(&b));
  aws_creds_clear(NULL);
}

int main(void)
{
  snprintf(g_dir, sizeof(g_dir), "/tmp/smf-test-creds-XXXXXX");
  ASSERT(mkdtemp(g_dir) != NULL);
  RUN_TEST(parser_sections_comments_nested);
  RUN_TEST(parser_errors_have_file_and_line);
  RUN_TEST(load_missing_and_malformed_files);
  RUN_TEST(profile_selection_and_region);
  RUN_TEST(env_first_then_files);
  RUN_TEST(partial_and_missing);
  RUN_TEST(fallback_container_then_imds);
  RUN_TEST(assume_role_chains);
  RUN_TEST(web_identity_env_and_profile);
  RUN_TEST(creds_value_type);
  char *cmd = smf_xasprintf("rm -rf '%s'", g_dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  return TEST_REPORT();
}

// test_endpoint.c: regional endpoints, partitions, S3 addressing and the
// endpoint overrides from the environment and the config file.
#include <stdlib.h>
#include <unistd.h>

#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "test.h"

static char g_dir[256];

static void env_clear(void)
{
  const char *vars[] = {"AWS_ENDPOINT_URL",
                        "AWS_ENDPOINT_URL_S3",
                        "AWS_ENDPOINT_URL_SAGEMAKER",
                        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME",
                        "AWS_ENDPOINT_URL_STS",
                        "AWS_ENDPOINT_URL_LOGS",
                        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                        "AWS_PROFILE",
                        "AWS_DEFAULT_PROFILE"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(vars); i++) {
    unsetenv(vars[i]);
  }
}

static void expect(enum aws_service svc, const char *region, const char *url,
                   const char *signing_name, const char *signing_region, const char *partition)
{
  struct aws_endpoint ep;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_endpoint_resolve(NULL, svc, region, &ep, &err), 0);
  ASSERT_STREQ(ep.url, url);
  ASSERT_STREQ(ep.host, url + strlen("https://"));
  ASSERT_STREQ(ep.signing_name, signing_name);
  ASSERT_STREQ(ep.signing_region, signing_region);
  ASSERT_STREQ(ep.partition, partition);
  ASSERT(!ep.overridden);
}

TEST(regional_endpoints)
{
  env_clear();
  expect(AWS_SVC_SAGEMAKER, "eu-west-1", "https://api.sagemaker.eu-west-1.amazonaws.com",
         "sagemaker", "eu-west-1", "aws");
  expect(AWS_SVC_RUNTIME, "eu-west-1", "https://runtime.sagemaker.eu-west-1.amazonaws.com",
         "sagemaker", "eu-west-1", "aws");
  expect(AWS_SVC_S3, "eu-west-1", "https://s3.eu-west-1.amazonaws.com", "s3", "eu-west-1", "aws");
  expect(AWS_SVC_S3, "us-east-1", "https://s3.amazonaws.com", "s3", "us-east-1", "aws");
  expect(AWS_SVC_STS, "eu-west-1", "https://sts.eu-west-1.amazonaws.com", "sts", "eu-west-1",
         "aws");
  expect(AWS_SVC_STS, NULL, "https://sts.amazonaws.com", "sts", "us-east-1", "aws");
  expect(AWS_SVC_LOGS, "ap-southeast-2", "https://logs.ap-southeast-2.amazonaws.com", "logs",
         "ap-southeast-2", "aws");
  expect(AWS_SVC_SAGEMAKER, "cn-north-1", "https://api.sagemaker.cn-north-1.amazonaws.com.cn",
         "sagemaker", "cn-north-1", "aws-cn");
  expect(AWS_SVC_S3, "cn-northwest-1", "https://s3.cn-northwest-1.amazonaws.com.cn", "s3",
         "cn-northwest-1", "aws-cn");
  expect(AWS_SVC_STS, "us-gov-west-1", "https://sts.us-gov-west-1.amazonaws.com", "sts",
         "us-gov-west-1", "aws-us-gov");
  ASSERT_STREQ(aws_partition_of("us-gov-east-1"), "aws-us-gov");
  ASSERT_STREQ(aws_partition_of("cn-north-1"), "aws-cn");
  ASSERT_STREQ(aws_partition_of("eu-central-1"), "aws");

  struct aws_endpoint ep;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_S3, "evil.com/x", &ep, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "not a valid AWS region");
}

static void s3_expect(const struct aws_endpoint *ep, const char *bucket, const char *key,
                      const char *url, const char *host, const char *path)
{
  struct aws_s3_addr a;
  ASSERT_EQ(aws_s3_addr_make(ep, bucket, key, &a, NULL), 0);
  ASSERT_STREQ(a.url, url);
  ASSERT_STREQ(a.host, host);
  ASSERT_STREQ(a.path, path);
  aws_s3_addr_free(&a);
}

TEST(s3_addressing)
{
  env_clear();
  struct aws_endpoint ep;
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_S3, "eu-west-1", &ep, NULL), 0);
  s3_expect(&ep, "my-bucket", "code/a b+c.tar.gz",
            "https://my-bucket.s3.eu-west-1.amazonaws.com/code/a%20b%2Bc.tar.gz",
            "my-bucket.s3.eu-west-1.amazonaws.com", "/code/a%20b%2Bc.tar.gz");
  s3_expect(&ep, "my-bucket", NULL, "https://my-bucket.s3.eu-west-1.amazonaws.com/",
            "my-bucket.s3.eu-west-1.amazonaws.com", "/");
  // Dots (the TLS wildcard does not cover them) and upper case: path-style.
  s3_expect(&ep, "my.bucket", "k", "https://s3.eu-west-1.amazonaws.com/my.bucket/k",
            "s3.eu-west-1.amazonaws.com", "/my.bucket/k");
  s3_expect(&ep, "My_Bucket", "k", "https://s3.eu-west-1.amazonaws.com/My_Bucket/k",
            "s3.eu-west-1.amazonaws.com", "/My_Bucket/k");
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_S3, "us-east-1", &ep, NULL), 0);
  s3_expect(&ep, "examplebucket", "test.txt", "https://examplebucket.s3.amazonaws.com/test.txt",
            "examplebucket.s3.amazonaws.com", "/test.txt");
  ASSERT(aws_s3_bucket_virtual_ok("abc"));
  ASSERT(!aws_s3_bucket_virtual_ok("ab"));
  ASSERT(!aws_s3_bucket_virtual_ok("-abc"));
  ASSERT(!aws_s3_bucket_virtual_ok("abc-"));
  ASSERT(!aws_s3_bucket_virtual_ok("12345"));
  struct aws_s3_addr a;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_s3_addr_make(&ep, "a/b", "k", &a, &err), SMF_EINVAL);
}

TEST(env_overrides)
{
  env_clear();
  struct aws_endpoint ep;
  struct smf_error err = SMF_ERROR_INIT;
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
  setenv("AWS_ENDPOINT_URL_S3", "http://localhost:9000/base/", 1);
  setenv("AWS_ENDPOINT_URL_LOGS", "http://127.0.0.1:7000", 1);
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_S3, "eu-west-1", &ep, NULL), 0);
  ASSERT(ep.overridden && ep.s3_path_style);
  ASSERT_STREQ(ep.url, "http://localhost:9000/base");
  ASSERT_STREQ(ep.host, "localhost:9000");
  ASSERT_STREQ(ep.signing_region, "eu-west-1");
  s3_expect(&ep, "my-bucket", "x/y", "http://localhost:9000/base/my-bucket/x/y", "localhost:9000",
            "/base/my-bucket/x/y");
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_SAGEMAKER, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:5000");
  ASSERT_STREQ(ep.signing_name, "sagemaker");
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_LOGS, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:7000");
  setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:7001", 1);
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_LOGS, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:7001");
  setenv("AWS_ENDPOINT_URL_STS", "ftp://x", 1);
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_STS, "eu-west-1", &ep, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "ftp://x");
  setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
  ASSERT_EQ(aws_endpoint_resolve(NULL, AWS_SVC_STS, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "https://sts.eu-west-1.amazonaws.com");
  env_clear();
}

TEST(config_overrides)
{
  env_clear();
  char *cfg = smf_xasprintf("%s/config", g_dir);
  const char *text =
      "[default]\nendpoint_url = http://127.0.0.1:4000\nservices = local\n"
      "[services local]\nsagemaker =\n  endpoint_url = http://127.0.0.1:4001\n"
      "[profile styled]\ns3 =\n  addressing_style = path\n";
  ASSERT_EQ(smf_file_write_atomic(cfg, text, strlen(text), NULL), 0);
  setenv("AWS_CONFIG_FILE", cfg, 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
  struct aws_shared_config *c = NULL;
  ASSERT_EQ(aws_shared_config_load(NULL, &c, NULL), 0);
  struct aws_endpoint ep;
  ASSERT_EQ(aws_endpoint_resolve(c, AWS_SVC_SAGEMAKER, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:4001");  // services block beats endpoint_url
  ASSERT_EQ(aws_endpoint_resolve(c, AWS_SVC_S3, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:4000");
  ASSERT(ep.s3_path_style);
  setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:4002", 1);  // env beats config
  ASSERT_EQ(aws_endpoint_resolve(c, AWS_SVC_SAGEMAKER, "eu-west-1", &ep, NULL), 0);
  ASSERT_STREQ(ep.url, "http://127.0.0.1:4002");
  aws_shared_config_free(c);

  ASSERT_EQ(aws_shared_config_load("styled", &c, NULL), 0);
  ASSERT_EQ(aws_endpoint_resolve(c, AWS_SVC_S3, "eu-west-1", &ep, NULL), 0);
  ASSERT(!ep.overridden && ep.s3_path_style);
  s3_expect(&ep, "my-bucket", "k", "https://s3.eu-west-1.amazonaws.com/my-bucket/k",
            "s3.eu-west-1.amazonaws.com", "/my-bucket/k");
  aws_shared_config_free(c);
  unlink(cfg);
  free(cfg);
  env_clear();
}

int main(void)
{
  snprintf(g_dir, sizeof(g_dir), "/tmp/smf-test-endpoint-XXXXXX");
  ASSERT(mkdtemp(g_dir) != NULL);
  RUN_TEST(regional_endpoints);
  RUN_TEST(s3_addressing);
  RUN_TEST(env_overrides);
  RUN_TEST(config_overrides);
  rmdir(g_dir);
  return TEST_REPORT();
}

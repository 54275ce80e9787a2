// test_aws_images.c: framework + versions + instance type → the image URI of
// the SageMaker Python SDK v2's image_uris.retrieve, for known URIs published
// in AWS's Deep Learning Containers and SageMaker documentation, across
// regions and partitions; unsupported combinations name what is supported.
#include <stdlib.h>
#include <string.h>

#include "target/aws/awst.h"
#include "test.h"

struct img_case {
  const char *fw, *version, *py, *itype, *region;
  enum awst_scope scope;
  const char *want;
};

static const struct img_case cases[] = {
    {"pytorch", "2.1", "py310", "ml.p3.2xlarge", "us-west-2", AWST_SCOPE_TRAINING,
     "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.1-gpu-py310"},
    {"pytorch", "2.1.0", "py310", "ml.g5.xlarge", "us-west-2", AWST_SCOPE_TRAINING,
     "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-training:2.1.0-gpu-py310"},
    {"pytorch", "2.1", "py310", "ml.m5.xlarge", "us-east-1", AWST_SCOPE_INFERENCE,
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1-cpu-py310"},
    {"sklearn", "1.2-1", NULL, "ml.m5.large", "us-east-1", AWST_SCOPE_TRAINING,
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"},
    {"sklearn", "1.2-1", "py3", "ml.m5.large", "eu-west-1", AWST_SCOPE_TRAINING,
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"},
    {"xgboost", "1.7-1", NULL, "ml.m5.xlarge", "us-east-1", AWST_SCOPE_TRAINING,
     "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    {"xgboost", "1.7-1", NULL, "ml.m5.xlarge", "eu-west-1", AWST_SCOPE_TRAINING,
     "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    {"tensorflow", "2.13", "py310", "ml.c5.xlarge", "eu-west-1", AWST_SCOPE_TRAINING,
     "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-training:2.13-cpu-py310"},
    {"tensorflow", "2.13", "py310", "ml.p3.2xlarge", "eu-west-1", AWST_SCOPE_TRAINING,
     "763104351884.dkr.ecr.eu-west-1.amazonaws.com/tensorflow-training:2.13-gpu-py310"},
    {"pytorch", "2.1", "py310", "ml.p3.2xlarge", "cn-north-1", AWST_SCOPE_TRAINING,
     "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/pytorch-training:2.1-gpu-py310"},
    {"pytorch", "2.1", "py310", "ml.p3.2xlarge", "us-gov-west-1", AWST_SCOPE_TRAINING,
     "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/pytorch-training:2.1-gpu-py310"},
    {"sklearn", "1.2-1", "py3", "ml.m5.large", "cn-north-1", AWST_SCOPE_TRAINING,
     "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-scikit-learn:1.2-1-cpu-py3"},
    {"huggingface", "4.36.0", "py310", "ml.g5.2xlarge", "us-east-1", AWST_SCOPE_TRAINING,
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
     "2.1.0-transformers4.36.0-gpu-py310-cu121-ubuntu20.04"},
};

TEST(known_uris)
{
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const struct img_case *c = &cases[i];
    char *uri = NULL;
    struct smf_error err = SMF_ERROR_INIT;
    int rc = awst_image_uri(NULL, c->fw, c->version, c->py, c->itype, c->region, c->scope, false,
                            &uri, &err);
    if (rc != 0) {
      fprintf(stderr, "case %zu: %s\n", i, err.message);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(uri, c->want);
    free(uri);
  }
}

TEST(unsupported_names_what_is_supported)
{
  char *uri = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(awst_image_uri(NULL, "pytorch", "9.9", "py310", "ml.m5.large", "us-east-1",
                           AWST_SCOPE_TRAINING, false, &uri, &err),
            SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "unsupported pytorch version: 9.9");
  ASSERT_CONTAINS(err.message, "2.1");
  smf_error_clear(&err);
  ASSERT_EQ(awst_image_uri(NULL, "pytorch", "2.1", "py27", "ml.m5.large", "us-east-1",
                           AWST_SCOPE_TRAINING, false, &uri, &err),
            SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "py310");
  smf_error_clear(&err);
  ASSERT_EQ(awst_image_uri(NULL, "sklearn", "1.2-1", "py3", "ml.p3.2xlarge", "us-east-1",
                           AWST_SCOPE_TRAINING, false, &uri, &err),
            SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "Supported: cpu");
  smf_error_clear(&err);
  ASSERT_EQ(awst_image_uri(NULL, "mxnet", "1.9", "py38", "ml.m5.large", "us-east-1",
                           AWST_SCOPE_TRAINING, false, &uri, &err),
            SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "supported: pytorch, tensorflow");
  smf_error_clear(&err);
  ASSERT_EQ(awst_image_uri(NULL, "pytorch", "2.1", "py310", "ml.m5.large", "xx-nowhere-1",
                           AWST_SCOPE_TRAINING, false, &uri, &err),
            SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "not offered in region xx-nowhere-1");
  ASSERT(uri == NULL);
}

int main(void)
{
  RUN_TEST(known_uris);
  RUN_TEST(unsupported_names_what_is_supported);
  return TEST_REPORT();
}

// fuzz_aws_config.c: libFuzzer target for the AWS shared config/credentials
// parser (src/aws/config.c): any bytes must parse or fail cleanly, and every
// lookup on a parsed file must be safe.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/config.h"
#include "smflow/error.h"
#include "smflow/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = smf_xstrndup((const char *)data, size);
  for (int kind = 0; kind < 2; kind++) {
    struct aws_config_file *f = NULL;
    struct smf_error err = SMF_ERROR_INIT;
    if (aws_config_file_parse(text, "fuzz", (enum aws_config_kind)kind, &f, &err) == 0) {
      const char *profiles[] = {"default", "dev", "a", ""};
      for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        (void)aws_config_has_profile(f, profiles[i]);
        (void)aws_config_get(f, profiles[i], "region");
        (void)aws_config_get_sub(f, profiles[i], "s3", "addressing_style");
        (void)aws_config_get_service(f, profiles[i], "s3", "endpoint_url");
        (void)aws_config_where(f, profiles[i], "role_arn");
      }
      aws_config_file_free(f);
    } else if (err.message[0] == '\0') {
      abort();  // a failure must say why
    }
  }
  free(text);
  return 0;
}

// shared_config.h: internals of struct aws_shared_config shared by
// shared_config.c and creds_chain.c.
#pragma once

#include <stdbool.h>

#include "aws/config.h"
#include "smflow/aws.h"

struct aws_shared_config {
  struct aws_config_file *config;
  struct aws_config_file *credentials;
  char *profile;
  bool explicit_profile;  ///< chosen by the caller, not by AWS_PROFILE
};

/// "FILE:LINE" of a profile key (credentials file first), or NULL. Borrowed
/// until the next call.
const char *aws__shared_config_where(const struct aws_shared_config *c, const char *profile,
                                     const char *key);
/// True when either file has the profile.
bool aws__shared_config_has_profile(const struct aws_shared_config *c, const char *profile);

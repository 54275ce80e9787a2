// config.h: the AWS shared config and credentials files (~/.aws/config,
// ~/.aws/credentials), parsed the way the AWS CLI reads them.
//
// Format: `[section]` headers, `key = value` lines, whole-line comments that
// start with '#' or ';', and nested sub-sections: a key with an empty value
// followed by indented `key = value` lines (e.g. `s3 =` then
// `  addressing_style = path`). Keys are case-insensitive (stored lowercase).
// In the config file profiles are `[default]` or `[profile NAME]`; services
// blocks are `[services NAME]`. In the credentials file profiles are `[NAME]`.
// Repeated sections merge; a repeated key keeps the last value.
#pragma once

#include <stdbool.h>

struct smf_error;

/// Which of the two files: it decides how section headers name profiles.
enum aws_config_kind {
  AWS_CONFIG_FILE_CONFIG,       ///< [default], [profile NAME], [services NAME], ...
  AWS_CONFIG_FILE_CREDENTIALS,  ///< [NAME]
};

struct aws_config_file;

/// Parse `path`. A missing file is not an error: *out is then an empty file.
/// Syntax errors fail with SMF_EPARSE and "PATH:LINE: ..." in *err.
/// Caller frees *out with aws_config_file_free().
int aws_config_file_load(const char *path, enum aws_config_kind kind, struct aws_config_file **out,
                         struct smf_error *err);
/// Parse text already in memory; `name` is used in error messages.
int aws_config_file_parse(const char *text, const char *name, enum aws_config_kind kind,
                          struct aws_config_file **out, struct smf_error *err);
/// Free; zeroes values (they may hold secrets). NULL-safe.
void aws_config_file_free(struct aws_config_file *f);

/// True when the file has a profile of that name.
bool aws_config_has_profile(const struct aws_config_file *f, const char *profile);
/// A profile's top-level value, or NULL. Borrowed from f. `key` is matched
/// case-insensitively.
const char *aws_config_get(const struct aws_config_file *f, const char *profile, const char *key);
/// A nested value (`sub =` block), e.g. ("default", "s3", "addressing_style"). Borrowed.
const char *aws_config_get_sub(const struct aws_config_file *f, const char *profile,
                               const char *sub, const char *key);
/// A value of a `[services NAME]` block: ("my-services", "s3", "endpoint_url"). Borrowed.
const char *aws_config_get_service(const struct aws_config_file *f, const char *services,
                                   const char *service, const char *key);
/// "PATH:LINE" where a profile's key was set (for messages), or NULL. Valid
/// until the next call on this thread.
const char *aws_config_where(const struct aws_config_file *f, const char *profile, const char *key);

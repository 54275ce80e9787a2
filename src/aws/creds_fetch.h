// creds_fetch.h: one asynchronous credentials fetch (STS AssumeRole,
// AssumeRoleWithWebIdentity, container endpoint, IMDSv2), internal to the
// credentials provider.
#pragma once

#include <stdint.h>

#include "smflow/aws.h"

struct aws_http;
struct aws__creds_fetch;

/// What a fetch needs from its provider. Copied by aws__creds_fetch_start.
struct aws__creds_fetch_env {
  struct aws_http *http;          ///< borrowed
  long timeout_ms;                ///< per HTTP request
  int64_t (*now_ms)(void *data);  ///< NULL: wall clock
  void *now_data;
  unsigned *counter;  ///< incremented per HTTP request sent
};

/// Outcome: rc 0 and *creds (borrowed for the call), or rc < 0 and *err.
typedef void (*aws__creds_fetch_cb)(void *data, int rc, struct aws_creds *creds,
                                    const struct smf_error *err);

/// Start fetching credentials for `plan` (borrowed until the callback). The
/// callback runs exactly once, from the loop, unless this returns an error.
/// The fetch frees itself after its callback.
int aws__creds_fetch_start(const struct aws__creds_fetch_env *env,
                           const struct aws_creds_plan *plan, aws__creds_fetch_cb cb, void *data,
                           struct aws__creds_fetch **out, struct smf_error *err);
/// Cancel: the callback still runs, later, with SMF_ECANCELLED. NULL-safe.
void aws__creds_fetch_cancel(struct aws__creds_fetch *f);

/// Parse an ISO-8601 UTC time ("2026-01-02T03:04:05Z", optional fraction or
/// "+00:00") into Unix ms. Returns 0 or SMF_EINVAL.
int aws__parse_time_ms(const char *s, int64_t *out);

// aws_it.h: shared helpers of the AWS client integration driver.
#pragma once

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "smflow/aws.h"
#include "smflow/util.h"

#define CHECK(cond)                                                             \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

#define CHECK_OK(rc, err)                                                              \
  do {                                                                                 \
    if ((rc) != 0) {                                                                   \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #rc, (err)->message); \
      exit(1);                                                                         \
    }                                                                                  \
  } while (0)

extern uv_loop_t *it_loop;

/// A client for the environment's endpoint and key (endpoint overridable).
struct aws_client *it_client(const char *endpoint);
/// Run the loop until *flag becomes non-zero.
void it_wait(int *flag);
/// Close a client and run the loop until it is closed.
void it_close(struct aws_client *c);

/// Result of a JSON call, kept for the checks.
struct it_json {
  int done;
  json_t *res;
  struct smf_error err;
};
void it_json_cb(json_t *result, const struct smf_error *err, void *data);
/// Synchronous SageMaker call for tests (takes the reference to body): returns the
/// result (caller decrefs) or NULL with *err filled.
json_t *it_sm(struct aws_client *c, const char *op, json_t *body, struct smf_error *err);

/// SageMaker scenario (aws_it_sm.c).
void it_sagemaker(struct aws_client *c);
/// A minimal CreateTrainingJob request for `name` (caller decrefs).
json_t *it_training_body(const char *name);
/// Fault scenarios through the proxy (aws_it_faults.c).
int it_faults(const char *proxy);
/// Clock skew through the proxy, run under faketime (aws_it_faults.c).
int it_skew(const char *proxy);
/// https scenario (aws_it_tls.c): memory PutObject, a small and a multipart file upload.
int it_tls(const char *bucket, const char *small, const char *big);
/// A server whose certificate the configured CAs do not vouch for: refused at once.
int it_tls_refused(void);

// s3_int.h: internals shared by s3.c and s3_multipart.c.
#pragma once

#include "smflow/aws.h"
#include "smflow/util.h"

/// Append "/" and the key, percent-encoded with '/' kept.
void aws__s3_key_path(struct smf_buf *path, const char *key);
/// S3 answers some 200s with an <Error> body (CopyObject, CompleteMultipartUpload).
/// Returns SMF_EAWS and fills err when res carries one, else 0.
int aws__s3_error_in_200(const struct aws_result *res, struct smf_error *err);
/// Start an object call whose answer is reported as a struct aws_s3_object.
int aws__s3_start(struct aws_client *c, struct aws_request *r, const char *key, aws_s3_fn cb,
                  void *cbdata, const char *out_path, bool xml_answer, struct smf_error *err);
/// PutObject from memory (fd < 0) or from the whole of fd (fd_len bytes).
int aws__s3_put(struct aws_client *c, const char *bucket, const char *key, const void *data,
                size_t len, int fd, uint64_t fd_len, const struct aws_s3_put_opts *opts,
                aws_s3_fn cb, void *cbdata, struct smf_error *err);

// plan_upload.h: the calls of an `upload` step for `smflow plan`, made from the
// archive the run would store (private to src/engine/).
#pragma once

#include <jansson.h>

#include "engine/eng_int.h"
#include "smflow/dsl.h"

/// Placeholders for what only S3 answers in a run (docs/aws-target.md).
#define PLAN_UPLOAD_ID "${upload.id}"
#define PLAN_UPLOAD_ETAG "${part.etag}"

/// Pack the code of upload step `d` (its interpolated `spec`, every value
/// known) exactly as a run packs it, into a private directory under TMPDIR
/// that is removed before returning (the state directory is never touched),
/// and replace the contents of `requests` by the calls a run on `target`
/// ("aws" or "local") makes:
///  - aws: `HeadObject`; then, only when it finds no object (which plan cannot
///    know: those requests carry "when"), `CreateBucket` for the default
///    bucket and `PutObject`, or above the multipart threshold
///    `CreateMultipartUpload`, one `UploadPart` per part and
///    `CompleteMultipartUpload`; bodies in botocore's member names (headers
///    included: ContentLength, ContentType, ChecksumSHA256, ...). The
///    checksums are the ones the run sends to the S3 endpoint it resolves:
///    ChecksumSHA256 over http, ChecksumAlgorithm CRC32 and ChecksumCRC32 over
///    https (AWS's own endpoints; the value then goes in a trailer). The default
///    bucket is named with the account word of plan_aws (the caller replaces
///    it with its placeholder).
///  - local: one `StoreObject` (the spec, plus uri, sha256 and bytes).
/// Returns the outputs the run would set ({"uri", "sha256", "bytes"}; `reused`
/// depends on the HeadObject answer and is left out), owned by the caller; NULL
/// when the code cannot be packed (the run would fail): the first request then
/// gets "error": MESSAGE.
json_t *plan_upload(struct eng *e, const struct dsl_step *d, const struct dsl_node *spec,
                    const char *target, json_t *requests);

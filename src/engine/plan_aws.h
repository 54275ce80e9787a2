// plan_aws.h: the aws target's request bodies for `smflow plan`, built by the
// same step-kind descriptions and aws request builders a run uses (private to
// src/engine/).
#pragma once

#include <jansson.h>

#include "engine/eng_int.h"
#include "smflow/dsl.h"

/// Placeholders for what only a run knows (see docs/aws-target.md).
#define PLAN_AWS_RUN_ID "${run.id}"
#define PLAN_AWS_ACCOUNT "${aws.account_id}"
#define PLAN_AWS_BUCKET "${aws.default_bucket}"
#define PLAN_AWS_FINGERPRINT "${request.fingerprint}"
/// The stand-in account of plan's bodies (12 characters, as a real one):
/// sagemaker-REGION-PLAN_AWS_ACCOUNT_WORD is the default bucket until
/// plan_aws_placeholders replaces it.
#define PLAN_AWS_ACCOUNT_WORD "SMFPLANACCNT"

/// The region an aws run of p would use, found offline: the pipeline's
/// `region:`, else the environment's or profile's, else us-east-1.
void plan_aws_region(const struct dsl_pipeline *p, char *out, size_t n);

/// j (any JSON; caller owns the result) with the stand-in default bucket and
/// account replaced by ${aws.default_bucket} and ${aws.account_id}: for
/// values made from the outputs of a planned upload, wherever they went.
json_t *plan_aws_placeholders(const struct dsl_pipeline *p, json_t *j);

/// Replace, in `requests` (the JSON array plan built for step `d` from its
/// interpolated spec), the bodies of the calls whose real bodies can be built
/// offline (fit: CreateTrainingJob, evaluate: CreateProcessingJob, register:
/// CreateModelPackageGroup and CreateModelPackage, and the PutObject of packed
/// code: Bucket, Key) by the ones the aws
/// target would send, with placeholders for the run id, account, default
/// bucket and the fingerprint tag. `spec` is the interpolated spec (values that
/// need outputs of earlier steps still as `${...}`); e gives the pipeline, the
/// git sha and the arena that holds what is made from it. No file is written and nothing is sent. When the builder
/// fails (say, an image it cannot resolve) the request keeps the spec as its
/// body and gets "error": MESSAGE.
void plan_aws_bodies(struct eng *e, const struct dsl_step *d, const struct dsl_node *spec,
                     json_t *requests);

// plan_upload.c: what an `upload` step sends, for `smflow plan`.
//
// The archive is packed by the upload step's own code (step_upload_plan: the
// same spec, the same reproducible packing, the same content-addressed key),
// into a private temporary directory that is gone when plan returns. Its size
// gives the S3 calls (aws_s3_upload_parts: the rule the S3 client follows) and
// its bytes the checksums the client sends with them: SHA-256 over an http S3
// endpoint (the payload is signed), CRC32 over https (UNSIGNED-PAYLOAD with an
// x-amz-checksum-crc32 trailer), decided by the endpoint the run resolves.
#include "engine/plan_upload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws/checksum.h"
#include "engine/plan_aws.h"
#include "smflow/archive.h"
#include "smflow/crypto_lib.h"
#include "smflow/aws.h"
#include "smflow/hash.h"
#include "steps/common.h"
#include "steps/kinds.h"
#include "target/aws/awst.h"

#define PU_WHEN_ABSENT "HeadObject finds no object at Key (not known offline; else the object is reused)"
#define PU_WHEN_BUCKET "the run's first write to the default bucket (one it owns already is fine)"

struct pu_archive {
  char *dir, *path;  ///< the private directory and the archive in it
  struct smf_pack_result res;
  const char *uri;  ///< in the eng arena
};

// The S3 calls' checksum: CRC32 over https, SHA-256 over http.
struct pu_sum {
  bool crc;
  const char *member;     ///< the botocore member: ChecksumCRC32 / ChecksumSHA256
  const char *algorithm;  ///< CreateMultipartUpload's ChecksumAlgorithm
};

// Whether the run's S3 calls go over TLS: the S3 endpoint it resolves in
// `region` (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url,
// else AWS's own, which is https).
static struct pu_sum pu_sum_for(const char *region)
{
  struct aws_shared_config *sc = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  struct aws_endpoint ep;
  bool tls = true;
  if (aws_shared_config_load(NULL, &sc, &err) != 0) {
    sc = NULL;  // the environment alone, as the run's client would then fail anyway
  }
  if (aws_endpoint_resolve(sc, AWS_SVC_S3, region, &ep, &err) == 0) {
    tls = strncasecmp(ep.url, "https://", 8) == 0;
  }
  aws_shared_config_free(sc);
  if (tls) {
    return (struct pu_sum){true, "ChecksumCRC32", "CRC32"};
  }
  return (struct pu_sum){false, "ChecksumSHA256", "SHA256"};
}

// The checksum of len bytes of fd from off, base64 as in x-amz-checksum-*:
// CRC32 (big-endian) or SHA-256.
static int pu_checksum(int fd, uint64_t off, uint64_t len, const struct pu_sum *how,
                       char out[48], struct smf_error *err)
{
  enum { BUF = 1 << 20 };
  struct smf_hash *h = how->crc ? NULL : smf_hash_new(SMF_HASH_SHA256);
  uint32_t crc = 0;
  char *buf = smf_xmalloc(BUF);
  int rc = 0;
  while (len > 0) {
    size_t want = len < BUF ? (size_t)len : BUF;
    ssize_t got = pread(fd, buf, want, (off_t)off);
    if (got <= 0) {
      rc = SMF_ERR_SET(err, SMF_EIO, "reading the packed archive: %s",
                       got < 0 ? strerror(errno) : "short file");
      goto fail;
    }
    if (h) {
      smf_hash_update(h, buf, (size_t)got);
    } else {
      crc = aws_crc32(crc, buf, (size_t)got);
    }
    off += (uint64_t)got;
    len -= (uint64_t)got;
  }
  if (h) {
    uint8_t dig[SMF_HASH_MAX_LEN];
    smf_hash_final(h, dig);
    smf_crypto()->EVP_EncodeBlock((unsigned char *)out, dig, SMF_SHA256_LEN);
  } else {
    aws_crc_b64(crc, out);
  }
fail:
  free(buf);
  if (h) {
    smf_hash_free(h);
  }
  return rc;
}

static json_t *pu_req(const char *op, json_t *body, const char *when)
{
  json_t *r = json_pack("{s:s, s:s, s:o}", "service", "s3", "operation", op, "body", body);
  if (when) {
    json_object_set_new(r, "when", json_string(when));
  }
  return r;
}

// A body's checksum members: over https the SDKs also name the algorithm
// (x-amz-sdk-checksum-algorithm), and the value travels in a trailer.
static void pu_body_sum(json_t *body, const struct pu_sum *how, const char *sum)
{
  if (how->crc) {
    json_object_set_new(body, "ChecksumAlgorithm", json_string(how->algorithm));
  }
  json_object_set_new(body, how->member, json_string(sum));
}

// CreateMultipartUpload, UploadPart × n, CompleteMultipartUpload.
static int pu_multipart(int fd, const char *bucket, const char *key, uint64_t size, int n,
                        uint64_t part_size, const struct pu_sum *how, json_t *requests,
                        struct smf_error *err)
{
  json_array_append_new(
      requests, pu_req("CreateMultipartUpload",
                       json_pack("{s:s, s:s, s:s, s:s}", "Bucket", bucket, "Key", key,
                                 "ContentType", "application/octet-stream", "ChecksumAlgorithm",
                                 how->algorithm),
                       PU_WHEN_ABSENT));
  json_t *parts = json_array();
  int rc = 0;
  for (int i = 1; i <= n && rc == 0; i++) {
    uint64_t off = (uint64_t)(i - 1) * part_size;
    uint64_t len = size - off < part_size ? size - off : part_size;
    char sum[48];
    rc = pu_checksum(fd, off, len, how, sum, err);
    if (rc == 0) {
      json_t *b = json_pack("{s:s, s:s, s:s, s:i, s:I}", "Bucket", bucket, "Key", key, "UploadId",
                            PLAN_UPLOAD_ID, "PartNumber", i, "ContentLength", (json_int_t)len);
      pu_body_sum(b, how, sum);
      json_array_append_new(requests, pu_req("UploadPart", b, PU_WHEN_ABSENT));
      json_array_append_new(parts, json_pack("{s:i, s:s, s:s}", "PartNumber", i, "ETag",
                                             PLAN_UPLOAD_ETAG, how->member, sum));
    }
  }
  json_array_append_new(
      requests, pu_req("CompleteMultipartUpload",
                       json_pack("{s:s, s:s, s:s, s:{s:o}}", "Bucket", bucket, "Key", key,
                                 "UploadId", PLAN_UPLOAD_ID, "MultipartUpload", "Parts", parts),
                       PU_WHEN_ABSENT));
  return rc;
}

// The aws target's calls for the archive (see plan_upload.h).
static int pu_aws(const struct pu_archive *a, const char *region, const char *default_bucket,
                  json_t *requests, struct smf_error *err)
{
  char *bucket = NULL, *key = NULL;
  int fd = -1;
  int rc = awst_s3_split(a->uri, &bucket, &key, err);
  if (rc != 0) {
    goto fail;
  }
  json_array_clear(requests);
  json_array_append_new(requests, pu_req("HeadObject",
                                         json_pack("{s:s, s:s}", "Bucket", bucket, "Key", key),
                                         NULL));
  if (strcmp(bucket, default_bucket) == 0) {
    json_t *b = json_pack("{s:s}", "Bucket", bucket);
    if (strcmp(region, "us-east-1") != 0) {
      json_object_set_new(b, "CreateBucketConfiguration",
                          json_pack("{s:s}", "LocationConstraint", region));
    }
    json_array_append_new(requests, pu_req("CreateBucket", b, PU_WHEN_BUCKET));
  }
  if ((fd = open(a->path, O_RDONLY | O_CLOEXEC)) < 0) {
    rc = SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", a->path, strerror(errno));
    goto fail;
  }
  uint64_t part_size = 0, size = a->res.bytes;
  struct pu_sum how = pu_sum_for(region);
  int n = aws_s3_upload_parts(size, NULL, &part_size);
  if (n > 0) {
    rc = pu_multipart(fd, bucket, key, size, n, part_size, &how, requests, err);
    goto fail;
  }
  char sum[48];
  if ((rc = pu_checksum(fd, 0, size, &how, sum, err)) != 0) {
    goto fail;
  }
  json_t *put = json_pack("{s:s, s:s, s:I, s:s}", "Bucket", bucket, "Key", key, "ContentLength",
                          (json_int_t)size, "ContentType", "application/octet-stream");
  pu_body_sum(put, &how, sum);
  json_array_append_new(requests, pu_req("PutObject", put, PU_WHEN_ABSENT));
fail:
  if (fd >= 0) {
    close(fd);
  }
  free(bucket);
  free(key);
  return rc;
}

// The local target: one StoreObject, the spec with what is stored where.
static void pu_local(const struct pu_archive *a, json_t *requests)
{
  json_t *req = json_array_get(requests, json_array_size(requests) - 1);
  json_t *body = json_object_get(req, "body");
  if (json_is_object(body)) {
    json_object_set_new(body, "uri", json_string(a->uri));
    json_object_set_new(body, "sha256", json_string(a->res.sha256));
    json_object_set_new(body, "bytes", json_integer((json_int_t)a->res.bytes));
  }
}

static void pu_archive_remove(struct pu_archive *a)
{
  if (a->path) {
    unlink(a->path);
  }
  if (a->dir) {
    rmdir(a->dir);
  }
  free(a->path);
  free(a->dir);
}

// The region and account that name the default bucket on `target`.
// account: "" on the local target (its own account then names the bucket).
static void pu_where(const struct dsl_pipeline *p, const char *target, char *region, size_t n,
                     char account[16])
{
  if (strcmp(target, "aws") == 0) {
    plan_aws_region(p, region, n);
    snprintf(account, 16, "%s", PLAN_AWS_ACCOUNT_WORD);
  } else {
    snprintf(region, n, "%s", p->region && *p->region ? p->region : "us-east-1");
    account[0] = '\0';
  }
}

json_t *plan_upload(struct eng *e, const struct dsl_step *d, const struct dsl_node *spec,
                    const char *target, json_t *requests)
{
  const struct dsl_pipeline *p = e->p;
  char region[64];
  char account[16];
  pu_where(p, target, region, sizeof(region), account);
  struct target t = {.region = region, .account_id = *account ? account : NULL};
  struct step_ctx ctx = {.run_id = "plan",
                         .step_id = d->id,
                         .attempt = 1,
                         .pipeline_dir = p->dir,
                         .def = d,
                         .spec = spec,
                         .arena = &e->arena,
                         .log_fd = -1,
                         .pipeline_name = p->name,
                         .target = &t};
  struct pu_archive a = {0};
  struct smf_error err = SMF_ERROR_INIT;
  const char *tmp = getenv("TMPDIR");
  a.dir = smf_xasprintf("%s/smflow-plan-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  json_t *out = NULL;
  int rc = 0;
  if (mkdtemp(a.dir) == NULL) {
    rc = SMF_ERR_SET(&err, SMF_EIO, "cannot make a temporary directory: %s", strerror(errno));
    free(a.dir);
    a.dir = NULL;
    goto fail;
  }
  a.path = smf_xasprintf("%s/sourcedir.tar.gz", a.dir);
  if ((rc = step_upload_plan(&ctx, a.path, &a.res, &a.uri, &err)) != 0) {
    goto fail;
  }
  if (strcmp(target, "aws") == 0) {
    char *bucket = smf_xasprintf("sagemaker-%s-%s", region, PLAN_AWS_ACCOUNT_WORD);
    rc = pu_aws(&a, region, bucket, requests, &err);
    free(bucket);
  } else {
    pu_local(&a, requests);
  }
  if (rc == 0) {
    out = json_pack("{s:s, s:s, s:I}", "uri", a.uri, "sha256", a.res.sha256, "bytes",
                    (json_int_t)a.res.bytes);
  }
fail:
  if (rc != 0) {
    json_object_set_new(json_array_get(requests, 0), "error", json_string(err.message));
  }
  pu_archive_remove(&a);
  return out;
}

// s3_multipart.c: uploading a file: one PutObject up to the threshold, else a
// multipart upload (CreateMultipartUpload with per-part checksums: SHA-256 over
// http, CRC32 over https where the payload goes unsigned; parts read
// straight from the file and sent several at a time, CompleteMultipartUpload,
// AbortMultipartUpload when anything fails).
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/client_int.h"
#include "aws/s3_int.h"
#include "aws/xml.h"

#define MIB ((uint64_t)1 << 20)
#define S3_MAX_PARTS 10000
#define S3_PARALLEL 8           // parts in flight by default
#define S3_PART_MIN (16 * MIB)  // bounds of the default part size
#define S3_PART_MAX (64 * MIB)

struct s3_upload {
  struct aws_client *c;
  char *bucket, *key, *content_type, *if_match, *sse, *sse_kms_key_id;
  bool if_none_match;
  bool crc;  // parts carry CRC32 (https) rather than SHA-256 checksums
  int fd;
  uint64_t size, part_size;
  int nparts, next_part, inflight, done_parts, parallel;
  char **etags, **sums;
  char *upload_id;
  bool failed;
  struct smf_error err;
  aws_s3_fn cb;
  void *data;
};

struct s3_part {
  struct s3_upload *up;
  int n;  // 1-based part number
};

static void upload_free(struct s3_upload *up)
{
  for (int i = 0; up->etags && i < up->nparts; i++) {
    free(up->etags[i]);
    free(up->sums[i]);
  }
  free(up->etags);
  free(up->sums);
  free(up->upload_id);
  free(up->bucket);
  free(up->key);
  free(up->content_type);
  free(up->if_match);
  free(up->sse);
  free(up->sse_kms_key_id);
  if (up->fd >= 0) {
    close(up->fd);
  }
  free(up);
}

static void upload_finish(struct s3_upload *up, const struct aws_s3_object *obj)
{
  up->cb(obj, obj ? NULL : &up->err, up->data);
  upload_free(up);
}

static void upload_single_done(const struct aws_s3_object *obj, const struct smf_error *err,
                               void *data)
{
  struct s3_upload *up = data;
  if (err) {
    up->err = *err;
  }
  upload_finish(up, err ? NULL : obj);
}

static void upload_key_query(struct s3_upload *up, struct smf_buf *path)
{
  aws__s3_key_path(path, up->key);
}

static int upload_send(struct s3_upload *up, struct aws_request *r, aws_done_fn cb, void *data,
                       struct smf_error *err)
{
  struct smf_buf path = SMF_BUF_INIT;
  upload_key_query(up, &path);
  r->service = AWS_SVC_S3;
  r->bucket = up->bucket;
  r->path = smf_buf_cstr(&path);
  int rc = aws_call_start(up->c, r, cb, data, NULL, err);
  smf_buf_free(&path);
  return rc;
}

// ---- abort ----

static void abort_done(struct aws_result *res, void *data)
{
  (void)res;  // the upload's own error is what the caller needs to see
  upload_finish(data, NULL);
}

static void upload_fail(struct s3_upload *up, const struct smf_error *err)
{
  if (!up->failed) {
    up->failed = true;
    up->err = *err;
  }
  if (up->inflight > 0) {
    return;  // abort once the parts in flight have come back
  }
  if (!up->upload_id) {
    upload_finish(up, NULL);
    return;
  }
  struct aws_kv q[] = {{"uploadId", up->upload_id}};
  struct aws_request r = AWS_REQUEST_INIT;
  r.op = "AbortMultipartUpload";
  r.method = "DELETE";
  r.query = q;
  r.n_query = 1;
  r.idempotent = true;
  struct smf_error e2 = SMF_ERROR_INIT;
  if (upload_send(up, &r, abort_done, up, &e2) != 0) {
    upload_finish(up, NULL);
  }
}

// ---- complete ----

static void complete_done(struct aws_result *res, void *data)
{
  struct s3_upload *up = data;
  struct smf_error err = SMF_ERROR_INIT;
  if (res->code != 0) {
    upload_fail(up, &res->err);
    return;
  }
  if (aws__s3_error_in_200(res, &err) != 0) {
    upload_fail(up, &err);
    return;
  }
  struct aws_xml_doc doc = {0};
  struct aws_s3_object obj = {.key = up->key, .size = up->size};
  if (!res->resolved && aws_xml_parse(res->body, res->body_len, &doc, NULL) == 0) {
    obj.etag = aws_xml_child_text(doc.root, "ETag");
    obj.checksum_sha256 = aws_xml_child_text(doc.root, "ChecksumSHA256");
    obj.checksum_crc32 = aws_xml_child_text(doc.root, "ChecksumCRC32");
  }
  obj.version_id = aws_result_header(res, "x-amz-version-id");
  upload_finish(up, &obj);
  aws_xml_free(&doc);
}

// The completion's answer was lost: S3 completed it if the object now has our size.
struct complete_check {
  struct aws_call *call;
  uint64_t size;
};

static void complete_check_done(const struct aws_s3_object *obj, const struct smf_error *err,
                                void *data)
{
  struct complete_check *cc = data;
  struct aws_call *call = cc->call;
  bool ours = !err && obj && obj->size == cc->size;
  bool absent = err && err->code == SMF_ENOENT;
  free(cc);
  aws_call_resolve(call, ours ? AWS_VERDICT_DONE : absent ? AWS_VERDICT_RETRY : AWS_VERDICT_FAIL);
}

static void complete_ambiguous(struct aws_call *call, void *data)
{
  struct s3_upload *up = data;
  struct smf_error err = SMF_ERROR_INIT;
  struct complete_check *cc = smf_xcalloc(1, sizeof *cc);
  cc->call = call;
  cc->size = up->size;
  if (aws_s3_head_object(up->c, up->bucket, up->key, complete_check_done, cc, &err) != 0) {
    free(cc);
    aws_call_resolve(call, AWS_VERDICT_FAIL);
  }
}

static void upload_complete(struct s3_upload *up)
{
  struct smf_buf body = SMF_BUF_INIT;
  smf_buf_puts(&body,
               "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
  for (int i = 0; i < up->nparts; i++) {
    smf_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag>", i + 1, up->etags[i]);
    if (up->sums[i]) {
      const char *tag = up->crc ? "ChecksumCRC32" : "ChecksumSHA256";
      smf_buf_printf(&body, "<%s>%s</%s>", tag, up->sums[i], tag);
    }
    smf_buf_puts(&body, "</Part>");
  }
  smf_buf_puts(&body, "</CompleteMultipartUpload>");
  struct aws_kv q[] = {{"uploadId", up->upload_id}};
  struct aws_kv hs[3];
  size_t nh = 0;
  hs[nh++] = (struct aws_kv){"Content-Type", "application/xml"};
  if (up->if_none_match) {
    hs[nh++] = (struct aws_kv){"If-None-Match", "*"};
  }
  if (up->if_match) {
    hs[nh++] = (struct aws_kv){"If-Match", up->if_match};
  }
  struct aws_request r = AWS_REQUEST_INIT;
  r.op = "CompleteMultipartUpload";
  r.method = "POST";
  r.query = q;
  r.n_query = 1;
  r.headers = hs;
  r.n_headers = nh;
  r.body = body.data;
  r.body_len = body.len;
  r.on_ambiguous = complete_ambiguous;  // a second completion would fail with NoSuchUpload
  r.ambiguous_data = up;
  struct smf_error err = SMF_ERROR_INIT;
  if (upload_send(up, &r, complete_done, up, &err) != 0) {
    upload_fail(up, &err);
  }
  smf_buf_free(&body);
}

// ---- parts ----

static void upload_pump(struct s3_upload *up);

static void part_done(struct aws_result *res, void *data)
{
  struct s3_part *p = data;
  struct s3_upload *up = p->up;
  int n = p->n;
  free(p);
  up->inflight--;
  const char *etag = res->code == 0 ? aws_result_header(res, "ETag") : NULL;
  if (res->code != 0 || !etag) {
    struct smf_error err = res->err;
    if (res->code == 0) {
      SMF_ERR_SET(&err, SMF_EAWS, "UploadPart %d: answer without an ETag", n);
    }
    upload_fail(up, &err);
    return;
  }
  // The part's checksum as sent (CompleteMultipartUpload must repeat it); an
  // echo that differs means the service saw other bytes.
  const char *ours = res->call->checksum_b64;
  const char *echo = aws_result_header(res, res->call->checksum_header);
  if (echo && strcmp(echo, ours) != 0) {
    struct smf_error err = SMF_ERROR_INIT;
    SMF_ERR_SET(&err, SMF_EAWS, "UploadPart %d: the service's %s is %s, not %s", n,
                res->call->checksum_header, echo, ours);
    upload_fail(up, &err);
    return;
  }
  up->etags[n - 1] = smf_xstrdup(etag);
  up->sums[n - 1] = smf_xstrdup(ours);
  up->done_parts++;
  if (up->failed) {
    upload_fail(up, &up->err);
    return;
  }
  upload_pump(up);
}

static void upload_pump(struct s3_upload *up)
{
  while (!up->failed && up->inflight < up->parallel && up->next_part <= up->nparts) {
    int n = up->next_part++;
    uint64_t off = (uint64_t)(n - 1) * up->part_size;
    uint64_t len = up->size - off < up->part_size ? up->size - off : up->part_size;
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    struct aws_kv q[] = {{"partNumber", num}, {"uploadId", up->upload_id}};
    struct aws_request r = AWS_REQUEST_INIT;
    r.op = "UploadPart";
    r.method = "PUT";
    r.query = q;
    r.n_query = 2;
    r.body_fd = up->fd;
    r.body_off = off;
    r.body_fd_len = len;
    r.checksum = true;
    r.idempotent = true;  // re-sending a part replaces it
    struct s3_part *p = smf_xcalloc(1, sizeof *p);
    p->up = up;
    p->n = n;
    struct smf_error err = SMF_ERROR_INIT;
    if (upload_send(up, &r, part_done, p, &err) != 0) {
      free(p);
      upload_fail(up, &err);
      return;
    }
    up->inflight++;
  }
  if (!up->failed && up->inflight == 0 && up->done_parts == up->nparts) {
    upload_complete(up);
  }
}

static void create_done(struct aws_result *res, void *data)
{
  struct s3_upload *up = data;
  struct smf_error err = SMF_ERROR_INIT;
  if (res->code != 0) {
    upload_fail(up, &res->err);
    return;
  }
  struct aws_xml_doc doc;
  if (aws_xml_parse(res->body, res->body_len, &doc, &err) != 0) {
    upload_fail(up, &err);
    return;
  }
  const char *id = aws_xml_child_text(doc.root, "UploadId");
  if (id && *id) {
    up->upload_id = smf_xstrdup(id);
  }
  aws_xml_free(&doc);
  if (!up->upload_id) {
    SMF_ERR_SET(&err, SMF_EAWS, "CreateMultipartUpload: answer without an UploadId");
    upload_fail(up, &err);
    return;
  }
  upload_pump(up);
}

static int upload_multipart(struct s3_upload *up, struct smf_error *err)
{
  up->nparts = (int)((up->size + up->part_size - 1) / up->part_size);
  up->crc = aws__payload_unsigned(up->c, AWS_SVC_S3);
  up->etags = smf_xcalloc((size_t)up->nparts, sizeof *up->etags);
  up->sums = smf_xcalloc((size_t)up->nparts, sizeof *up->sums);
  up->next_part = 1;
  struct aws_kv q[] = {{"uploads", ""}};
  struct aws_kv hs[] = {
      {"Content-Type", up->content_type ? up->content_type : "application/octet-stream"},
      {"x-amz-checksum-algorithm", up->crc ? "CRC32" : "SHA256"},
      {"x-amz-server-side-encryption", up->sse},
      {"x-amz-server-side-encryption-aws-kms-key-id", up->sse_kms_key_id},
  };
  struct aws_request r = AWS_REQUEST_INIT;
  r.op = "CreateMultipartUpload";
  r.method = "POST";
  r.query = q;
  r.n_query = 1;
  r.headers = hs;
  r.n_headers = up->sse == NULL ? 2 : up->sse_kms_key_id == NULL ? 3 : 4;
  r.idempotent = true;  // an extra upload id is harmless (and expires)
  return upload_send(up, &r, create_done, up, err);
}

// The default split: one part per connection in flight (the file divided by
// `parallel`, whole MiB), no smaller than 16 MiB and no larger than 64 MiB.
// Every connection then sends one long part instead of a string of short
// ones: fewer requests, each with its own round trip to S3 (and, where the
// connection is not kept alive, its own TCP and TLS set-up), while files of up
// to 512 MiB still use all the connections and larger ones are sent in waves
// of 64 MiB parts, so a slow connection holds back at most one such part. The
// reasons are in docs/aws-target.md ("Part size and parts in flight").
static uint64_t upload_default_part(uint64_t size, int parallel)
{
  uint64_t per = (size + (uint64_t)parallel - 1) / (uint64_t)parallel;
  per = (per + MIB - 1) / MIB * MIB;
  if (per < S3_PART_MIN) {
    per = S3_PART_MIN;
  }
  return per > S3_PART_MAX ? S3_PART_MAX : per;
}

int aws_s3_upload_parts(uint64_t size, const struct aws_s3_put_opts *opts, uint64_t *part_size)
{
  uint64_t threshold = opts && opts->multipart_threshold ? opts->multipart_threshold : 16 * MIB;
  int parallel = opts && opts->parallel > 0 ? opts->parallel : S3_PARALLEL;
  uint64_t ps = opts && opts->part_size ? opts->part_size : upload_default_part(size, parallel);
  if (ps < 5 * MIB) {
    ps = 5 * MIB;  // S3's minimum for every part but the last
  }
  while ((size + ps - 1) / ps > S3_MAX_PARTS) {
    ps *= 2;
  }
  *part_size = ps;
  return size <= threshold ? 0 : (int)((size + ps - 1) / ps);
}

int aws_s3_upload_file(struct aws_client *c, const char *bucket, const char *key, const char *path,
                       const struct aws_s3_put_opts *opts, aws_s3_fn cb, void *cbdata,
                       struct smf_error *err)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int rc = SMF_ERR_SET(err, SMF_EIO, "cannot read %s: %s", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
    }
    return rc;
  }
  struct s3_upload *up = smf_xcalloc(1, sizeof *up);
  up->c = c;
  up->fd = fd;
  up->size = (uint64_t)st.st_size;
  up->bucket = smf_xstrdup(bucket);
  up->key = smf_xstrdup(key);
  up->cb = cb;
  up->data = cbdata;
  up->content_type = opts && opts->content_type ? smf_xstrdup(opts->content_type) : NULL;
  up->if_match = opts && opts->if_match ? smf_xstrdup(opts->if_match) : NULL;
  up->if_none_match = opts && opts->if_none_match;
  up->sse = opts && opts->sse ? smf_xstrdup(opts->sse) : NULL;
  up->sse_kms_key_id = up->sse && opts->sse_kms_key_id ? smf_xstrdup(opts->sse_kms_key_id) : NULL;
  int nparts = aws_s3_upload_parts(up->size, opts, &up->part_size);
  up->parallel = opts && opts->parallel > 0 ? opts->parallel : S3_PARALLEL;
  int rc;
  if (nparts == 0) {
    rc = aws__s3_put(c, bucket, key, NULL, 0, fd, up->size, opts, upload_single_done, up, err);
  } else {
    rc = upload_multipart(up, err);
  }
  if (rc != 0) {
    upload_free(up);
  }
  return rc;
}

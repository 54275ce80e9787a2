// s3.c: S3 REST operations on top of aws_call_start: objects (put with a
// SHA-256 checksum and conditions, head, get to a file, copy, delete), buckets,
// and ListObjectsV2 with pagination. Multipart uploads are in s3_multipart.c.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/client_int.h"
#include "aws/s3_int.h"
#include "aws/xml.h"

struct s3_ctx {
  struct aws_client *c;
  aws_s3_fn cb;
  void *data;
  char *key;
  char *out_path;   // GetObject: removed on failure
  bool xml_answer;  // CopyObject: a 200 may still carry an <Error>
  // ListObjectsV2
  aws_s3_list_fn list_cb;
  char *bucket, *prefix, *delimiter;
  char max_keys[16];
};

void aws__s3_key_path(struct smf_buf *path, const char *key)
{
  smf_buf_puts(path, "/");
  aws_sigv4_uri_encode(path, key, strlen(key), true);
}

int aws__s3_error_in_200(const struct aws_result *res, struct smf_error *err)
{
  const char *b = res->body;
  while (*b == ' ' || *b == '\r' || *b == '\n' || *b == '\t') {
    b++;
  }
  if (strncmp(b, "<?xml", 5) != 0 && *b != '<') {
    return 0;
  }
  struct aws_xml_doc doc;
  if (aws_xml_parse(res->body, res->body_len, &doc, NULL) != 0) {
    return 0;
  }
  int rc = 0;
  if (strcmp(doc.root->name, "Error") == 0) {
    const char *code = aws_xml_child_text(doc.root, "Code");
    const char *msg = aws_xml_child_text(doc.root, "Message");
    const char *rid = aws_xml_child_text(doc.root, "RequestId");
    rc = SMF_ERR_SET(err, SMF_EAWS, "S3 %s: HTTP %ld %s: %s%s%s%s", aws_call_op(res->call),
                     res->status, code ? code : "InternalError", msg ? msg : "",
                     rid ? " (request id " : "", rid ? rid : "", rid ? ")" : "");
    snprintf(err->aws_code, sizeof err->aws_code, "%s", code ? code : "InternalError");
    snprintf(err->request_id, sizeof err->request_id, "%s", rid ? rid : "");
    err->http_status = (int)res->status;
  }
  aws_xml_free(&doc);
  return rc;
}

static void s3_ctx_free(struct s3_ctx *ctx)
{
  free(ctx->key);
  free(ctx->out_path);
  free(ctx->bucket);
  free(ctx->prefix);
  free(ctx->delimiter);
  free(ctx);
}

static void s3_object_done(struct aws_result *res, void *data)
{
  struct s3_ctx *ctx = data;
  struct smf_error err = SMF_ERROR_INIT;
  const struct smf_error *e = NULL;
  struct aws_xml_doc doc = {0};
  struct aws_s3_object obj = {.key = ctx->key};
  if (res->code != 0) {
    e = &res->err;
  } else if (ctx->xml_answer && aws__s3_error_in_200(res, &err) != 0) {
    e = &err;
  }
  if (e) {
    if (ctx->out_path) {
      unlink(ctx->out_path);
    }
    ctx->cb(NULL, e, ctx->data);
    s3_ctx_free(ctx);
    return;
  }
  const char *len = aws_result_header(res, "Content-Length");
  obj.size = len ? strtoull(len, NULL, 10) : 0;
  obj.etag = aws_result_header(res, "ETag");
  obj.last_modified = aws_result_header(res, "Last-Modified");
  obj.version_id = aws_result_header(res, "x-amz-version-id");
  obj.checksum_sha256 = aws_result_header(res, "x-amz-checksum-sha256");
  if (ctx->xml_answer && aws_xml_parse(res->body, res->body_len, &doc, NULL) == 0) {
    const char *etag = aws_xml_child_text(doc.root, "ETag");
    if (etag) {
      obj.etag = etag;
    }
    const char *lm = aws_xml_child_text(doc.root, "LastModified");
    if (lm) {
      obj.last_modified = lm;
    }
  }
  ctx->cb(&obj, NULL, ctx->data);
  aws_xml_free(&doc);
  s3_ctx_free(ctx);
}

int aws__s3_start(struct aws_client *c, struct aws_request *r, const char *key, aws_s3_fn cb,
                  void *cbdata, const char *out_path, bool xml_answer, struct smf_error *err)
{
  struct s3_ctx *ctx = smf_xcalloc(1, sizeof *ctx);
  ctx->c = c;
  ctx->cb = cb;
  ctx->data = cbdata;
  ctx->key = key ? smf_xstrdup(key) : NULL;
  ctx->out_path = out_path ? smf_xstrdup(out_path) : NULL;
  ctx->xml_answer = xml_answer;
  int rc = aws_call_start(c, r, s3_object_done, ctx, NULL, err);
  if (rc != 0) {
    s3_ctx_free(ctx);
  }
  return rc;
}

// Headers of a PutObject; returns how many were set in hs (room for 6).
static size_t put_headers(const struct aws_s3_put_opts *opts, struct aws_kv *hs)
{
  size_t n = 0;
  hs[n++] = (struct aws_kv){
      "Content-Type", opts && opts->content_type ? opts->content_type : "application/octet-stream"};
  if (opts && opts->if_none_match) {
    hs[n++] = (struct aws_kv){"If-None-Match", "*"};
  }
  if (opts && opts->if_match) {
    hs[n++] = (struct aws_kv){"If-Match", opts->if_match};
  }
  if (opts && opts->sse) {
    hs[n++] = (struct aws_kv){"x-amz-server-side-encryption", opts->sse};
    if (opts->sse_kms_key_id) {
      hs[n++] =
          (struct aws_kv){"x-amz-server-side-encryption-aws-kms-key-id", opts->sse_kms_key_id};
    }
  }
  return n;
}

int aws__s3_put(struct aws_client *c, const char *bucket, const char *key, const void *data,
                size_t len, int fd, uint64_t fd_len, const struct aws_s3_put_opts *opts,
                aws_s3_fn cb, void *cbdata, struct smf_error *err)
{
  struct smf_buf path = SMF_BUF_INIT;
  aws__s3_key_path(&path, key);
  struct aws_kv hs[6];
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "PutObject";
  r.method = "PUT";
  r.bucket = bucket;
  r.path = smf_buf_cstr(&path);
  r.headers = hs;
  r.n_headers = put_headers(opts, hs);
  if (fd >= 0) {
    r.body_fd = fd;
    r.body_off = 0;
    r.body_fd_len = fd_len;
  } else {
    r.body = data ? data : "";
    r.body_len = data ? len : 0;
  }
  r.checksum_sha256 = true;
  r.idempotent = true;  // a PUT of the same bytes to the same key
  int rc = aws__s3_start(c, &r, key, cb, cbdata, NULL, false, err);
  smf_buf_free(&path);
  return rc;
}

int aws_s3_put_object(struct aws_client *c, const char *bucket, const char *key, const void *data,
                      size_t len, const struct aws_s3_put_opts *opts, aws_s3_fn cb, void *cbdata,
                      struct smf_error *err)
{
  return aws__s3_put(c, bucket, key, data, len, -1, 0, opts, cb, cbdata, err);
}

static int simple_call(struct aws_client *c, const char *op, const char *method, const char *bucket,
                       const char *key, const struct aws_kv *hs, size_t nh, const char *out_path,
                       bool xml_answer, aws_s3_fn cb, void *cbdata, struct smf_error *err)
{
  struct smf_buf path = SMF_BUF_INIT;
  if (key) {
    aws__s3_key_path(&path, key);
  } else {
    smf_buf_puts(&path, "/");
  }
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = op;
  r.method = method;
  r.bucket = bucket;
  r.path = smf_buf_cstr(&path);
  r.headers = hs;
  r.n_headers = nh;
  r.output_path = out_path;
  r.idempotent = true;
  int rc = aws__s3_start(c, &r, key, cb, cbdata, out_path, xml_answer, err);
  smf_buf_free(&path);
  return rc;
}

int aws_s3_head_object(struct aws_client *c, const char *bucket, const char *key, aws_s3_fn cb,
                       void *cbdata, struct smf_error *err)
{
  return simple_call(c, "HeadObject", "HEAD", bucket, key, NULL, 0, NULL, false, cb, cbdata, err);
}

int aws_s3_get_object(struct aws_client *c, const char *bucket, const char *key, const char *path,
                      aws_s3_fn cb, void *cbdata, struct smf_error *err)
{
  return simple_call(c, "GetObject", "GET", bucket, key, NULL, 0, path, false, cb, cbdata, err);
}

int aws_s3_get_object_mem(struct aws_client *c, const char *bucket, const char *key, size_t max,
                          aws_done_fn cb, void *cbdata, struct smf_error *err)
{
  struct smf_buf path = SMF_BUF_INIT;
  aws__s3_key_path(&path, key);
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "GetObject";
  r.method = "GET";
  r.bucket = bucket;
  r.path = smf_buf_cstr(&path);
  r.max_response = max;
  r.idempotent = true;
  int rc = aws_call_start(c, &r, cb, cbdata, NULL, err);
  smf_buf_free(&path);
  return rc;
}

int aws_s3_delete_object(struct aws_client *c, const char *bucket, const char *key, aws_s3_fn cb,
                         void *cbdata, struct smf_error *err)
{
  return simple_call(c, "DeleteObject", "DELETE", bucket, key, NULL, 0, NULL, false, cb, cbdata,
                     err);
}

int aws_s3_copy_object(struct aws_client *c, const char *src_bucket, const char *src_key,
                       const char *bucket, const char *key, aws_s3_fn cb, void *cbdata,
                       struct smf_error *err)
{
  struct smf_buf src = SMF_BUF_INIT;
  smf_buf_printf(&src, "/%s", src_bucket);
  aws__s3_key_path(&src, src_key);
  struct aws_kv hs[] = {{"x-amz-copy-source", smf_buf_cstr(&src)}};
  int rc = simple_call(c, "CopyObject", "PUT", bucket, key, hs, 1, NULL, true, cb, cbdata, err);
  smf_buf_free(&src);
  return rc;
}

int aws_s3_create_bucket(struct aws_client *c, const char *bucket, aws_s3_fn cb, void *cbdata,
                         struct smf_error *err)
{
  struct smf_buf body = SMF_BUF_INIT;
  if (strcmp(c->region, "us-east-1") != 0) {
    smf_buf_printf(&body,
                   "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                   "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>",
                   c->region);
  }
  struct aws_kv hs[] = {{"Content-Type", "application/xml"}};
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "CreateBucket";
  r.method = "PUT";
  r.bucket = bucket;
  r.path = "/";
  r.headers = hs;
  r.n_headers = body.len ? 1 : 0;
  r.body = smf_buf_cstr(&body);
  r.body_len = body.len;
  r.idempotent = true;
  int rc = aws__s3_start(c, &r, NULL, cb, cbdata, NULL, false, err);
  smf_buf_free(&body);
  return rc;
}

// ---- ListObjectsV2 ----

static int list_page(struct s3_ctx *ctx, const char *token, struct smf_error *err);

static void list_parse_and_report(struct s3_ctx *ctx, struct aws_result *res)
{
  struct aws_xml_doc doc;
  struct smf_error err = SMF_ERROR_INIT;
  if (aws_xml_parse(res->body, res->body_len, &doc, &err) != 0) {
    ctx->list_cb(NULL, &err, ctx->data);
    s3_ctx_free(ctx);
    return;
  }
  size_t n = 0, np = 0;
  for (const struct aws_xml_node *k = doc.root->child; k; k = k->next) {
    n += strcmp(k->name, "Contents") == 0;
    np += strcmp(k->name, "CommonPrefixes") == 0;
  }
  struct aws_s3_object *objs = smf_xcalloc(n + 1, sizeof *objs);
  const char **prefixes = smf_xcalloc(np + 1, sizeof *prefixes);
  size_t i = 0, j = 0;
  for (const struct aws_xml_node *k = doc.root->child; k; k = k->next) {
    if (strcmp(k->name, "Contents") == 0) {
      const char *size = aws_xml_child_text(k, "Size");
      objs[i].key = aws_xml_child_text(k, "Key");
      objs[i].size = size ? strtoull(size, NULL, 10) : 0;
      objs[i].etag = aws_xml_child_text(k, "ETag");
      objs[i].last_modified = aws_xml_child_text(k, "LastModified");
      objs[i].checksum_sha256 = aws_xml_child_text(k, "ChecksumSHA256");
      i++;
    } else if (strcmp(k->name, "CommonPrefixes") == 0) {
      prefixes[j++] = aws_xml_child_text(k, "Prefix");
    }
  }
  const char *trunc = aws_xml_child_text(doc.root, "IsTruncated");
  const char *next = aws_xml_child_text(doc.root, "NextContinuationToken");
  bool more = trunc && strcmp(trunc, "true") == 0 && next && *next;
  struct aws_s3_list page = {objs, n, prefixes, np, more ? next : NULL};
  bool go_on = ctx->list_cb(&page, NULL, ctx->data);
  char *token = more && go_on ? smf_xstrdup(next) : NULL;
  free(objs);
  free(prefixes);
  aws_xml_free(&doc);
  if (!token) {
    ctx->list_cb(NULL, NULL, ctx->data);
    s3_ctx_free(ctx);
    return;
  }
  if (list_page(ctx, token, &err) != 0) {
    ctx->list_cb(NULL, &err, ctx->data);
    s3_ctx_free(ctx);
  }
  free(token);
}

static void list_done(struct aws_result *res, void *data)
{
  struct s3_ctx *ctx = data;
  if (res->code != 0) {
    ctx->list_cb(NULL, &res->err, ctx->data);
    s3_ctx_free(ctx);
    return;
  }
  list_parse_and_report(ctx, res);
}

static int list_page(struct s3_ctx *ctx, const char *token, struct smf_error *err)
{
  struct aws_kv q[5];
  size_t n = 0;
  q[n++] = (struct aws_kv){"list-type", "2"};
  if (ctx->prefix) {
    q[n++] = (struct aws_kv){"prefix", ctx->prefix};
  }
  if (ctx->delimiter) {
    q[n++] = (struct aws_kv){"delimiter", ctx->delimiter};
  }
  if (ctx->max_keys[0]) {
    q[n++] = (struct aws_kv){"max-keys", ctx->max_keys};
  }
  if (token) {
    q[n++] = (struct aws_kv){"continuation-token", token};
  }
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "ListObjectsV2";
  r.method = "GET";
  r.bucket = ctx->bucket;
  r.path = "/";
  r.query = q;
  r.n_query = n;
  r.idempotent = true;
  return aws_call_start(ctx->c, &r, list_done, ctx, NULL, err);
}

int aws_s3_list_objects(struct aws_client *c, const char *bucket, const char *prefix,
                        const char *delimiter, int max_keys, aws_s3_list_fn cb, void *cbdata,
                        struct smf_error *err)
{
  struct s3_ctx *ctx = smf_xcalloc(1, sizeof *ctx);
  ctx->c = c;
  ctx->list_cb = cb;
  ctx->data = cbdata;
  ctx->bucket = smf_xstrdup(bucket);
  ctx->prefix = prefix ? smf_xstrdup(prefix) : NULL;
  ctx->delimiter = delimiter ? smf_xstrdup(delimiter) : NULL;
  if (max_keys > 0) {
    snprintf(ctx->max_keys, sizeof ctx->max_keys, "%d", max_keys);
  }
  int rc = list_page(ctx, NULL, err);
  if (rc != 0) {
    s3_ctx_free(ctx);
  }
  return rc;
}

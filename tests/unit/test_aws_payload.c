// test_aws_payload.c: what an S3 body travels with, checked on the wire by a
// real local server (tests/tools/http_test_server.py, which decodes S3's
// aws-chunked coding and verifies its CRC32 trailer with zlib, answering
// BadDigest on a mismatch). Over http the payload is signed with its SHA-256;
// over https it is UNSIGNED-PAYLOAD with a CRC32 (a header for a body in
// memory, a trailer computed while sending for a file body).
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "aws/checksum.h"
#include "aws/http.h"
#include "smflow/aws.h"
#include "test.h"
#include "test_server.h"

static uv_loop_t loop;
static char dir[] = "/tmp/smf_payload_XXXXXX";

struct echo {
  int done, code, attempts;
  json_t *info;
  char message[256];
};

static void on_echo(struct aws_result *r, void *data)
{
  struct echo *e = data;
  e->done++;
  e->code = r->code;
  e->attempts = r->attempts;
  snprintf(e->message, sizeof e->message, "%.200s", r->err.message);
  e->info = r->code == 0 ? json_loads(r->body, 0, NULL) : NULL;
}

static struct aws_client *client(const char *scheme, int port, const char *ca)
{
  char *ep = smf_xasprintf("%s://127.0.0.1:%d", scheme, port);
  struct aws_client_config cfg = {.region = "eu-west-1", .endpoint_url = ep, .ca_bundle = ca};
  struct aws_client *c = NULL;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_client_new(&loop, &cfg, &c, &err), 0);
  free(ep);
  struct aws_creds cr = AWS_CREDS_INIT;
  aws_creds_set(&cr, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0, "test");
  aws_client_set_creds(c, &cr);
  aws_creds_clear(&cr);
  return c;
}

static void on_closed(void *data)
{
  (*(int *)data)++;
}

static void close_client(struct aws_client *c)
{
  int closed = 0;
  aws_client_close(c, on_closed, &closed);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ(closed, 1);
}

// One PUT through the call machinery, as PutObject / UploadPart make it.
static void put(struct aws_client *c, const char *path, const void *mem, size_t len, int fd,
                uint64_t off, uint64_t flen, struct echo *e)
{
  struct aws_request r = AWS_REQUEST_INIT;
  r.service = AWS_SVC_S3;
  r.op = "PutObject";
  r.method = "PUT";
  r.bucket = "bkt";
  r.path = path;
  r.checksum = true;
  r.idempotent = true;
  if (fd >= 0) {
    r.body_fd = fd;
    r.body_off = off;
    r.body_fd_len = flen;
  } else {
    r.body = mem;
    r.body_len = len;
  }
  memset(e, 0, sizeof *e);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_call_start(c, &r, on_echo, e, NULL, &err), 0);
  while (!e->done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  if (e->code != 0) {
    fprintf(stderr, "put %s: %s\n", path, e->message);
  }
  ASSERT_EQ(e->code, 0);
  ASSERT(e->info != NULL);
}

static const char *hdr(const struct echo *e, const char *name)
{
  const char *v = json_string_value(json_object_get(json_object_get(e->info, "headers"), name));
  return v ? v : "";
}

static const char *field(const struct echo *e, const char *name)
{
  const char *v = json_string_value(json_object_get(e->info, name));
  return v ? v : "";
}

static long long num(const struct echo *e, const char *name)
{
  return json_integer_value(json_object_get(e->info, name));
}

// A file of n pseudo-random bytes; returns its descriptor.
static int make_file(const char *name, size_t n)
{
  char *path = smf_xasprintf("%s/%s", dir, name);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT(fd >= 0);
  unsigned char *buf = smf_xmalloc(n ? n : 1);
  unsigned s = 99;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    buf[i] = (unsigned char)(s >> 16);
  }
  ASSERT_EQ(write(fd, buf, n), (ssize_t)n);
  free(buf);
  free(path);
  return fd;
}

static void crc_of_range(int fd, uint64_t off, size_t len, char out[AWS_CRC_B64_SIZE])
{
  unsigned char *buf = smf_xmalloc(len ? len : 1);
  ASSERT_EQ(pread(fd, buf, len, (off_t)off), (ssize_t)len);
  aws_crc_b64(aws_crc32(0, buf, len), out);
  free(buf);
}

TEST(http_signs_the_sha256)
{
  struct test_server srv;
  test_server_start_tls(&srv, NULL, NULL);
  struct aws_client *c = client("http", srv.port, NULL);
  struct echo e;
  put(c, "/echo", "hello", 5, -1, 0, 0, &e);
  ASSERT_STREQ(hdr(&e, "x-amz-content-sha256"), field(&e, "sha256"));
  ASSERT(hdr(&e, "x-amz-checksum-sha256")[0] != '\0');
  ASSERT_STREQ(hdr(&e, "content-encoding"), "");
  ASSERT_CONTAINS(hdr(&e, "authorization"), "x-amz-checksum-sha256;x-amz-content-sha256");
  json_decref(e.info);
  // A file range: hashed on the thread pool, still signed.
  int fd = make_file("http.bin", (3u << 20) + 77);
  put(c, "/echo", NULL, 0, fd, 77, 3u << 20, &e);
  ASSERT_EQ(num(&e, "length"), 3 << 20);
  ASSERT_STREQ(hdr(&e, "x-amz-content-sha256"), field(&e, "sha256"));
  json_decref(e.info);
  close(fd);
  close_client(c);
  test_server_stop(&srv);
}

TEST(https_memory_body_crc32_header)
{
  char *cert = smf_xasprintf("%s/tls-cert.pem", dir), *key = smf_xasprintf("%s/tls-key.pem", dir);
  char *ca = smf_xasprintf("%s/tls-ca.pem", dir);
  struct test_server srv;
  test_server_start_tls(&srv, cert, key);
  struct aws_client *c = client("https", srv.port, ca);
  struct echo e;
  static const char body[] = "The quick brown fox jumps over the lazy dog";
  put(c, "/echo", body, strlen(body), -1, 0, 0, &e);
  ASSERT_STREQ(hdr(&e, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  ASSERT_STREQ(hdr(&e, "x-amz-checksum-crc32"), "QU+jOQ==");  // zlib.crc32 of the text
  ASSERT_STREQ(hdr(&e, "x-amz-checksum-crc32"), field(&e, "crc32"));
  ASSERT_STREQ(hdr(&e, "x-amz-sdk-checksum-algorithm"), "CRC32");
  ASSERT_CONTAINS(hdr(&e, "authorization"), "x-amz-checksum-crc32");
  ASSERT_EQ(num(&e, "length"), (long long)strlen(body));
  json_decref(e.info);
  close_client(c);
  test_server_stop(&srv);
  free(cert);
  free(key);
  free(ca);
}

TEST(https_file_body_aws_chunked_trailer)
{
  char *cert = smf_xasprintf("%s/tls-cert.pem", dir), *key = smf_xasprintf("%s/tls-key.pem", dir);
  char *ca = smf_xasprintf("%s/tls-ca.pem", dir);
  struct test_server srv;
  test_server_start_tls(&srv, cert, key);
  struct aws_client *c = client("https", srv.port, ca);
  struct echo e;
  // An odd-sized range at an odd offset: several 1 MiB chunks and a short one.
  size_t len = (3u << 20) + 12345;
  int fd = make_file("tls.bin", len + 1001);
  char want[AWS_CRC_B64_SIZE];
  crc_of_range(fd, 1001, len, want);
  put(c, "/echo", NULL, 0, fd, 1001, len, &e);
  ASSERT_STREQ(hdr(&e, "x-amz-content-sha256"), "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
  ASSERT_STREQ(hdr(&e, "content-encoding"), "aws-chunked");
  ASSERT_STREQ(hdr(&e, "x-amz-trailer"), "x-amz-checksum-crc32");
  ASSERT_EQ(atoll(hdr(&e, "x-amz-decoded-content-length")), (long long)len);
  ASSERT_EQ(num(&e, "decoded_length"), (long long)len);
  ASSERT_STREQ(field(&e, "decoded_crc32"), want);
  ASSERT_EQ(num(&e, "length"),
            (long long)aws_http_chunked_length(len, 1u << 20, "x-amz-checksum-crc32"));
  ASSERT_EQ(e.attempts, 1);
  json_decref(e.info);
  // A resend (503 first) starts the framing and the CRC again from the top.
  put(c, "/fail1/echo", NULL, 0, fd, 1001, len, &e);
  ASSERT_EQ(e.attempts, 2);
  ASSERT_STREQ(field(&e, "decoded_crc32"), want);
  json_decref(e.info);
  // An empty body is just the last chunk and the trailer.
  put(c, "/echo", NULL, 0, fd, 0, 0, &e);
  ASSERT_EQ(num(&e, "decoded_length"), 0);
  ASSERT_STREQ(field(&e, "decoded_crc32"), "AAAAAA==");
  json_decref(e.info);
  close(fd);
  close_client(c);
  test_server_stop(&srv);
  free(cert);
  free(key);
  free(ca);
}

int main(void)
{
  ASSERT(mkdtemp(dir) != NULL);
  const char *src = getenv("SMF_SOURCE_DIR");
  ASSERT(src != NULL);
  char *cmd = smf_xasprintf("%s/tests/tools/tls_ca.sh %s tls", src, dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  RUN_TEST(http_signs_the_sha256);
  RUN_TEST(https_memory_body_crc32_header);
  RUN_TEST(https_file_body_aws_chunked_trailer);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  cmd = smf_xasprintf("rm -rf %s", dir);
  ASSERT_EQ(system(cmd), 0);
  free(cmd);
  return TEST_REPORT();
}

// aws_it_tls.c: the AWS client against moto over https (a throwaway CA given
// through AWS_CA_BUNDLE): PutObject from memory (CRC32 header), a file as one
// PutObject and as a multipart upload (aws-chunked bodies with CRC32
// trailers), and a server the configured CAs do not vouch for.
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/checksum.h"
#include "aws_it.h"

struct tls_obj {
  int done, code;
  struct smf_error err;
  char crc32[64];
  uint64_t size;
};

static void tls_obj_cb(const struct aws_s3_object *obj, const struct smf_error *err, void *data)
{
  struct tls_obj *o = data;
  o->done = 1;
  if (err) {
    o->code = err->code ? err->code : -1;
    o->err = *err;
    return;
  }
  o->size = obj->size;
  snprintf(o->crc32, sizeof o->crc32, "%s", obj->checksum_crc32 ? obj->checksum_crc32 : "");
}

static void file_crc(const char *path, char out[AWS_CRC_B64_SIZE])
{
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  static char buf[1 << 16];
  uint32_t crc = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    crc = aws_crc32(crc, buf, (size_t)n);
  }
  close(fd);
  aws_crc_b64(crc, out);
}

static void tls_upload(struct aws_client *c, const char *bucket, const char *key, const char *path,
                       struct tls_obj *o)
{
  struct aws_s3_put_opts opts = {.part_size = 8u << 20, .parallel = 4};
  struct smf_error e = SMF_ERROR_INIT;
  memset(o, 0, sizeof *o);
  CHECK_OK(aws_s3_upload_file(c, bucket, key, path, &opts, tls_obj_cb, o, &e), &e);
  it_wait(&o->done);
  if (o->code) {
    fprintf(stderr, "upload %s: %s\n", key, o->err.message);
  }
  CHECK(o->code == 0);
}

int it_tls(const char *bucket, const char *small, const char *big)
{
  struct aws_client *c = it_client(NULL);
  struct tls_obj o = {0};
  struct smf_error e = SMF_ERROR_INIT;
  CHECK_OK(aws_s3_create_bucket(c, bucket, tls_obj_cb, &o, &e), &e);
  it_wait(&o.done);
  CHECK(o.code == 0);
  // From memory: the CRC32 goes in a header; moto answers with what it stored.
  static const char text[] = "The quick brown fox jumps over the lazy dog";
  memset(&o, 0, sizeof o);
  CHECK_OK(aws_s3_put_object(c, bucket, "mem.txt", text, strlen(text), NULL, tls_obj_cb, &o, &e),
           &e);
  it_wait(&o.done);
  CHECK(o.code == 0);
  printf("tls: PutObject from memory, x-amz-checksum-crc32 %s\n", o.crc32);
  CHECK(strcmp(o.crc32, "QU+jOQ==") == 0);
  // A file under the threshold: one PutObject, aws-chunked with a trailer.
  char want[AWS_CRC_B64_SIZE];
  file_crc(small, want);
  tls_upload(c, bucket, "small.bin", small, &o);
  printf("tls: PutObject from a file, x-amz-checksum-crc32 %s (file: %s)\n", o.crc32, want);
  CHECK(strcmp(o.crc32, want) == 0);
  // Above it: a multipart upload, each part with its own trailer.
  tls_upload(c, bucket, "big/data file.bin", big, &o);
  struct stat st;
  CHECK(stat(big, &st) == 0 && o.size == (uint64_t)st.st_size);
  printf("tls: multipart upload of %llu bytes, ChecksumCRC32 %s, %llu HTTP attempts\n",
         (unsigned long long)o.size, o.crc32, (unsigned long long)aws_client_attempts(c));
  it_close(c);
  return 0;
}

int it_tls_refused(void)
{
  struct aws_client *c = it_client(NULL);
  struct tls_obj o = {0};
  struct smf_error e = SMF_ERROR_INIT;
  CHECK_OK(aws_s3_head_object(c, "smf-tls", "small.bin", tls_obj_cb, &o, &e), &e);
  it_wait(&o.done);
  printf("tls refused: %s\n", o.err.message);
  CHECK(o.code != 0);
  CHECK(strstr(o.err.message, "TLS: ") != NULL);
  CHECK(strstr(o.err.message, "AWS_CA_BUNDLE") != NULL);
  CHECK(aws_client_attempts(c) == 1);  // not retried: it would fail the same way
  it_close(c);
  return 0;
}

// bench_aws.c: client cost of the AWS client against a local server (moto).
//
//   bench_aws upload FILE BUCKET KEY   one file upload (the client's default
//       multipart rule; SMF_BENCH_PART_MIB and SMF_BENCH_PARALLEL override the
//       part size and the parts in flight, to compare settings)
//   bench_aws describe N NAME [INFLIGHT]  N DescribeTrainingJob calls, INFLIGHT at once
//
// Prints wall time and this process's CPU time (user + sys, getrusage) as
// "name=value" pairs for bench/bench_aws.sh.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "smflow/aws.h"
#include "smflow/util.h"

static uv_loop_t loop;

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
  return (double)uv_hrtime() / 1e9;
}

static struct aws_client *client(void)
{
  struct aws_client_config cfg = {.region = getenv("AWS_DEFAULT_REGION")};
  struct aws_client *c;
  struct smf_error err = SMF_ERROR_INIT;
  if (aws_client_new(&loop, &cfg, &c, &err) != 0) {
    fprintf(stderr, "client: %s\n", err.message);
    exit(1);
  }
  struct aws_creds cr = AWS_CREDS_INIT;
  aws_creds_set(&cr, getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), NULL, 0,
                "env");
  aws_client_set_creds(c, &cr);
  aws_creds_clear(&cr);
  return c;
}

static int failures;
static int done_count;

static void on_upload(const struct aws_s3_object *obj, const struct smf_error *err, void *data)
{
  (void)obj;
  (void)data;
  if (err) {
    fprintf(stderr, "upload: %s\n", err->message);
    failures++;
  }
  done_count++;
}

static int cmd_upload(const char *file, const char *bucket, const char *key)
{
  struct aws_client *c = client();
  double w0 = wall_s(), c0 = cpu_s();
  struct smf_error err = SMF_ERROR_INIT;
  struct aws_s3_put_opts opts = {0};
  const char *part = getenv("SMF_BENCH_PART_MIB"), *par = getenv("SMF_BENCH_PARALLEL");
  opts.part_size = part ? (uint64_t)strtoull(part, NULL, 10) << 20 : 0;
  opts.parallel = par ? atoi(par) : 0;
  if (aws_s3_upload_file(c, bucket, key, file, &opts, on_upload, NULL, &err) != 0) {
    fprintf(stderr, "upload: %s\n", err.message);
    return 1;
  }
  while (!done_count) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  printf("wall=%.3f cpu=%.3f attempts=%llu\n", wall_s() - w0, cpu_s() - c0,
         (unsigned long long)aws_client_attempts(c));
  aws_client_close(c, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return failures ? 1 : 0;
}

struct describer {
  struct aws_client *c;
  const char *name;
  int left;     // calls still to start
  int running;
};

static void describe_next(struct describer *d);

static void on_describe(json_t *res, const struct smf_error *err, void *data)
{
  struct describer *d = data;
  d->running--;
  done_count++;
  if (!res) {
    fprintf(stderr, "describe: %s\n", err->message);
    failures++;
  }
  describe_next(d);
}

static void describe_next(struct describer *d)
{
  if (d->left == 0) {
    return;
  }
  d->left--;
  d->running++;
  json_t *b = json_pack("{s:s}", "TrainingJobName", d->name);
  struct smf_error err = SMF_ERROR_INIT;
  if (aws_sagemaker_describe_training_job(d->c, b, NULL, on_describe, d, &err) != 0) {
    fprintf(stderr, "describe: %s\n", err.message);
    exit(1);
  }
  json_decref(b);
}

static int cmd_describe(int n, const char *name, int inflight)
{
  struct aws_client *c = client();
  struct describer d = {c, name, n, 0};
  double w0 = wall_s(), c0 = cpu_s();
  for (int i = 0; i < inflight; i++) {
    describe_next(&d);
  }
  while (done_count < n) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  double cpu = cpu_s() - c0;
  printf("wall=%.3f cpu=%.3f per_call_us=%.1f calls=%d\n", wall_s() - w0, cpu, cpu / n * 1e6, n);
  aws_client_close(c, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
  uv_loop_init(&loop);
  int rc = 2;
  if (argc >= 5 && strcmp(argv[1], "upload") == 0) {
    rc = cmd_upload(argv[2], argv[3], argv[4]);
  } else if (argc >= 4 && strcmp(argv[1], "describe") == 0) {
    rc = cmd_describe(atoi(argv[2]), argv[3], argc >= 5 ? atoi(argv[4]) : 1);
  } else {
    fprintf(stderr, "usage: bench_aws upload FILE BUCKET KEY | describe N NAME [INFLIGHT]\n");
  }
  uv_loop_close(&loop);
  return rc;
}

// bench_sigv4.c: signatures per second of smflow's SigV4 signer on a fixed
// SageMaker CreateTrainingJob request (the same one bench_sigv4.py signs with
// botocore). Prints the signature once, then "sigs/s N" measured in process
// CPU time. Usage: bench_sigv4 [iterations] [cold]
//   cold: a new signer per request (no reused contexts, no key cache).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/sigv4.h"
#include "smflow/aws.h"
#include "smflow/error.h"
#include "smflow/util.h"

static double cpu_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long iterations = argc > 1 ? atol(argv[1]) : 200000;
  int cold = argc > 2 && strcmp(argv[2], "cold") == 0;
  const char *body = getenv("BENCH_BODY");
  if (body == NULL) {
    fprintf(stderr, "BENCH_BODY (the JSON body) is not set\n");
    return 2;
  }
  struct aws_creds creds = AWS_CREDS_INIT;
  aws_creds_set(&creds, "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0,
                "bench");
  struct aws_sigv4_kv headers[] = {
      {"Host", "api.sagemaker.eu-west-1.amazonaws.com"},
      {"Content-Type", "application/x-amz-json-1.1"},
      {"X-Amz-Target", "SageMaker.CreateTrainingJob"},
  };
  struct aws_sigv4_request req = {.method = "POST",
                                  .path = "/",
                                  .headers = headers,
                                  .n_headers = 3,
                                  .body = body,
                                  .body_len = strlen(body)};
  struct aws_sigv4_config cfg = {.creds = &creds,
                                 .region = "eu-west-1",
                                 .service = "sagemaker",
                                 .time_s = 1440938160,
                                 .flags = AWS_SIGV4_FLAGS_DEFAULT};
  struct aws_sigv4_signer *s = aws_sigv4_signer_new();
  struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  if (aws_sigv4_sign_headers(s, &req, &cfg, &r, &err) != 0) {
    fprintf(stderr, "sign: %s\n", err.message);
    return 1;
  }
  printf("signature %s\n", r.signature);
  double t0 = cpu_seconds();
  for (long i = 0; i < iterations; i++) {
    if (cold) {
      aws_sigv4_signer_free(s);
      s = aws_sigv4_signer_new();
    }
    aws_sigv4_sign_headers(s, &req, &cfg, &r, &err);
  }
  double dt = cpu_seconds() - t0;
  printf("sigs/s %.0f\n", (double)iterations / dt);
  aws_sigv4_result_free(&r);
  aws_sigv4_signer_free(s);
  aws_creds_clear(&creds);
  return 0;
}

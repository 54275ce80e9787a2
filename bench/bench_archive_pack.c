// bench_archive_pack.c: pack a directory with smflow's reproducible tar.gz
// writer and print wall time, CPU time and sizes, for bench_archive.sh.
//
// usage: bench_archive_pack SRC_DIR OUT.tar.gz LEVEL [REPEAT]
//   LEVEL: -1 (ISA-L level 0), 0 (default), 1..3; the best of REPEAT runs is shown.
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "smflow/archive.h"
#include "smflow/error.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: %s SRC_DIR OUT.tar.gz LEVEL [REPEAT]\n", argv[0]);
    return 2;
  }
  int repeat = argc > 4 ? atoi(argv[4]) : 3;
  struct smf_pack_spec spec = {.source_dir = argv[1], .output = argv[2], .level = atoi(argv[3])};
  struct smf_pack_result res;
  double best_wall = 1e30, best_cpu = 1e30;
  for (int i = 0; i < repeat; i++) {
    struct smf_error err = SMF_ERROR_INIT;
    double w0 = now_s(), c0 = cpu_s();
    if (smf_archive_pack(&spec, &res, &err) != 0) {
      fprintf(stderr, "pack failed: %s\n", err.message);
      return 1;
    }
    double w = now_s() - w0, c = cpu_s() - c0;
    best_wall = w < best_wall ? w : best_wall;
    best_cpu = c < best_cpu ? c : best_cpu;
  }
  printf("wall=%.4f cpu=%.4f bytes=%llu content=%llu entries=%llu sha256=%s\n", best_wall, best_cpu,
         (unsigned long long)res.bytes, (unsigned long long)res.content_bytes,
         (unsigned long long)res.entries, res.sha256);
  return 0;
}

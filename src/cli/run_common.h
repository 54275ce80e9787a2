// run_common.h: helpers shared by the run-state commands (run, resume, status, runs).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/error.h"

/// Turn an engine outcome (or negative SMF_E*) into the exit code, printing the
/// summary (and how to resume) on stderr, and a final JSON line with --json.
int cli_run_report(const struct cli_ctx *ctx, const char *state_dir, const char *run_id,
                   int outcome, const struct smf_error *err);
struct state;
/// With SMFLOW_STATS set: one line "stats: self_cpu_ms=N max_rss_kb=N commits=N" on
/// stderr (getrusage of smflow itself, children excluded) — for the benchmarks.
void cli_run_stats(const struct state *st);
/// "2026-11-22 00:14:02" (local time) of milliseconds since the epoch.
const char *cli_time_format(int64_t ms, char *buf, size_t n);

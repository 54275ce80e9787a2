// cmd_run.c: `smflow run PIPELINE.yaml ...` — load, check, run on the engine.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_common.h"
#include "smflow/dag.h"
#include "smflow/dsl.h"
#include "smflow/engine.h"
#include "smflow/hash.h"
#include "smflow/log.h"
#include "smflow/state.h"
#include "smflow/util.h"

struct run_args {
  const char *pipeline;
  struct cli_params params;
  const char **only;
  size_t n_only;
  const char *from;
  const char *target;
  int max_parallel;
  bool dry_run;
  bool detach;
};

// The value of an option: `--opt=VALUE` inline, else the next argument.
static bool run__takes_value(const char *name)
{
  static const char *const with_value[] = {"--param", "--target", "--max-parallel", "--only",
                                           "--from"};
  for (size_t k = 0; k < SMF_ARRAY_LEN(with_value); k++) {
    if (strcmp(name, with_value[k]) == 0) {
      return true;
    }
  }
  return false;
}

static int run__parse(struct cli_ctx *ctx, int argc, char **argv, struct run_args *a)
{
  for (int i = 1; i < argc; i++) {
    char name[32];
    const char *eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
    size_t nlen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
    snprintf(name, sizeof(name), "%.*s", (int)(nlen < sizeof(name) ? nlen : 0), argv[i]);
    const char *o = eq ? name : argv[i];
    bool has_value = run__takes_value(o);
    if (eq && !has_value) {
      return cli_usage_error(ctx, "unknown option '%s'", argv[i]);
    }
    if (has_value && !eq && i + 1 >= argc) {
      return cli_usage_error(ctx, "%s needs a value", o);
    }
    const char *val = !has_value ? NULL : eq ? eq + 1 : argv[++i];
    if (strcmp(o, "--param") == 0) {
      if (cli_params_add(&a->params, val) != 0) {
        return cli_usage_error(ctx, "--param expects NAME=VALUE, not '%s'", val);
      }
    } else if (strcmp(o, "--target") == 0) {
      a->target = val;
      if (strcmp(a->target, "local") != 0 && strcmp(a->target, "aws") != 0) {
        return cli_usage_error(ctx, "--target must be local or aws, not '%s'", a->target);
      }
    } else if (strcmp(o, "--max-parallel") == 0) {
      char *end = NULL;
      long v = strtol(val, &end, 10);
      if (*val == '\0' || *end != '\0' || v < 1 || v > 100000) {
        return cli_usage_error(ctx, "--max-parallel expects a positive number, not '%s'", val);
      }
      a->max_parallel = (int)v;
    } else if (strcmp(o, "--only") == 0) {
      a->only = smf_xrealloc(a->only, (a->n_only + 1) * sizeof(*a->only));
      a->only[a->n_only++] = val;
    } else if (strcmp(o, "--from") == 0) {
      a->from = val;
    } else if (strcmp(o, "--dry-run") == 0) {
      a->dry_run = true;
    } else if (strcmp(o, "--detach") == 0) {
      a->detach = true;
    } else if (o[0] == '-' && o[1] != '\0') {
      return cli_usage_error(ctx, "unknown option '%s'", o);
    } else if (a->pipeline == NULL) {
      a->pipeline = o;
    } else {
      return cli_usage_error(ctx, "unexpected argument '%s'", o);
    }
  }
  if (a->pipeline == NULL) {
    return cli_usage_error(ctx, "missing PIPELINE.yaml");
  }
  return 0;
}

// --dry-run: the selected steps in the order they could start; nothing is written.
static int run__dry(const struct dsl_pipeline *p, const struct eng_options *opt)
{
  struct dag *g = dag_new(p->n_steps);
  for (size_t i = 0; i < p->n_steps; i++) {
    for (size_t k = 0; k < p->steps[i].n_needs; k++) {
      dag_add_edge(g, p->steps[i].need_idx[k], i);
    }
  }
  size_t *cycle = NULL, n_cycle = 0;
  dag_finalize(g, &cycle, &n_cycle);
  free(cycle);
  const size_t *topo = dag_topo(g);
  const struct dsl_step *from = opt->from ? dsl_pipeline_step(p, opt->from) : NULL;
  for (size_t k = 0; k < p->n_steps; k++) {
    const struct dsl_step *s = &p->steps[topo[k]];
    bool sel = opt->n_only == 0 && from == NULL;
    for (size_t j = 0; j < opt->n_only && !sel; j++) {
      sel = strcmp(opt->only[j], s->id) == 0;
    }
    sel = sel || (from && (from == s || dag_is_upstream(g, from->index, s->index)));
    printf("%s %s (%s)%s\n", sel ? "would run" : "would skip", s->id, dsl_kind_name(s->kind),
           s->when && sel ? " if its when: holds" : "");
  }
  dag_free(g);
  return CLI_EXIT_OK;
}

static int run__execute(struct cli_ctx *ctx, struct run_args *a, const struct dsl_pipeline *p,
                        const struct eng_options *opt)
{
  char *dir = cli_state_dir(ctx, a->pipeline);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *st = NULL;
  int rc = state_open(dir, STATE_OPEN_WRITE, &st, &err);
  if (rc != 0) {
    fprintf(stderr, "error: %s\n", err.message);
    free(dir);
    return CLI_EXIT_ENV;
  }
  char run_id[32] = "";
  rc = eng_run(st, p, opt, run_id, &err);
  cli_run_stats(st);
  state_close(st);
  rc = cli_run_report(ctx, dir, run_id, rc, &err);
  free(dir);
  return rc;
}

// --detach: the run continues in a child process (its own session, output in
// STATE_DIR/logs/RUN_ID/smflow.log). The parent waits until the child has
// recorded the run — or failed to: then its error is shown — and exits 3.
static void run__started(void *ud, const char *run_id)
{
  int *fd = ud;
  (void)run_id;
  if (*fd >= 0) {
    ssize_t w = write(*fd, "ok", 2);
    (void)w;
    close(*fd);
    *fd = -1;
  }
}

static int run__detach_child(struct cli_ctx *ctx, struct run_args *a, const struct dsl_pipeline *p,
                             struct eng_options *opt, int fd, const char *log)
{
  setsid();
  int null = open("/dev/null", O_RDONLY);
  int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null < 0 || lfd < 0) {
    _exit(CLI_EXIT_ENV);
  }
  dup2(null, 0);
  dup2(lfd, 1);
  dup2(lfd, 2);
  close(null);
  close(lfd);
  opt->on_started = run__started;
  opt->on_started_ud = &fd;
  int rc = run__execute(ctx, a, p, opt);
  fflush(NULL);
  _exit(rc);
}

static int run__detach(struct cli_ctx *ctx, struct run_args *a, const struct dsl_pipeline *p,
                       struct eng_options *opt)
{
  char run_id[32];
  eng_run_id_new(run_id);
  opt->run_id = run_id;
  char *dir = cli_state_dir(ctx, a->pipeline);
  char *logdir = smf_xasprintf("%s/logs/%s", dir, run_id);
  char *log = smf_xasprintf("%s/smflow.log", logdir);
  struct smf_error err = SMF_ERROR_INIT;
  int fds[2] = {-1, -1};
  int rc = CLI_EXIT_ENV;
  if (smf_mkdir_p(logdir, &err) != 0 || pipe2(fds, O_CLOEXEC) != 0) {
    fprintf(stderr, "error: %s\n", err.code ? err.message : strerror(errno));
    goto fail;
  }
  fflush(NULL);
  smf_hash_warm_wait();  // libcrypto's loading must not be half-way in the child
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    run__detach_child(ctx, a, p, opt, fds[1], log);
  }
  close(fds[1]);
  char buf[8] = {0};
  ssize_t n = pid > 0 ? read(fds[0], buf, sizeof(buf) - 1) : -1;
  close(fds[0]);
  if (n == 2 && strcmp(buf, "ok") == 0) {
    if (ctx->json) {
      printf("{\"event\":\"run\",\"run_id\":\"%s\",\"status\":\"detached\",\"pid\":%d}\n", run_id,
             (int)pid);
    }
    fprintf(stderr,
            "run %s continues in the background (pid %d)\nlog: %s\nsee: smflow status %s "
            "--state-dir %s\n",
            run_id, (int)pid, log, run_id, dir);
    rc = CLI_EXIT_INTERRUPTED;
  } else if (pid > 0) {
    // The child stopped before the run was recorded: show why, with its code.
    int status = 0;
    waitpid(pid, &status, 0);
    char *text = NULL;
    if (smf_file_read(log, &text, NULL, NULL) == 0) {
      fputs(text, stderr);
      free(text);
    }
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : CLI_EXIT_ENV;
  } else {
    fprintf(stderr, "error: fork: %s\n", strerror(errno));
  }
fail:
  free(log);
  free(logdir);
  free(dir);
  return rc;
}

int cli_cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
  struct run_args a = {0};
  int rc = run__parse(ctx, argc, argv, &a);
  struct dsl_pipeline *p = NULL;
  if (rc == 0) {
    rc = cli_pipeline_load(ctx, a.pipeline, a.params.items, a.params.n, &p);
  }
  struct eng_options opt = {.max_parallel = a.max_parallel,
                            .only = a.only,
                            .n_only = a.n_only,
                            .from = a.from,
                            .target = a.target,
                            .json = ctx->json,
                            .params = a.params.items,
                            .n_params = a.params.n};
  struct smf_error err = SMF_ERROR_INIT;
  if (rc == 0 && eng_options_check(p, &opt, &err) != 0) {
    rc = cli_usage_error(ctx, "%s", err.message);
  }
  if (rc == 0) {
    rc = a.dry_run  ? run__dry(p, &opt)
         : a.detach ? run__detach(ctx, &a, p, &opt)
                    : run__execute(ctx, &a, p, &opt);
  }
  dsl_pipeline_free(p);
  cli_params_free(&a.params);
  free(a.only);
  return rc;
}

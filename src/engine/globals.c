// globals.c: the Lua globals of a run — params, vars (evaluated once, in order,
// persisted unless derived from env), run {id, name, timestamp, date, started_at}, env and git —
// set up before the loop starts. A resumed run gets the same run/git/vars values back from the
// state database.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng_int.h"
#include "target/target.h"

extern char **environ;

void eng_run_id_new(char out[32])
{
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char ts[20];
  strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
  unsigned char rnd[2] = {0};
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
    unsigned v = (unsigned)getpid() ^ (unsigned)now;
    rnd[0] = (unsigned char)v;
    rnd[1] = (unsigned char)(v >> 8);
  }
  snprintf(out, 32, "%s-%02x%02x", ts, rnd[0], rnd[1]);
}

// Run `git -C DIR ARGS...` before the loop starts; first line of stdout, or NULL.
static char *eng__git(const char *dir, const char *a1, const char *a2, const char *a3)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return NULL;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return NULL;
  }
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 2);
    dup2(fds[1], 1);
    execlp("git", "git", "-C", dir, a1, a2, a3, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  struct smf_buf b = SMF_BUF_INIT;
  char chunk[4096];
  ssize_t n;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0) {
    smf_buf_append(&b, chunk, (size_t)n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    smf_buf_free(&b);
    return NULL;
  }
  char *s = smf_buf_steal(&b);
  return s;
}

static struct dsl_node *eng__git_table(struct smf_arena *a, const char *dir)
{
  struct dsl_node *g = dsl_node_new(a, DSL_MAP);
  char *sha = NULL, *branch = NULL;
  int found = eng_git_head(dir, &sha, &branch);
  if (found == 0) {
    return g;  // not in a repository: an empty table, and no git spawned
  }
  if (found < 0) {
    sha = eng__git(dir, "rev-parse", "HEAD", NULL);
    if (sha == NULL) {
      return g;  // no commit yet: an empty table
    }
    sha[strcspn(sha, "\n")] = '\0';
    branch = eng__git(dir, "rev-parse", "--abbrev-ref", "HEAD");
  }
  dsl_map_set(a, g, "sha", dsl_node_str(a, sha, strlen(sha)));
  dsl_map_set(a, g, "short_sha", dsl_node_str(a, sha, strlen(sha) < 7 ? strlen(sha) : 7));
  free(sha);
  if (branch) {
    branch[strcspn(branch, "\n")] = '\0';
    dsl_map_set(a, g, "branch", dsl_node_str(a, branch, strlen(branch)));
    free(branch);
  }
  char *st = eng__git(dir, "status", "--porcelain", "--untracked-files=no");
  dsl_map_set(a, g, "dirty", dsl_node_bool(a, st != NULL && st[0] != '\0'));
  free(st);
  return g;
}

static struct dsl_node *eng__run_table(struct eng *e, struct smf_arena *a)
{
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char ts[20], date[12], iso[32];
  // The run id starts with its own timestamp: keep the two equal.
  snprintf(ts, sizeof(ts), "%.15s", e->run_id);
  strftime(date, sizeof(date), "%Y-%m-%d", &tm);
  strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
  struct dsl_node *r = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, r, "id", dsl_node_str(a, e->run_id, strlen(e->run_id)));
  dsl_map_set(a, r, "name", dsl_node_str(a, e->p->name, strlen(e->p->name)));
  dsl_map_set(a, r, "timestamp", dsl_node_str(a, ts, strlen(ts)));
  dsl_map_set(a, r, "date", dsl_node_str(a, date, strlen(date)));
  dsl_map_set(a, r, "started_at", dsl_node_str(a, iso, strlen(iso)));
  return r;
}

static struct dsl_node *eng__env_table(struct smf_arena *a)
{
  struct dsl_node *m = dsl_node_new(a, DSL_MAP);
  for (char **ep = environ; *ep; ep++) {
    const char *eq = strchr(*ep, '=');
    if (eq == NULL || eq == *ep) {
      continue;
    }
    char *k = smf_arena_strndup(a, *ep, (size_t)(eq - *ep));
    dsl_map_set(a, m, k, dsl_node_str(a, eq + 1, strlen(eq + 1)));
  }
  return m;
}

static struct dsl_node *eng__params_table(struct eng *e, struct smf_arena *a)
{
  struct dsl_node *m = dsl_node_new(a, DSL_MAP);
  for (size_t i = 0; i < e->p->n_params; i++) {
    dsl_map_set(a, m, e->p->params[i].name, (struct dsl_node *)e->p->params[i].value);
  }
  return m;
}

// Evaluate vars in order: each sees the ones before it. A var whose evaluation
// read `env`, and every var after it, may hold a secret: it is not persisted,
// and a resumed run evaluates it again (`saved` holds the others, from the
// first run; NULL on a fresh run).
static int eng__vars_eval(struct eng *e, const struct dsl_node *saved, struct smf_error *err)
{
  struct smf_arena *a = &e->arena;
  struct dsl_node *vars = dsl_node_new(a, DSL_MAP);
  struct dsl_node *keep = dsl_node_new(a, DSL_MAP);
  bool from_env = false;
  int rc = lx_set_global(e->lx, "vars", vars, err);
  for (size_t i = 0; rc == 0 && i < e->p->n_vars; i++) {
    const char *name = e->p->vars[i].name;
    struct dsl_node *v = saved ? (struct dsl_node *)dsl_map_get(saved, name) : NULL;
    if (v == NULL) {
      uint64_t reads = lx_env_reads(e->lx);
      rc = lx_interpolate(e->lx, e->p->vars[i].value, e->p->path, a, &v, err);
      from_env = from_env || lx_env_reads(e->lx) != reads;
    }
    if (rc == 0) {
      dsl_map_set(a, vars, name, v);
      if (!from_env) {
        dsl_map_set(a, keep, name, v);
      }
      rc = lx_set_global(e->lx, "vars", vars, err);
    }
  }
  if (rc != 0) {
    return rc;
  }
  if (e->st == NULL || saved != NULL) {
    return 0;  // `smflow plan`, or a resume: nothing new to persist
  }
  char *json = dsl_node_to_json(keep);
  rc = state_run_set_vars(e->st, e->run_id, json, err);
  free(json);
  return rc;
}

static struct dsl_node *eng__saved(struct eng *e, const char *json, const char *key,
                                   struct smf_error *err)
{
  struct dsl_node *all = eng_json_to_node(&e->arena, json ? json : "{}", err);
  if (all == NULL) {
    return NULL;
  }
  const struct dsl_node *v = dsl_map_get(all, key);
  return v ? (struct dsl_node *)v : dsl_node_new(&e->arena, DSL_MAP);
}

// `aws` {region, account_id, default_bucket}: on a target that knows its account.
static int eng__aws_table(struct eng *e, struct smf_error *err)
{
  struct target *t = e->target;
  if (t == NULL || t->account_id == NULL) {
    return 0;
  }
  struct smf_arena *a = &e->arena;
  struct dsl_node *aws = dsl_node_new(a, DSL_MAP);
  char *bucket = smf_arena_printf(a, "sagemaker-%s-%s", t->region, t->account_id);
  dsl_map_set(a, aws, "region", dsl_node_str(a, t->region, strlen(t->region)));
  dsl_map_set(a, aws, "account_id", dsl_node_str(a, t->account_id, strlen(t->account_id)));
  dsl_map_set(a, aws, "default_bucket", dsl_node_str(a, bucket, strlen(bucket)));
  return lx_set_global(e->lx, "aws", aws, err);
}

int eng_globals_init(struct eng *e, const char *globals_json, const char *vars_json,
                     struct smf_error *err)
{
  struct smf_arena *a = &e->arena;
  struct dsl_node *run, *git;
  if ((run = eng__saved(e, globals_json, "run", err)) == NULL ||
      (git = eng__saved(e, globals_json, "git", err)) == NULL) {
    return SMF_ESTATE;
  }
  const char *sha = dsl_map_str(git, "sha", NULL);
  e->git_sha = sha ? smf_arena_strdup(a, sha) : NULL;
  int rc;
  if ((rc = lx_set_global(e->lx, "params", eng__params_table(e, a), err)) != 0 ||
      (rc = lx_set_global(e->lx, "run", run, err)) != 0 ||
      (rc = lx_set_global(e->lx, "git", git, err)) != 0 ||
      (rc = lx_set_global(e->lx, "env", eng__env_table(a), err)) != 0 ||
      (rc = eng__aws_table(e, err)) != 0) {
    return rc;
  }
  if (vars_json == NULL) {
    return eng__vars_eval(e, NULL, err);
  }
  struct dsl_node *vars = eng_json_to_node(a, vars_json, err);
  if (vars == NULL) {
    return SMF_ESTATE;
  }
  return eng__vars_eval(e, vars, err);
}

char *eng_globals_json(struct eng *e)
{
  struct smf_arena *a = &e->arena;
  struct dsl_node *globals = dsl_node_new(a, DSL_MAP);
  dsl_map_set(a, globals, "run", eng__run_table(e, a));
  dsl_map_set(a, globals, "git", eng__git_table(a, e->p->dir));
  return dsl_node_to_json(globals);
}

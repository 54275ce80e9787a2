// training.c: a training job on this machine, following the SageMaker training
// toolkit: per host algo-1..N a directory laid out as /opt/ml (config files,
// channels materialised from the store, code/ unpacked from the submit
// directory), the toolkit's environment and arguments, the entry point run the
// way the toolkit's runner does it; on success algo-1's model/ and output/data/
// are packed to OUTPUT_PATH/JOB_NAME/output/{model,output}.tar.gz and the
// metrics are read from algo-1's log through the metric definitions.
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/archive.h"
#include "smflow/log.h"
#include "target/local/local.h"

extern char **environ;

/// The job description, copied (the caller's is borrowed only during start).
struct training_data {
  struct smf_arena arena;
  struct target_training_job job;
  struct target_hps hps;
};

static const char *ar_dup(struct smf_arena *a, const char *s)
{
  return s ? smf_arena_strdup(a, s) : NULL;
}

static const struct target_kv *kv_dup(struct smf_arena *a, const struct target_kv *kv, size_t n)
{
  struct target_kv *out = smf_arena_alloc(a, (n ? n : 1) * sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    out[i].key = ar_dup(a, kv[i].key);
    out[i].value = ar_dup(a, kv[i].value);
  }
  return out;
}

static const char *const *strv_dup(struct smf_arena *a, const char *const *v, size_t n)
{
  const char **out = smf_arena_alloc(a, (n + 1) * sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    out[i] = ar_dup(a, v[i]);
  }
  return out;
}

static void training_copy(struct training_data *d, const struct target_training_job *src)
{
  struct smf_arena *a = &d->arena;
  struct target_training_job *j = &d->job;
  *j = *src;
  j->hyperparameters = j->framework_hyperparameters = NULL;  // encoded into d->hps
  j->job_name = ar_dup(a, src->job_name);
  j->image_uri = ar_dup(a, src->image_uri);
  j->entry_point = ar_dup(a, src->entry_point);
  j->submit_dir_uri = ar_dup(a, src->submit_dir_uri);
  j->command = strv_dup(a, src->command, src->n_command);
  j->region = ar_dup(a, src->region);
  j->role_arn = ar_dup(a, src->role_arn);
  j->input_mode = ar_dup(a, src->input_mode);
  j->output_path = ar_dup(a, src->output_path);
  j->output_kms_key = ar_dup(a, src->output_kms_key);
  j->checkpoint_s3_uri = ar_dup(a, src->checkpoint_s3_uri);
  j->checkpoint_local_path = ar_dup(a, src->checkpoint_local_path);
  j->resources.instance_type = ar_dup(a, src->resources.instance_type);
  struct target_channel *ch = smf_arena_alloc(a, (src->n_channels + 1) * sizeof(*ch));
  for (size_t i = 0; i < src->n_channels; i++) {
    const struct target_channel *c = &src->channels[i];
    ch[i] = (struct target_channel){ar_dup(a, c->name),        ar_dup(a, c->uri),
                                    ar_dup(a, c->input_mode),  ar_dup(a, c->content_type),
                                    ar_dup(a, c->compression), ar_dup(a, c->distribution),
                                    ar_dup(a, c->s3_data_type)};
  }
  j->channels = ch;
  j->environment = kv_dup(a, src->environment, src->n_environment);
  j->tags = kv_dup(a, src->tags, src->n_tags);
  struct target_metric_def *md = smf_arena_alloc(a, (src->n_metric_definitions + 1) * sizeof(*md));
  for (size_t i = 0; i < src->n_metric_definitions; i++) {
    md[i].name = ar_dup(a, src->metric_definitions[i].name);
    md[i].regex = ar_dup(a, src->metric_definitions[i].regex);
  }
  j->metric_definitions = md;
}

// The toolkit's runner: a Python package (setup.py in code/) runs as
// `python -m MODULE`, a .py file as `python FILE`, anything else as ./FILE.
static char **training_argv(const struct target_training_job *job, const char *code_dir,
                            const struct local_tk_env *tk)
{
  size_t n = 0;
  char **argv = smf_xcalloc(job->n_command + tk->n_args + 4, sizeof(char *));
  char *setup = smf_xasprintf("%s/setup.py", code_dir);
  bool package = access(setup, F_OK) == 0;
  bool python = package || smf_str_endswith(job->entry_point, ".py");
  free(setup);
  if (python) {
    if (job->n_command == 0) {
      argv[n++] = smf_xstrdup("python3");
    }
    for (size_t i = 0; i < job->n_command; i++) {
      argv[n++] = smf_xstrdup(job->command[i]);
    }
    if (package) {
      argv[n++] = smf_xstrdup("-m");
      const char *ep = job->entry_point;
      argv[n++] = smf_str_endswith(ep, ".py") ? smf_xstrndup(ep, strlen(ep) - 3) : smf_xstrdup(ep);
    } else {
      argv[n++] = smf_xstrdup(job->entry_point);
    }
  } else {
    char *path = smf_xasprintf("%s/%s", code_dir, job->entry_point);
    chmod(path, 0755);  // the toolkit makes the entry point executable
    free(path);
    argv[n++] = smf_xasprintf("./%s", job->entry_point);
  }
  for (size_t i = 0; i < tk->n_args; i++) {
    argv[n++] = smf_xstrdup(tk->args[i]);
  }
  return argv;
}

// The toolkit exports PYTHONPATH = sys.path with the code directory first.
static char **training_env(const struct target_training_job *job, const char *code_dir,
                           const char *ckpt_dir, struct local_tk_env *tk)
{
  size_t n = 0;
  char **over = smf_xcalloc(job->n_environment + tk->n_env + 3, sizeof(char *));
  over[n++] = smf_xasprintf("SMFLOW_CHECKPOINT_DIR=%s", ckpt_dir);
  for (size_t i = 0; i < job->n_environment; i++) {
    over[n++] = smf_xasprintf("%s=%s", job->environment[i].key, job->environment[i].value);
  }
  for (size_t i = 0; i < tk->n_env; i++) {
    over[n++] = smf_xstrdup(tk->env[i]);
  }
  const char *pp = getenv("PYTHONPATH");
  over[n++] = (pp && *pp) ? smf_xasprintf("PYTHONPATH=%s:%s", code_dir, pp)
                          : smf_xasprintf("PYTHONPATH=%s", code_dir);
  char **env = local_env_merge(environ, over, n);
  for (size_t i = 0; i < n; i++) {
    free(over[i]);
  }
  free(over);
  return env;
}

// The host's checkpoint directory, filled from checkpoint_s3_uri (nothing there yet is fine).
static int training_checkpoint_fetch(struct local_job *j, const char *dir, struct smf_error *err)
{
  struct training_data *d = j->kdata;
  int rc = smf_mkdir_p(dir, err);
  if (rc == 0 && d->job.checkpoint_s3_uri) {
    const char *uri = d->job.checkpoint_s3_uri;
    char *prefix = smf_str_endswith(uri, "/") ? smf_xstrdup(uri) : smf_xasprintf("%s/", uri);
    struct smf_error e2 = SMF_ERROR_INIT;
    rc = local_channel_fetch(j->t, prefix, dir, &e2);
    if (rc == SMF_ENOENT) {
      rc = 0;
    } else if (rc != 0) {
      *err = e2;
      smf_error_prefix(err, "checkpoints");
    }
    free(prefix);
  }
  return rc;
}

static int training_prepare_host(struct local_job *j, struct local_job_host *h, int index,
                                 struct smf_error *err)
{
  struct training_data *d = j->kdata;
  const struct target_training_job *job = &d->job;
  char *ckpt = local_checkpoint_dir(h->root, job->checkpoint_local_path);
  struct local_tk_env tk = {0};
  int rc = local_tk_prepare(h->root, job, &d->hps, index + 1, j->n_hosts, &tk, err);
  if (rc == 0) {
    rc = training_checkpoint_fetch(j, ckpt, err);
  }
  for (size_t c = 0; rc == 0 && c < job->n_channels; c++) {
    char *dir = smf_xasprintf("%s/input/data/%s", h->root, job->channels[c].name);
    const struct target_channel *ch = &job->channels[c];
    if (ch->distribution && strcmp(ch->distribution, "ShardedByS3Key") == 0) {
      rc = local_channel_fetch_shard(j->t, ch->uri, dir, index, j->n_hosts, err);
    } else {
      rc = local_channel_fetch(j->t, ch->uri, dir, err);
    }
    if (rc != 0) {
      smf_error_prefix(err, "channel '%s'", job->channels[c].name);
    }
    free(dir);
  }
  h->cwd = smf_xasprintf("%s/code", h->root);
  if (rc == 0 && job->submit_dir_uri) {
    rc = local_code_fetch(j->t, job->submit_dir_uri, h->cwd, err);
  }
  char *ep = smf_xasprintf("%s/%s", h->cwd, job->entry_point);
  if (rc == 0 && access(ep, F_OK) != 0) {
    rc = SMF_ERR_SET(err, SMF_ENOENT, "entry point '%s' is not in the source (%s)",
                     job->entry_point, job->submit_dir_uri ? job->submit_dir_uri : "none given");
  }
  free(ep);
  if (rc == 0) {
    h->argv = training_argv(job, h->cwd, &tk);
    h->env = training_env(job, h->cwd, ckpt, &tk);
  }
  local_tk_env_free(&tk);
  free(ckpt);
  return rc;
}

static int training_prepare(struct local_job *j, struct smf_error *err)
{
  for (int i = 0; i < j->n_hosts; i++) {
    int rc = training_prepare_host(j, &j->hosts[i], i, err);
    if (rc != 0) {
      return rc;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Collect.

static char *training_output_uri(const struct target_training_job *job, const char *file)
{
  const char *out = job->output_path;
  size_t n = strlen(out);
  while (n && out[n - 1] == '/') {
    n--;
  }
  return smf_xasprintf("%.*s/%s/output/%s", (int)n, out, job->job_name, file);
}

// Groups looked at in a metric regex: its first capturing group must be among them.
#define LOCAL_METRIC_GROUPS 16

/// Final metric values: for each definition, the first capturing group of its
/// last match in algo-1's log (the regex rewritten by local_metric_re_translate).
static void training_metrics(struct local_job *j)
{
  struct training_data *d = j->kdata;
  size_t n = d->job.n_metric_definitions;
  if (n == 0) {
    return;
  }
  char *log = NULL;
  if (smf_file_read(j->hosts[0].log_path, &log, NULL, NULL) != 0) {
    return;
  }
  j->res.metrics = smf_xcalloc(n, sizeof(*j->res.metrics));
  for (size_t m = 0; m < n; m++) {
    const struct target_metric_def *def = &d->job.metric_definitions[m];
    regex_t re;
    size_t grp = 0;
    char *ere = local_metric_re_translate(def->regex, &grp);
    int crc = grp ? regcomp(&re, ere, REG_EXTENDED) : -1;
    free(ere);
    if (crc != 0) {
      smf_log(SMF_LOG_WARN, "training job %s: metric '%s': regex '%s' %s; metric not reported",
              j->name, def->name, def->regex, grp ? "is not supported" : "has no capturing group");
      continue;
    }
    bool found = false;
    double value = 0;
    for (char *line = log, *next; line && *line; line = next) {
      char *nl = strchr(line, '\n');
      next = nl ? nl + 1 : NULL;
      if (nl) {
        *nl = '\0';
      }
      regmatch_t g[LOCAL_METRIC_GROUPS];
      if (grp < LOCAL_METRIC_GROUPS && regexec(&re, line, grp + 1, g, 0) == 0 &&
          g[grp].rm_so >= 0) {
        char *num = smf_xstrndup(line + g[grp].rm_so, (size_t)(g[grp].rm_eo - g[grp].rm_so));
        char *end;
        double v = strtod(num, &end);
        if (end != num) {
          value = v;
          found = true;
        }
        free(num);
      }
      if (nl) {
        *nl = '\n';
      }
    }
    regfree(&re);
    if (found) {
      j->res.metrics[j->res.n_metrics].name = smf_xstrdup(def->name);
      j->res.metrics[j->res.n_metrics++].value = value;
    }
  }
  free(log);
}

static int training_collect(struct local_job *j, struct smf_error *err)
{
  struct training_data *d = j->kdata;
  if (d->job.output_path == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL, "training job %s has no output path", j->name);
  }
  // algo-1's model/ and output/data/, as SageMaker uploads them.
  char *dirs[2] = {smf_xasprintf("%s/model", j->hosts[0].root),
                   smf_xasprintf("%s/output/data", j->hosts[0].root)};
  j->res.model_data = training_output_uri(&d->job, "model.tar.gz");
  j->res.output_data = training_output_uri(&d->job, "output.tar.gz");
  const char *uris[2] = {j->res.model_data, j->res.output_data};
  int rc = local_dirs_pack_put(j->t, (const char *const *)dirs, uris, 2, err);
  free(dirs[0]);
  free(dirs[1]);
  if (rc == 0) {
    training_metrics(j);
  }
  return rc;
}

// Every host's checkpoints go back to checkpoint_s3_uri, as SageMaker syncs them.
static int training_ended(struct local_job *j, struct smf_error *err)
{
  struct training_data *d = j->kdata;
  int rc = 0;
  for (int i = 0; rc == 0 && d->job.checkpoint_s3_uri && i < j->n_hosts; i++) {
    char *dir = local_checkpoint_dir(j->hosts[i].root, d->job.checkpoint_local_path);
    rc = local_checkpoint_upload(j->t, dir, d->job.checkpoint_s3_uri, err);
    free(dir);
  }
  return rc;
}

static void training_free(struct local_job *j)
{
  struct training_data *d = j->kdata;
  if (d) {
    target_hps_free(&d->hps);
    smf_arena_free(&d->arena);
    free(d);
  }
}

static const struct local_job_kind training_kind = {
    .what = "training job",
    .prepare = training_prepare,
    .collect = training_collect,
    .ended = training_ended,
    .free = training_free,
};

static int training_make(struct target *t, const void *vjob, target_event_cb cb, void *data,
                         struct local_job **out, struct smf_error *err)
{
  const struct target_training_job *job = vjob;
  if (job == NULL || job->job_name == NULL || job->entry_point == NULL || cb == NULL) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "a training job needs a name, an entry point and a callback");
  }
  if (strchr(job->job_name, '/') || strcmp(job->job_name, "..") == 0 || job->job_name[0] == '.') {
    return SMF_ERR_SET(err, SMF_EINVAL, "invalid job name '%s'", job->job_name);
  }
  if (!local_entry_point_ok(job->entry_point)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "entry point '%s' must be a path inside the code",
                       job->entry_point);
  }
  for (size_t i = 0; i < job->n_channels; i++) {
    if (!local_channel_name_ok(job->channels[i].name) || job->channels[i].uri == NULL) {
      return SMF_ERR_SET(err, SMF_EINVAL,
                         "channel '%s': a name of [A-Za-z0-9._-] and a URI "
                         "are required",
                         job->channels[i].name ? job->channels[i].name : "");
    }
  }
  if (!local_checkpoint_path_ok(job->checkpoint_local_path)) {
    return SMF_ERR_SET(err, SMF_EINVAL,
                       "checkpoint_local_path '%s' must be an absolute path without '..'",
                       job->checkpoint_local_path);
  }
  struct training_data *d = smf_xcalloc(1, sizeof(*d));
  int rc = target_hps_encode(job, t->region, &d->hps, err);
  if (rc != 0) {
    free(d);
    return rc;
  }
  training_copy(d, job);
  struct local_job *j =
      local_job_new(t, &training_kind, &local_training_ops, job->job_name,
                    job->resources.instance_count, job->resources.max_run_ms, cb, data);
  j->kdata = d;
  j->image_uri = job->image_uri ? smf_xstrdup(job->image_uri) : NULL;
  *out = j;
  return 0;
}

static int training_start(struct target *t, const void *job, target_event_cb cb, void *data,
                          struct target_job **out, struct smf_error *err)
{
  struct local_job *j = NULL;
  int rc = training_make(t, job, cb, data, &j, err);
  if (rc == 0 && (rc = local_job_run(j, err)) == 0) {
    *out = &j->base;
  }
  return rc;
}

static int training_attach(struct target *t, const void *job, const char *intent,
                           target_event_cb cb, void *data, struct target_job **out,
                           struct smf_error *err)
{
  struct local_job *j = NULL;
  int rc = training_make(t, job, cb, data, &j, err);
  if (rc == 0 && (rc = local_job_attach(j, intent, err)) == 0) {
    *out = &j->base;
  }
  return rc;
}

const struct target_job_ops local_training_ops = {
    .start = training_start,
    .attach = training_attach,
    .stop = local_job_stop,
    .detach = local_job_detach,
};

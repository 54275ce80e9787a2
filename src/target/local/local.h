// local.h: the local target's internals (private to src/target/local/).
//
// A training job lives in STATE_DIR/jobs/JOB_NAME/: one directory per host
// (algo-1 .. algo-N) laid out as /opt/ml, plus logs/HOST.log and the exit-status
// files the host processes write, so that a job survives a crash of smflow and
// can be re-attached. Endpoints live in STATE_DIR/endpoints/NAME.json.
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "target/local/store.h"
#include "target/target.h"

/// Make the local target (target_new's "local"). Caller frees with target_free.
int local_target_new(const struct target_config *cfg, struct target **out, struct smf_error *err);

/// The local target's object store. Borrowed.
const struct local_store *local_impl_store(const struct target *t);

/// Directory holding model_server.py: the configured share_dir, else the
/// installed share/smflow, else the source tree's share/smflow. Borrowed.
const char *local_share_dir(const struct target *t);

// ---------------------------------------------------------------------------
// toolkit.c: the SageMaker training toolkit's contract for one host.

/// The per-host environment and arguments the toolkit would give the user's script.
struct local_tk_env {
  char **env;  ///< "NAME=VALUE" strings (SM_*, TRAINING_JOB_NAME, ...), owned
  size_t n_env;
  char **args;  ///< the user arguments (SM_USER_ARGS as argv), owned
  size_t n_args;
};

/// Make the host's layout under opt_ml (input/config/, input/data/CHANNEL/,
/// model/, output/data/, output/intermediate/, code/), write its
/// input/config/{hyperparameters,resourceconfig,inputdataconfig}.json, and
/// build from the same documents the environment and arguments exactly as the
/// toolkit's Environment.to_env_vars() does, with paths under opt_ml. Caller
/// frees out with local_tk_env_free (also after a failure).
int local_tk_prepare(const char *opt_ml, const struct target_training_job *job,
                     const struct target_hps *hps, int host_index, int n_hosts,
                     struct local_tk_env *out, struct smf_error *err);
void local_tk_env_free(struct local_tk_env *e);

/// The value of NAME in a "NAME=VALUE" list, or NULL. Borrowed.
const char *local_env_get(char *const *env, size_t n, const char *name);

// ---------------------------------------------------------------------------
// proc.c: one host process: started by hostexec.c (a host process that records
// the command's exit status in a file), in its own session/process group,
// output to a log file that is tailed into line callbacks; or watched by pid
// after a re-attach.

struct local_host;

/// One complete line of output (without the newline). Borrowed.
typedef void (*local_line_cb)(struct local_host *h, const char *line, void *data);
/// The host ended: exit status from its exit file (-1 when it was killed before
/// writing one). All log lines were delivered before this call.
typedef void (*local_exit_cb)(struct local_host *h, int exit_code, void *data);

struct local_host_spec {
  const char *name;  ///< "algo-1"
  const char *cwd;
  char *const *argv;      ///< the command, argv[0] found on PATH
  char *const *env;       ///< the full environment, NULL-terminated
  const char *log_path;   ///< output goes here (appended)
  const char *exit_path;  ///< the host process writes the exit status here
};

/// Start the host process of spec (hostexec.c; thread-safe: called on the
/// thread pool, so that the loop never waits for the exec): smflow-jobhost (found where
/// the modules are, smf_module_program), posix_spawned in a new session with
/// env as its environment, which runs argv (found on the PATH of env) in cwd
/// with stdout and stderr appended to log_path, writes the command's status
/// ("$?": the exit code, or 128 + the signal) to exit_path when it ends and
/// exits with it. *pidfd (caller closes) becomes readable when the host ends;
/// reap it with waitpid(*pid). *status_fd (caller closes; non-blocking) is the
/// read end of a pipe on which the host writes that status, "N\n", as soon as
/// the command ended, before it writes exit_path and exits (EOF without it:
/// the host was killed).
int local_host_start(const struct local_host_spec *spec, int64_t *pid, int *pidfd, int *status_fd,
                     struct smf_error *err);
/// Start argv (found on env's PATH, looked up before the spawn) in cwd, in a
/// new session, with stdin from /dev/null and stdout/stderr on out_fd
/// (posix_spawn: the caller waits only until the exec). *pidfd (caller closes) becomes readable when it ends;
/// reap it with waitpid(*pid).
int local_spawn_detached(char *const *argv, char *const *env, const char *cwd, int out_fd,
                         int64_t *pid, int *pidfd, struct smf_error *err);
/// Watch a host this process started with local_host_start (pid, its start
/// time, its pidfd and status pipe (-1: none): taken over, closed by
/// local_host_close or on error): its log is tailed from the start, its end
/// read from the status pipe (else seen through the pidfd). The handle is
/// freed by local_host_close after its exit callback; a host that told its
/// status but has not exited yet keeps its watch (and the loop) until it
/// exits and is reaped.
int local_host_adopt(uv_loop_t *loop, const char *name, int64_t pid, uint64_t start_time, int pidfd,
                     int status_fd, const char *log_path, const char *exit_path,
                     local_line_cb line_cb, local_exit_cb exit_cb, void *data,
                     struct local_host **out, struct smf_error *err);
/// Watch a process started by an earlier smflow: polls `pid` and its start time,
/// tails `log_path` from its current end, reads `exit_path` when it is gone.
int local_host_watch(uv_loop_t *loop, const char *name, int64_t pid, uint64_t start_time,
                     const char *log_path, const char *exit_path, local_line_cb line_cb,
                     local_exit_cb exit_cb, void *data, struct local_host **out,
                     struct smf_error *err);
/// Send `sig` to the host's whole process group (no-op once it ended).
void local_host_kill(struct local_host *h, int sig);
int64_t local_host_pid(const struct local_host *h);
uint64_t local_host_start_time(const struct local_host *h);
const char *local_host_name(const struct local_host *h);
/// Release the handle (after its exit callback; closes uv handles asynchronously).
void local_host_close(struct local_host *h);

/// Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 if unknown.
uint64_t local_proc_start_time(int64_t pid);

// ---------------------------------------------------------------------------
// jobfs.c: small filesystem helpers used on the thread pool.

/// rm -rf PATH (refuses "" and "/"). Missing is fine.
int local_rm_rf(const char *path, struct smf_error *err);
/// Replace PATH with a jansson value atomically (temporary file, rename) but
/// without fsync: for records whose subject does not survive a crash of the
/// machine either (a model server's endpoint record).
int local_json_write_replace(const char *path, const json_t *v, struct smf_error *err);
/// Write a jansson value to PATH without fsync or rename: for scratch files of a
/// job directory, which a crash makes worthless anyway.
int local_json_write_scratch(const char *path, const json_t *v, struct smf_error *err);
/// Read PATH as JSON. Caller decrefs.
int local_json_read(const char *path, json_t **out, struct smf_error *err);
/// Read the last `max` bytes of a text file. Caller frees; NULL if unreadable.
char *local_file_tail(const char *path, size_t max);

// ---------------------------------------------------------------------------
// artifacts.c: the bridge to the object store and the archive module (all
// synchronous: call them on the thread pool).

/// Map a URI (s3://BUCKET/KEY, file://PATH, a path relative to base_dir) to a
/// local path. Caller frees *out.
int local_uri_path(const struct target *t, const char *uri, char **out, struct smf_error *err);
/// Materialise a channel: every object under the prefix at its key's remainder.
int local_channel_fetch(const struct target *t, const char *uri, const char *dir,
                        struct smf_error *err);
/// Materialise host `host` (0-based) of n_hosts's share of a ShardedByS3Key
/// channel: the objects in key order, host i gets objects i, i+N, i+2N, ...;
/// dir is made even when the host gets none.
int local_channel_fetch_shard(const struct target *t, const char *uri, const char *dir, int host,
                              int n_hosts, struct smf_error *err);
/// Unpack code for a job into dir: a .tar.gz object is extracted safely, a
/// directory is copied, a single file is copied into dir.
int local_code_fetch(const struct target *t, const char *uri, const char *dir,
                     struct smf_error *err);
/// Pack each dirs[i] (its contents at the root) reproducibly and store it at
/// uris[i]: the archives are written side by side, each fsynced once, then
/// renamed into the store, whose directories are synced once each.
int local_dirs_pack_put(const struct target *t, const char *const *dirs, const char *const *uris,
                        size_t n, struct smf_error *err);
/// Store a local file at uri.
int local_file_put(const struct target *t, const char *path, const char *uri,
                   struct smf_error *err);

// ---------------------------------------------------------------------------
// checkpoint.c: the training checkpoint directory (synchronous: thread pool).

/// checkpoint_local_path (NULL: /opt/ml/checkpoints) is absolute without ".."
/// components.
bool local_checkpoint_path_ok(const char *local_path);
/// The host directory for checkpoint_local_path: /opt/ml/X maps to ROOT/X, any
/// other absolute path P to ROOT/P. Caller frees.
char *local_checkpoint_dir(const char *root, const char *local_path);
/// Store every regular file under dir at URI/RELATIVE_PATH (a missing dir
/// stores nothing).
int local_checkpoint_upload(const struct target *t, const char *dir, const char *uri,
                            struct smf_error *err);

// ---------------------------------------------------------------------------
// job.c: what training and processing jobs share: preparing on the thread
// pool, the hosts, max_run, stop, the exit bookkeeping, collecting outputs.

struct local_job;

/// The kind-specific parts of a job. prepare/collect run on the thread pool.
struct local_job_kind {
  const char *what;  ///< "training job", "processing job"
  /// Make the job directory and fill every host's argv/env/cwd.
  int (*prepare)(struct local_job *j, struct smf_error *err);
  /// After every host succeeded: store outputs, read metrics/report into j->res.
  int (*collect)(struct local_job *j, struct smf_error *err);
  /// Optional: after every host ended, whatever the outcome, before collect.
  int (*ended)(struct local_job *j, struct smf_error *err);
  void (*free)(struct local_job *j);
};

struct local_job_host {
  char *name;  ///< algo-N
  char *root;  ///< the host's /opt/ml
  char *cwd;
  char *log_path, *exit_path;
  char **argv, **env;  ///< NULL-terminated, owned
  struct local_host *h;
  int64_t pid;
  uint64_t start_time;
  int pidfd;      ///< started on the thread pool, not yet adopted by h: -1 once it is
  int status_fd;  ///< the host's status pipe, likewise
  int exit_code;
  bool ended;
};

/// Results a kind fills in collect (owned by the job).
struct local_job_out {
  char *model_data, *output_data, *report_uri, *report_json, *failure_reason;
  struct target_metric *metrics;
  size_t n_metrics;
};

struct local_job {
  struct target_job base;
  const struct local_job_kind *kind;
  void *kdata;
  struct target *t;
  char *name, *dir, *image_uri;
  int n_hosts;
  struct local_job_host *hosts;
  int64_t max_run_ms, started_ms;
  target_event_cb cb;
  void *data;
  uv_work_t work;
  uv_timer_t max_timer, kill_timer;
  int handles;
  bool stop_requested, timed_out, attached, preparing, collecting, detached;
  bool start_failed;  ///< work_rc is a host that could not be started (not the preparation)
  int running;
  int work_rc;
  struct smf_error work_err;
  struct local_job_out res;
};

/// A new job in STATE_DIR/jobs/NAME with n_hosts hosts named algo-1..N. Caller
/// then fills kdata and starts it with local_job_run or local_job_attach.
struct local_job *local_job_new(struct target *t, const struct local_job_kind *kind,
                                const struct target_job_ops *ops, const char *name, int n_hosts,
                                int64_t max_run_ms, target_event_cb cb, void *data);
/// Prepare on the thread pool, then spawn every host. On error the job is freed
/// and the callback never runs.
int local_job_run(struct local_job *j, struct smf_error *err);
/// Re-attach from an intent (JSON text of the STARTED event).
int local_job_attach(struct local_job *j, const char *intent, struct smf_error *err);
/// Stop: SIGTERM to every host, SIGKILL after a grace period.
int local_job_stop(struct target_job *base, struct smf_error *err);
/// A channel or input name as SageMaker allows it: [A-Za-z0-9._-]{1,64}, not "." or "..".
bool local_channel_name_ok(const char *name);
/// An entry point: a relative path inside the code without ".." segments.
bool local_entry_point_ok(const char *path);
/// Forget the job, leaving its processes running (target_job_ops.detach).
void local_job_detach(struct target_job *base);
/// Free a job that never started (after a failed local_job_run it is already freed).
void local_job_free(struct local_job *j);
/// NULL-terminated environment: `base` overlaid with each "NAME=VALUE" of `over`
/// (later wins). Caller frees the array and the strings.
char **local_env_merge(char *const *base, char *const *over, size_t n_over);
void local_strv_free(char **v);

/// The training and processing job operations.
extern const struct target_job_ops local_training_ops;
extern const struct target_job_ops local_processing_ops;
/// The hosting operations (hosting.c).
extern const struct target_hosting_ops local_hosting_ops;
/// A model server this process started: a watch on its pidfd stays open (unref'd,
/// so that it does not keep the loop alive) until it exits, so that it is reaped:
/// a replaced or deleted server never lingers as a zombie while smflow lives.
struct local_server;
/// The target's list of started servers (local.c). Borrowed.
struct local_server **local_impl_servers(struct target *t);
/// Let go of every server still running (target free): the handles are closed,
/// the processes keep serving (they are in their own sessions). A handle the
/// loop's owner already closed (uv_walk + uv_close, then uv_run) is only freed.
void local_servers_release(struct target *t);
/// registry.c: the model registry in the state database (SPEC §4; a target
/// without one has no registry), and the hosting operations that also record
/// endpoints there.
extern const struct target_registry_ops local_registry_ops;
extern const struct target_hosting_ops local_hosting_recorded_ops;

// ---------------------------------------------------------------------------
// ping.c: `GET PATH` on 127.0.0.1:PORT without blocking the loop.

/// http_status: the response's status code, or 0 when there was no answer
/// (refused, reset, timed out after 2 s).
typedef void (*local_ping_cb)(void *data, int http_status);
/// The callback runs exactly once unless this returns an error.
int local_ping(uv_loop_t *loop, int port, const char *path, local_ping_cb cb, void *data,
               struct smf_error *err);

/// A metric_definitions regex in the Perl/Java style SageMaker users write
/// (`\d`, lazy `*?`, `(?:...)`) rewritten for regcomp(REG_EXTENDED) (metric_re.c).
/// *first_group is the rewritten expression's group that is the original's
/// first capturing group (0: none). Returns a new string (caller frees).
char *local_metric_re_translate(const char *re, size_t *first_group);

/// The training toolkit's ExecuteUserScriptError message for a script that
/// exited with exit_code and wrote no output/failure: its error lines from the
/// end of log_path, and the command argv (NULL-terminated; NULL when unknown)
/// (toolkit_error.c). Returns a new string (caller frees).
char *local_tk_error_message(int exit_code, const char *log_path, char *const *argv);

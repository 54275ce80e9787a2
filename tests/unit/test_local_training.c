// test_local_training.c: training jobs on the local target, on a real uv loop
// with real processes: the toolkit contract checked from inside the script
// (tests/data/local/contract_train.py) on two hosts, outputs at SageMaker's
// locations, metrics, failures, max_run, stop, and re-attaching after a crash.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "local_test_util.h"

#define BUCKET "s3://smflow-test"
#define CODE_URI BUCKET "/code/sourcedir.tar.gz"

static struct dsl_node *contract_hps(void)
{
  struct dsl_node *hp = ltu_node(DSL_MAP);
  ltu_set(hp, "epochs", ltu_int(10));
  ltu_set(hp, "learning-rate", ltu_float(0.1));
  ltu_set(hp, "eps", ltu_float(1e-05));
  ltu_set(hp, "flag", ltu_bool(true));
  ltu_set(hp, "optimizer", ltu_str("adam"));
  struct dsl_node *layers = ltu_node(DSL_SEQ);
  ltu_push(layers, ltu_int(1));
  ltu_push(layers, ltu_int(2));
  ltu_set(hp, "layers", layers);
  struct dsl_node *opts = ltu_node(DSL_MAP);
  ltu_set(opts, "a", ltu_int(1));
  ltu_set(hp, "opts", opts);
  ltu_set(hp, "k", ltu_int(3));
  return hp;
}

static const struct target_channel contract_channels[] = {
    {.name = "train", .uri = BUCKET "/data/train/"},
    {.name = "test", .uri = BUCKET "/data/te", .content_type = "text/csv"},
};
static const struct target_kv contract_env[] = {{"MY_SETTING", "hello world"}};
static const struct target_metric_def loss_metric[] = {{"train:loss", "loss=([0-9.]+)"}};

static struct target_training_job base_job(const char *name, const char *entry)
{
  struct target_training_job job = {
      .job_name = name,
      .image_uri = "local",
      .entry_point = entry,
      .submit_dir_uri = CODE_URI,
      .output_path = BUCKET "/out/",
      .resources = {.instance_type = "ml.m5.large", .instance_count = 1},
  };
  return job;
}

static char *seed_state(void)
{
  char *dir = ltu_tmpdir();
  ltu_put(dir, BUCKET "/data/train/a.csv", "1,2\n");
  ltu_put(dir, BUCKET "/data/train/nested/b.csv", "3,4\n");
  ltu_put(dir, BUCKET "/data/test/c.csv", "5,6\n");
  ltu_put(dir, BUCKET "/data/other/x.csv", "not in any channel\n");
  ltu_put_code(dir, CODE_URI);
  return dir;
}

static void run_job(struct target *t, uv_loop_t *loop, const struct target_training_job *job,
                    struct ltu_job *c, int64_t max_ms)
{
  struct smf_error err = SMF_ERROR_INIT;
  c->t = t;
  int rc = target_training_start(t, job, ltu_on_event, c, &c->job, &err);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err.message);
  }
  ASSERT_EQ(rc, 0);
  ltu_run_until(loop, &c->done, max_ms);
}

static double metric(const struct ltu_job *c, const char *name)
{
  for (size_t i = 0; i < c->n_metrics; i++) {
    if (strcmp(c->metric_name[i], name) == 0) {
      return c->metric_value[i];
    }
  }
  return -1;
}

TEST(contract_two_hosts)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct dsl_node *hp = contract_hps();
  struct target_training_job job = base_job("contract-job-1", "contract_train.py");
  job.hyperparameters = hp;
  job.resources.instance_count = 2;
  job.channels = contract_channels;
  job.n_channels = 2;
  job.environment = contract_env;
  job.n_environment = 1;
  job.metric_definitions = loss_metric;
  job.n_metric_definitions = 1;
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 60000);
  if (c.status != TARGET_JOB_COMPLETED) {
    fprintf(stderr, "reason: %s\nlog:\n%s", c.reason, smf_buf_cstr(&c.log));
  }
  ASSERT_EQ(c.status, TARGET_JOB_COMPLETED);
  ASSERT(c.started && c.intent != NULL);
  ASSERT_CONTAINS(c.intent, "\"algo-2\"");
  ASSERT_STREQ(c.model_data, BUCKET "/out/contract-job-1/output/model.tar.gz");
  ASSERT_STREQ(c.output_data, BUCKET "/out/contract-job-1/output/output.tar.gz");
  ASSERT(metric(&c, "train:loss") == 0.25);
  // Both hosts streamed their lines, with their prefix; algo-1's log file kept them.
  ASSERT(c.lines[0] >= 3 && c.lines[1] >= 3);
  ASSERT_CONTAINS(smf_buf_cstr(&c.log), "[algo-2] progress on algo-2");
  char *log1 = smf_xasprintf("%s/jobs/contract-job-1/logs/algo-1.log", state);
  char *text = ltu_read(log1);
  ASSERT_CONTAINS(text, "loss=0.25");
  free(text);
  ASSERT(c.billable >= 2);
  // model.tar.gz holds algo-1's model/ at its root.
  char *tgz = ltu_path(state, c.model_data);
  char *out = smf_xasprintf("%s/unpacked", state);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_extract(tgz, out, NULL, &err), 0);
  char *model = smf_xasprintf("%s/model.json", out);
  text = ltu_read(model);
  ASSERT_CONTAINS(text, "\"host\": \"algo-1\"");
  free(text);
  char *otgz = ltu_path(state, c.output_data);
  char *out2 = smf_xasprintf("%s/unpacked-output", state);
  ASSERT_EQ(smf_archive_extract(otgz, out2, NULL, &err), 0);
  char *note = smf_xasprintf("%s/note.txt", out2);
  text = ltu_read(note);
  ASSERT_STREQ(text, "written by algo-1\n");
  free(text);
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
  free(log1);
  free(tgz);
  free(out);
  free(model);
  free(otgz);
  free(out2);
  free(note);
}

TEST(failure_reason_from_output_failure)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("fail-job-1", "fail_train.py");
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.klass, SMF_CLASS_ALGORITHM);
  ASSERT_EQ(c.exit_code, 3);
  ASSERT_STREQ(c.reason, "AlgorithmError: bad input: no rows in the train channel");
  ASSERT(c.model_data == NULL);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(failure_reason_capped)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("long-fail-job-1", "long_fail_train.py");
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT(c.reason != NULL);
  // The whole reason, "AlgorithmError: " included, is capped at 1024 bytes,
  // cut before a partial UTF-8 sequence.
  size_t n = strlen(c.reason);
  ASSERT(n <= 1024 && n >= 1023);
  ASSERT(strncmp(c.reason, "AlgorithmError: xxx", 19) == 0);
  ASSERT(((unsigned char)c.reason[n - 1] & 0xC0) != 0xC0);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(crash_without_failure_file)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("crash-job-1", "crash_train.py");
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.klass, SMF_CLASS_ALGORITHM);
  ASSERT_EQ(c.exit_code, 1);
  ASSERT_CONTAINS(c.reason, "AlgorithmError: ExecuteUserScriptError:");
  ASSERT_CONTAINS(c.reason, "ExitCode 1");
  ASSERT_CONTAINS(c.reason, "ZeroDivisionError");
  // The toolkit's message was left in output/failure, as the toolkit does.
  char *failure = smf_xasprintf("%s/jobs/crash-job-1/algo-1/output/failure", state);
  char *text = ltu_read(failure);
  ASSERT_CONTAINS(text, "ExitCode 1");
  free(text);
  free(failure);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

// The host process runs the command as a shell would (found on the job's PATH)
// and records "$?": 127 for a command that is not there, 128 + N for one killed
// by signal N (SIGTERM reaches the command; the host outlives it).
TEST(host_status_as_a_shell_reports_it)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("missing-cmd-1", "sleep_train.py");
  const char *missing[] = {"no-such-interpreter-smflow"};
  job.command = missing;
  job.n_command = 1;
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.exit_code, 127);
  char *log = smf_xasprintf("%s/jobs/missing-cmd-1/logs/algo-1.log", state);
  char *text = ltu_read(log);
  ASSERT_CONTAINS(text, "no-such-interpreter-smflow: command not found");
  free(text);
  free(log);
  ltu_job_free(&c);
  struct target_training_job job2 = base_job("killed-cmd-1", "sleep_train.py");
  const char *self_kill[] = {"sh", "-c", "kill -TERM $$"};
  job2.command = self_kill;
  job2.n_command = 3;
  struct ltu_job c2 = {0};
  run_job(t, &loop, &job2, &c2, 30000);
  ASSERT_EQ(c2.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c2.exit_code, 128 + SIGTERM);
  char *exit_file = smf_xasprintf("%s/jobs/killed-cmd-1/status/algo-1.exit", state);
  text = ltu_read(exit_file);
  ASSERT_STREQ(text, "143\n");
  free(text);
  free(exit_file);
  ltu_finish(&loop, t);
  ltu_job_free(&c2);
  ltu_rm(state);
  free(state);
}

TEST(missing_channel_data_is_a_client_error)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("nochan-job-1", "sleep_train.py");
  struct target_channel ch = {.name = "train", .uri = BUCKET "/nothing/here/"};
  job.channels = &ch;
  job.n_channels = 1;
  struct ltu_job c = {0};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.klass, SMF_CLASS_CLIENT);
  ASSERT(!c.started);
  ASSERT_CONTAINS(c.reason, "channel 'train'");
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(invalid_descriptions_never_call_back)
{
  char *state = ltu_tmpdir();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct ltu_job c = {0};
  struct smf_error err = SMF_ERROR_INIT;
  struct target_training_job job = base_job("bad-job-1", "../train.py");
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &c, &c.job, &err), SMF_EINVAL);
  job = base_job("bad-job-1", "train.py");
  struct target_channel ch = {.name = "../escape", .uri = BUCKET "/data/"};
  job.channels = &ch;
  job.n_channels = 1;
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &c, &c.job, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "channel '../escape'");
  job = base_job("../bad", "train.py");
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &c, &c.job, &err), SMF_EINVAL);
  ltu_finish(&loop, t);
  ASSERT(!c.started && !c.done);
  ltu_rm(state);
  free(state);
}

static struct dsl_node *seconds_hp(double s)
{
  struct dsl_node *hp = ltu_node(DSL_MAP);
  ltu_set(hp, "seconds", ltu_float(s));
  return hp;
}

TEST(max_run_enforced)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct dsl_node *hp = seconds_hp(60);
  struct target_training_job job = base_job("slow-job-1", "sleep_train.py");
  job.hyperparameters = hp;
  job.resources.max_run_ms = 1000;
  struct ltu_job c = {0};
  int64_t t0 = smf_time_now_ms();
  run_job(t, &loop, &job, &c, 30000);
  int64_t took = smf_time_now_ms() - t0;
  ASSERT_EQ(c.status, TARGET_JOB_STOPPED);
  ASSERT_EQ(c.klass, SMF_CLASS_TIMEOUT);
  ASSERT_EQ(c.err_code, SMF_ETIMEOUT);
  ASSERT_CONTAINS(c.reason, "MaxRuntimeExceeded");
  ASSERT(took < 8000);
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(stop_running_job)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct dsl_node *hp = seconds_hp(60);
  struct target_training_job job = base_job("stop-job-1", "sleep_train.py");
  job.hyperparameters = hp;
  struct ltu_job c = {.stop_on_start = true};
  run_job(t, &loop, &job, &c, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_STOPPED);
  ASSERT_EQ(c.err_code, SMF_ECANCELLED);
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

// Live processes whose working directory is under dir (a job's hosts and scripts).
static int procs_in_now(const char *dir)
{
  int n = 0;
  DIR *d = opendir("/proc");
  ASSERT(d != NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') {
      continue;
    }
    char link[300], cwd[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/%s/cwd", e->d_name);
    ssize_t len = readlink(link, cwd, sizeof(cwd) - 1);
    if (len > 0) {
      cwd[len] = '\0';
      n += strncmp(cwd, dir, strlen(dir)) == 0;
    }
  }
  closedir(d);
  return n;
}

// The same, once the processes a SIGKILL was just sent to had time to go (2 s at most).
static int procs_in(const char *dir)
{
  int n = procs_in_now(dir);
  for (int i = 0; i < 200 && n > 0; i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
    n = procs_in_now(dir);
  }
  return n;
}

// The hosts start on the thread pool at the end of the preparation: a job
// stopped or detached while it prepares had its hosts started, and they are
// killed when the preparation ends (it was never reported started), their
// intent.json removed.
TEST(stop_or_detach_while_preparing)
{
  char *state = seed_state();
  struct dsl_node *hp = seconds_hp(60);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct smf_error err = SMF_ERROR_INIT;
  struct target_training_job job = base_job("prep-stop-1", "sleep_train.py");
  job.hyperparameters = hp;
  struct ltu_job c = {.t = t};
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &c, &c.job, &err), 0);
  ASSERT_EQ(target_job_stop(t, c.job, &err), 0);
  ltu_run_until(&loop, &c.done, 30000);
  ASSERT(!c.started);
  ASSERT_EQ(c.status, TARGET_JOB_STOPPED);
  ASSERT_CONTAINS(c.reason, "stopped before it started");
  char *dir = smf_xasprintf("%s/jobs/prep-stop-1", state);
  char *log = smf_xasprintf("%s/logs/algo-1.log", dir);
  ASSERT_EQ(access(log, F_OK), 0);  // its host was started
  ASSERT_EQ(procs_in(dir), 0);
  // Its intent, written once the hosts started, is gone: a resume starts it anew.
  char *intent = smf_xasprintf("%s/intent.json", dir);
  ASSERT(access(intent, F_OK) != 0);
  ASSERT_EQ(target_training_attach(t, &job, NULL, ltu_on_event, &c, &c.job, &err), SMF_ENOENT);
  free(intent);
  free(log);
  free(dir);

  struct target_training_job job2 = base_job("prep-detach-1", "sleep_train.py");
  job2.hyperparameters = hp;
  struct ltu_job c2 = {.t = t};
  ASSERT_EQ(target_training_start(t, &job2, ltu_on_event, &c2, &c2.job, &err), 0);
  target_job_detach(c2.job);
  uv_run(&loop, UV_RUN_DEFAULT);  // until the preparation ended and the job was freed
  ASSERT(!c2.started && !c2.done);
  dir = smf_xasprintf("%s/jobs/prep-detach-1", state);
  log = smf_xasprintf("%s/logs/algo-1.log", dir);
  ASSERT_EQ(access(log, F_OK), 0);
  ASSERT_EQ(procs_in(dir), 0);
  intent = smf_xasprintf("%s/intent.json", dir);
  ASSERT(access(intent, F_OK) != 0);
  free(intent);
  free(log);
  free(dir);
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&c);
  ltu_job_free(&c2);
  ltu_rm(state);
  free(state);
}

// The process has ended (its new parent may not have reaped it yet).
static bool gone_or_zombie(int64_t pid)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
  char *text = NULL;
  if (smf_file_read(path, &text, NULL, NULL) != 0) {
    return true;
  }
  const char *p = strrchr(text, ')');
  bool zombie = p && p[1] == ' ' && p[2] == 'Z';
  free(text);
  return zombie;
}

// The job ends when its host tells the command's status on the status pipe,
// before the host has written its exit file and exited: here the exit file is
// a FIFO nobody reads yet, which holds the host there. The host, let go of
// with the job, is still reaped once it exits (no zombie while we live).
TEST(job_ends_on_the_told_status)
{
  char *state = seed_state();
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct target_training_job job = base_job("told-1", "sleep_train.py");
  const char *cmd[] = {"sh", "-c", "sleep 0.3; echo last line"};
  job.command = cmd;
  job.n_command = 3;
  struct ltu_job c = {0};
  struct smf_error err = SMF_ERROR_INIT;
  c.t = t;
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &c, &c.job, &err), 0);
  ltu_run_until(&loop, &c.started, 30000);
  ASSERT(c.started && !c.done);
  char *exit_file = smf_xasprintf("%s/jobs/told-1/status/algo-1.exit", state);
  ASSERT_EQ(mkfifo(exit_file, 0644), 0);
  ltu_run_until(&loop, &c.done, 30000);
  ASSERT_EQ(c.status, TARGET_JOB_COMPLETED);
  ASSERT_EQ(c.exit_code, 0);
  ASSERT_CONTAINS(smf_buf_cstr(&c.log), "last line");
  json_t *intent = json_loads(c.intent, 0, NULL);
  pid_t host = (pid_t)json_integer_value(
      json_object_get(json_array_get(json_object_get(intent, "hosts"), 0), "pid"));
  json_decref(intent);
  ASSERT(host > 0);
  ASSERT_EQ(kill(host, 0), 0);  // still there: held opening its exit file
  ASSERT(!gone_or_zombie(host));
  int fifo = open(exit_file, O_RDONLY | O_NONBLOCK);
  ASSERT(fifo >= 0);
  char *proc = smf_xasprintf("/proc/%d", (int)host);
  for (int i = 0; i < 1000 && access(proc, F_OK) == 0; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  ASSERT(access(proc, F_OK) != 0);  // exited and reaped by the loop
  close(fifo);
  free(proc);
  free(exit_file);
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

// A first smflow process starts the job, hands the intent over a pipe and dies
// at once (_exit, no cleanup): the hosts run on in their own session.
static void start_and_crash(const char *state, const struct target_training_job *job, int fd)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct ltu_job c = {0};
  struct smf_error err = SMF_ERROR_INIT;
  if (target_training_start(t, job, ltu_on_event, &c, &c.job, &err) != 0) {
    _exit(2);
  }
  while (!c.started && !c.done) {
    uv_run(&loop, UV_RUN_ONCE);
  }
  if (c.intent && write(fd, c.intent, strlen(c.intent)) < 0) {
    _exit(3);
  }
  _exit(c.started ? 0 : 4);
}

TEST(reattach_after_crash)
{
  char *state = seed_state();
  struct dsl_node *hp = seconds_hp(1.5);
  struct target_training_job job = base_job("attach-job-1", "sleep_train.py");
  job.hyperparameters = hp;
  job.metric_definitions = loss_metric;
  job.n_metric_definitions = 1;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);  // the hosts must not hold the write end
  pid_t child = fork();
  ASSERT(child >= 0);
  if (child == 0) {
    close(fds[0]);
    start_and_crash(state, &job, fds[1]);
  }
  close(fds[1]);
  char intent[4096];
  ssize_t n = 0, r;
  while ((r = read(fds[0], intent + n, sizeof(intent) - 1 - (size_t)n)) > 0) {
    n += r;
  }
  close(fds[0]);
  intent[n] = '\0';
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_CONTAINS(intent, "\"start_time\"");
  // The host is still running, and it is not our child.
  json_t *o = json_loads(intent, 0, NULL);
  json_int_t pid =
      json_integer_value(json_object_get(json_array_get(json_object_get(o, "hosts"), 0), "pid"));
  json_decref(o);
  ASSERT(pid > 0 && kill((pid_t)pid, 0) == 0);

  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct ltu_job c = {.t = t};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_training_attach(t, &job, intent, ltu_on_event, &c, &c.job, &err), 0);
  ltu_run_until(&loop, &c.done, 30000);
  if (c.status != TARGET_JOB_COMPLETED) {
    fprintf(stderr, "reason: %s\n", c.reason);
  }
  ASSERT_EQ(c.status, TARGET_JOB_COMPLETED);
  ASSERT_EQ(c.exit_code, 0);
  ASSERT_STREQ(c.model_data, BUCKET "/out/attach-job-1/output/model.tar.gz");
  ASSERT(metric(&c, "train:loss") == 0.125);
  ASSERT_CONTAINS(smf_buf_cstr(&c.log), "[algo-1] loss=0.125");  // streamed after re-attach
  ASSERT(gone_or_zombie(pid));
  char *tgz = ltu_path(state, c.model_data);
  ASSERT(access(tgz, F_OK) == 0);
  free(tgz);
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
}

TEST(detach_then_attach)
{
  char *state = seed_state();
  struct dsl_node *hp = seconds_hp(1.0);
  struct target_training_job job = base_job("detach-job-1", "sleep_train.py");
  job.hyperparameters = hp;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  struct ltu_job first = {.t = t};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(target_training_start(t, &job, ltu_on_event, &first, &first.job, &err), 0);
  ltu_run_until(&loop, &first.started, 30000);
  target_job_detach(first.job);  // as a shutting-down smflow does: the job runs on
  uv_run(&loop, UV_RUN_NOWAIT);
  struct ltu_job second = {.t = t};
  // By name, as if the intent had never been persisted.
  ASSERT_EQ(target_training_attach(t, &job, NULL, ltu_on_event, &second, &second.job, &err), 0);
  ltu_run_until(&loop, &second.done, 30000);
  ASSERT(!first.done);
  struct target_training_job other = base_job("never-started-1", "sleep_train.py");
  struct ltu_job third = {.t = t};
  ASSERT_EQ(target_training_attach(t, &other, NULL, ltu_on_event, &third, &third.job, &err),
            SMF_ENOENT);
  ASSERT_EQ(second.status, TARGET_JOB_COMPLETED);
  ASSERT_STREQ(second.model_data, BUCKET "/out/detach-job-1/output/model.tar.gz");
  ltu_finish(&loop, t);
  ltu_node_free(hp);
  ltu_job_free(&first);
  ltu_job_free(&second);
  ltu_rm(state);
  free(state);
}

TEST(reattach_to_a_vanished_job)
{
  char *state = seed_state();
  struct target_training_job job = base_job("gone-job-1", "sleep_train.py");
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct target *t = ltu_target(&loop, state);
  // pid 1 exists but with another start time: not our process.
  char intent[256];
  snprintf(intent, sizeof(intent),
           "{\"target\":\"local\",\"started_ms\":%lld,\"hosts\":[{\"host\":\"algo-1\","
           "\"pid\":1,\"start_time\":12345}]}",
           (long long)smf_time_now_ms());
  char *jobdir = smf_xasprintf("%s/jobs/gone-job-1/logs", state);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_mkdir_p(jobdir, &err), 0);
  struct ltu_job c = {.t = t};
  ASSERT_EQ(target_training_attach(t, &job, intent, ltu_on_event, &c, &c.job, &err), 0);
  ltu_run_until(&loop, &c.done, 10000);
  ASSERT_EQ(c.status, TARGET_JOB_FAILED);
  ASSERT_EQ(c.exit_code, -1);
  ASSERT_CONTAINS(c.reason, "ExitCode -1");
  ltu_finish(&loop, t);
  ltu_job_free(&c);
  ltu_rm(state);
  free(state);
  free(jobdir);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  RUN_TEST(contract_two_hosts);
  RUN_TEST(failure_reason_from_output_failure);
  RUN_TEST(failure_reason_capped);
  RUN_TEST(crash_without_failure_file);
  RUN_TEST(host_status_as_a_shell_reports_it);
  RUN_TEST(job_ends_on_the_told_status);
  RUN_TEST(missing_channel_data_is_a_client_error);
  RUN_TEST(invalid_descriptions_never_call_back);
  RUN_TEST(max_run_enforced);
  RUN_TEST(stop_running_job);
  RUN_TEST(stop_or_detach_while_preparing);
  RUN_TEST(reattach_after_crash);
  RUN_TEST(detach_then_attach);
  RUN_TEST(reattach_to_a_vanished_job);
  return TEST_REPORT();
}

// test_local_registry.c: the local target's model registry in a real state
// database: groups ("already exists" is fine), versions numbered 1, 2, ... even
// when registered concurrently, listing, approval updates, the errors for a
// missing group or version, numbering that survives a reopen, and no registry
// at all without a state database.
#include "local_test_util.h"
#include "smflow/state.h"

struct reg_ctx {
  int done;
  int status;
  size_t n;
  int versions[16];
  char approvals[16][32];
  char arn[160];
  char meta[64];
};

static void on_done(void *data, int status, const struct smf_error *err)
{
  (void)err;
  struct reg_ctx *c = data;
  c->status = status;
  c->done++;
}

static void on_pkgs(void *data, int status, const struct target_model_package *p, size_t n,
                    const struct smf_error *err)
{
  (void)err;
  struct reg_ctx *c = data;
  c->status = status;
  c->n = n;
  for (size_t i = 0; i < n && i < 16; i++) {
    c->versions[i] = p[i].version;
    snprintf(c->approvals[i], sizeof(c->approvals[i]), "%s", p[i].approval);
    snprintf(c->arn, sizeof(c->arn), "%s", p[i].arn);
    if (p[i].n_metadata) {
      snprintf(c->meta, sizeof(c->meta), "%s=%s", p[i].metadata[0].key, p[i].metadata[0].value);
    }
  }
  c->done++;
}

static void wait_for(uv_loop_t *loop, struct reg_ctx *c, int n)
{
  int64_t until = smf_time_now_ms() + 10000;
  while (c->done < n && smf_time_now_ms() < until) {
    uv_run(loop, UV_RUN_ONCE);
  }
  ASSERT_EQ(c->done, n);
}

// A local target whose registry is the state database of state_dir.
static struct target *db_target(uv_loop_t *loop, const char *state_dir, struct state **st)
{
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(state_open(state_dir, STATE_OPEN_WRITE, st, &err), 0);
  struct target_config cfg = {
      .loop = loop, .state_dir = state_dir, .base_dir = state_dir, .state = *st};
  struct target *t = NULL;
  ASSERT_EQ(target_new("local", &cfg, &t, &err), 0);
  return t;
}

TEST(groups_versions_approval)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct state *st = NULL;
  struct target *t = db_target(&loop, state, &st);
  struct smf_error err = SMF_ERROR_INIT;
  struct reg_ctx c = {0};
  struct target_model_package pkg = {.group = "churn",
                                     .approval = "PendingManualApproval",
                                     .model_data = "s3://b/m/model.tar.gz",
                                     .image_uri = "local"};
  ASSERT_EQ(target_registry_create_version(t, &pkg, on_pkgs, &c, &err), 0);
  wait_for(&loop, &c, 1);
  ASSERT_EQ(c.status, SMF_ENOENT);  // no group yet
  ASSERT_EQ(target_registry_create_group(t, "no_underscores", NULL, on_done, &c, &err), SMF_EINVAL);

  c = (struct reg_ctx){0};
  ASSERT_EQ(target_registry_create_group(t, "churn", "models", on_done, &c, &err), 0);
  ASSERT_EQ(target_registry_create_group(t, "churn", "again", on_done, &c, &err), 0);
  wait_for(&loop, &c, 2);
  ASSERT_EQ(c.status, 0);

  // Five registrations in flight at once get versions 1..5.
  struct target_kv md = {"git_sha", "abc123"};
  pkg.metadata = &md;
  pkg.n_metadata = 1;
  struct reg_ctx many[5] = {{0}};
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(target_registry_create_version(t, &pkg, on_pkgs, &many[i], &err), 0);
  }
  int seen = 0;
  for (int i = 0; i < 5; i++) {
    wait_for(&loop, &many[i], 1);
    ASSERT_EQ(many[i].status, 0);
    ASSERT_EQ(many[i].n, 1);
    seen |= 1 << many[i].versions[0];
  }
  ASSERT_EQ(seen, 0x3e);

  c = (struct reg_ctx){0};
  struct reg_ctx missing = {0};
  ASSERT_EQ(target_registry_update_approval(t, "churn", 3, "Approved", on_done, &c, &err), 0);
  ASSERT_EQ(target_registry_update_approval(t, "churn", 9, "Approved", on_done, &missing, &err), 0);
  wait_for(&loop, &c, 1);
  wait_for(&loop, &missing, 1);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(missing.status, SMF_ENOENT);
  ASSERT_EQ(target_registry_update_approval(t, "churn", 1, "Maybe", on_done, &c, &err), SMF_EINVAL);

  c = (struct reg_ctx){0};
  ASSERT_EQ(target_registry_list(t, "churn", on_pkgs, &c, &err), 0);
  wait_for(&loop, &c, 1);
  ASSERT_EQ(c.n, 5);
  ASSERT_EQ(c.versions[4], 5);
  ASSERT_STREQ(c.approvals[2], "Approved");
  ASSERT_STREQ(c.approvals[0], "PendingManualApproval");
  ASSERT_STREQ(c.arn, "arn:aws:sagemaker:us-east-1:000000000000:model-package/churn/5");
  ASSERT_STREQ(c.meta, "git_sha=abc123");
  ltu_finish(&loop, t);
  state_close(st);

  // The versions are in state.db, durable: a new process numbers on from 6.
  uv_loop_init(&loop);
  t = db_target(&loop, state, &st);
  c = (struct reg_ctx){0};
  ASSERT_EQ(target_registry_create_version(t, &pkg, on_pkgs, &c, &err), 0);
  wait_for(&loop, &c, 1);
  ASSERT_EQ(c.status, 0);
  ASSERT_EQ(c.versions[0], 6);
  ltu_finish(&loop, t);
  state_close(st);
  struct state_model_package *rows = NULL;
  size_t n = 0;
  ASSERT_EQ(state_open(state, STATE_OPEN_READ, &st, &err), 0);
  ASSERT_EQ(state_registry_list(st, "churn", &rows, &n, &err), 0);
  ASSERT_EQ(n, 6);
  ASSERT_STREQ(rows[2].approval, "Approved");
  ASSERT_STREQ(rows[5].metadata_json, "{\"git_sha\":\"abc123\"}");
  state_model_packages_free(rows, n);
  state_close(st);
  ltu_rm(state);
  free(state);
}

// Without a state database there is no registry (no files on the side).
TEST(no_state_database)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct target *t = ltu_target(&loop, state);
  struct smf_error err = SMF_ERROR_INIT;
  struct reg_ctx c = {0};
  ASSERT_EQ(target_registry_create_group(t, "churn", NULL, on_done, &c, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "state database");
  ASSERT_EQ(target_registry_list(t, "churn", on_pkgs, &c, &err), SMF_EINVAL);
  ASSERT_EQ(c.done, 0);
  char *dir = smf_xasprintf("%s/registry", state);
  ASSERT(access(dir, F_OK) != 0);
  free(dir);
  ltu_finish(&loop, t);
  ltu_rm(state);
  free(state);
}

int main(void)
{
  RUN_TEST(groups_versions_approval);
  RUN_TEST(no_state_database);
  return TEST_REPORT();
}

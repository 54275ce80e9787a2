// test_local_registry.c: the local model registry: groups ("already exists" is
// fine), versions numbered 1, 2, ... even when registered concurrently, listing,
// approval updates, and the errors for a missing group or version.
#include "local_test_util.h"

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

TEST(groups_versions_approval)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  char *state = ltu_tmpdir();
  struct target *t = ltu_target(&loop, state);
  struct smf_error err = SMF_ERROR_INIT;
  struct reg_ctx c = {0};
  struct target_model_package pkg = {.group = "churn",
                                     .approval = "PendingManualApproval",
                                     .model_data = "s3://b/m/model.tar.gz",
                                     .image_uri = "local"};
  ASSERT_EQ(target_registry_create_version(t, &pkg, on_pkgs, &c, &err), 0);
  wait_for(&loop, &c, 1);
  ASSERT_EQ(c.status, SMF_ENOENT);  // no group yet

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
  ltu_rm(state);
  free(state);
}

int main(void)
{
  RUN_TEST(groups_versions_approval);
  return TEST_REPORT();
}

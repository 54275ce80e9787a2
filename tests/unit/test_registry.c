// test_registry.c: the local model registry and endpoint records in a real
// state database (src/state/registry.c): groups, version numbering per group,
// approvals, endpoint records; and a write through STATE_OPEN_SHARED while
// another connection holds the writer lock (what `smflow models approve` does
// while a run waits for approval).
#include <stdlib.h>
#include <string.h>

#include "smflow/state.h"
#include "smflow/util.h"
#include "test.h"

static char *make_dir(void)
{
  char tmpl[] = "/tmp/smf-test-registry-XXXXXX";
  char *d = mkdtemp(tmpl);
  ASSERT(d != NULL);
  return smf_xstrdup(d);
}

static void rm_dir(char *dir)
{
  char *cmd = smf_xasprintf("rm -rf '%s'", dir);
  ASSERT(system(cmd) == 0);
  free(cmd);
  free(dir);
}

static int add_version(struct state *s, const char *group, const char *model)
{
  struct smf_error err = SMF_ERROR_INIT;
  struct state_model_package p = {.group = (char *)group,
                                  .model_data = (char *)model,
                                  .metadata_json = (char *)"{\"run_id\":\"r1\"}"};
  int v = 0;
  ASSERT_EQ(state_registry_version_add(s, &p, "arn:x:model-package/g", &v, &err), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  return v;
}

TEST(versions_per_group)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  ASSERT_EQ(state_registry_group_put(s, "a", "first", &err), 0);
  ASSERT_EQ(state_registry_group_put(s, "a", "again", &err), 0);  // exists: fine
  ASSERT_EQ(state_registry_group_put(s, "b", NULL, &err), 0);
  ASSERT_EQ(add_version(s, "a", "m1"), 1);
  ASSERT_EQ(add_version(s, "a", "m2"), 2);
  ASSERT_EQ(add_version(s, "b", "m3"), 1);
  ASSERT_EQ(add_version(s, "a", "m4"), 3);
  struct state_model_package *v = NULL;
  size_t n = 0;
  ASSERT_EQ(state_registry_list(s, "a", &v, &n, &err), 0);
  ASSERT_EQ(n, 3);
  ASSERT_EQ(v[2].version, 3);
  ASSERT_STREQ(v[2].model_data, "m4");
  ASSERT_STREQ(v[2].arn, "arn:x:model-package/g/3");
  ASSERT_STREQ(v[2].approval, "PendingManualApproval");
  ASSERT_STREQ(v[2].metadata_json, "{\"run_id\":\"r1\"}");
  state_model_packages_free(v, n);
  ASSERT_EQ(state_registry_list(s, NULL, &v, &n, &err), 0);
  ASSERT_EQ(n, 4);
  state_model_packages_free(v, n);
  // A version in a group that does not exist is refused (foreign key).
  struct state_model_package p = {.group = (char *)"nogroup"};
  int ver = 0;
  ASSERT(state_registry_version_add(s, &p, "arn", &ver, &err) != 0);
  state_flush(s, NULL);
  ASSERT_EQ(state_registry_set_approval(s, "a", 2, "Approved", &err), 0);
  ASSERT_EQ(state_registry_set_approval(s, "a", 9, "Approved", &err), SMF_ENOENT);
  ASSERT_EQ(state_flush(s, &err), 0);
  state_close(s);
  // Numbering continues after a reopen.
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  ASSERT_EQ(add_version(s, "a", "m5"), 4);
  state_close(s);
  rm_dir(dir);
}

TEST(shared_write_while_locked)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *w = NULL, *other = NULL, *sh = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &w, &err), 0);
  ASSERT_EQ(state_registry_group_put(w, "g", NULL, &err), 0);
  ASSERT_EQ(add_version(w, "g", "m"), 1);
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &other, &err), SMF_ELOCKED);
  ASSERT_EQ(state_open(dir, STATE_OPEN_SHARED, &sh, &err), 0);
  ASSERT_EQ(state_registry_set_approval(sh, "g", 1, "Approved", &err), 0);
  ASSERT_EQ(state_flush(sh, &err), 0);
  state_close(sh);
  struct state_model_package *v = NULL;
  size_t n = 0;
  ASSERT_EQ(state_registry_list(w, "g", &v, &n, &err), 0);
  ASSERT_EQ(n, 1);
  ASSERT_STREQ(v[0].approval, "Approved");  // the lock holder sees the other write
  state_model_packages_free(v, n);
  state_close(w);
  rm_dir(dir);
}

TEST(endpoint_records)
{
  char *dir = make_dir();
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(dir, STATE_OPEN_WRITE, &s, &err), 0);
  struct state_endpoint e = {.name = (char *)"ep",
                             .url = (char *)"http://127.0.0.1:1",
                             .pid = 42,
                             .model_data = (char *)"m1",
                             .spec_json = (char *)"{\"model_data\":\"m1\"}"};
  ASSERT_EQ(state_endpoint_put(s, &e, &err), 0);
  ASSERT_EQ(state_flush(s, &err), 0);
  struct state_endpoint got = {0};
  ASSERT_EQ(state_endpoint_get(s, "ep", &got, &err), 0);
  int64_t created = got.created_ms;
  ASSERT_EQ(got.pid, 42);
  ASSERT_STREQ(got.url, "http://127.0.0.1:1");
  state_endpoint_clear(&got);
  e.pid = 43;
  e.url = (char *)"http://127.0.0.1:2";
  ASSERT_EQ(state_endpoint_put(s, &e, &err), 0);
  ASSERT_EQ(state_endpoint_get(s, "ep", &got, &err), 0);
  ASSERT_EQ(got.pid, 43);
  ASSERT_EQ(got.created_ms, created);  // an update keeps the creation time
  ASSERT_STREQ(got.spec_json, "{\"model_data\":\"m1\"}");
  state_endpoint_clear(&got);
  struct state_endpoint *v = NULL;
  size_t n = 0;
  ASSERT_EQ(state_endpoints_list(s, &v, &n, &err), 0);
  ASSERT_EQ(n, 1);
  state_endpoints_free(v, n);
  ASSERT_EQ(state_endpoint_delete(s, "ep", &err), 0);
  ASSERT_EQ(state_endpoint_get(s, "ep", &got, &err), SMF_ENOENT);
  state_close(s);
  rm_dir(dir);
}

int main(void)
{
  RUN_TEST(versions_per_group);
  RUN_TEST(shared_write_while_locked);
  RUN_TEST(endpoint_records);
  return TEST_REPORT();
}

// test_util.c: buffers, arenas, durations, suggestions, error records, mkdir -p.
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/error.h"
#include "smflow/util.h"
#include "test.h"

TEST(buf_grows_and_caps)
{
  struct smf_buf b = SMF_BUF_INIT;
  for (int i = 0; i < 1000; i++) {
    ASSERT_EQ(smf_buf_printf(&b, "%d,", i), 0);
  }
  ASSERT(b.len > 3000);
  ASSERT(smf_str_startswith(smf_buf_cstr(&b), "0,1,2,"));
  smf_buf_free(&b);
  struct smf_buf c = {.max = 4};
  ASSERT_EQ(smf_buf_puts(&c, "abcd"), 0);
  ASSERT_EQ(smf_buf_puts(&c, "e"), SMF_EINVAL);
  ASSERT_STREQ(smf_buf_cstr(&c), "abcd");
  smf_buf_free(&c);
}

TEST(arena_many_and_large)
{
  struct smf_arena a = SMF_ARENA_INIT;
  char *big = smf_arena_alloc(&a, 1 << 20);
  big[(1 << 20) - 1] = 1;
  for (int i = 0; i < 10000; i++) {
    char *s = smf_arena_printf(&a, "k%d", i);
    ASSERT(s[0] == 'k');
  }
  ASSERT_STREQ(smf_arena_strdup(&a, "x"), "x");
  smf_arena_free(&a);
}

TEST(durations)
{
  int64_t ms = 0;
  ASSERT_EQ(smf_duration_parse("90s", &ms), 0);
  ASSERT_EQ(ms, 90000);
  ASSERT_EQ(smf_duration_parse("10m", &ms), 0);
  ASSERT_EQ(ms, 600000);
  ASSERT_EQ(smf_duration_parse("2h", &ms), 0);
  ASSERT_EQ(ms, 7200000);
  ASSERT_EQ(smf_duration_parse("1d", &ms), 0);
  ASSERT_EQ(ms, 86400000);
  ASSERT_EQ(smf_duration_parse("45", &ms), 0);
  ASSERT_EQ(ms, 45000);
  ASSERT_EQ(smf_duration_parse("1.5", &ms), 0);
  ASSERT_EQ(ms, 1500);
  ASSERT_EQ(smf_duration_parse("10x", &ms), SMF_EINVAL);
  ASSERT_EQ(smf_duration_parse("-1s", &ms), SMF_EINVAL);
  ASSERT_EQ(smf_duration_parse("", &ms), SMF_EINVAL);
  char buf[32];
  ASSERT_STREQ(smf_duration_format(90000, buf, sizeof(buf)), "1m30s");
}

TEST(suggest)
{
  const char *const keys[] = {"instance_type", "instance_count", "entry_point"};
  ASSERT_STREQ(smf_str_suggest("instance_typ", keys, 3), "instance_type");
  ASSERT_STREQ(smf_str_suggest("entrypoint", keys, 3), "entry_point");
  ASSERT(smf_str_suggest("zzz", keys, 3) == NULL);
}

TEST(errors)
{
  struct smf_error e = SMF_ERROR_INIT;
  ASSERT_EQ(SMF_ERR_SET(&e, SMF_EIO, "disk %s", "full"), SMF_EIO);
  smf_error_prefix(&e, "step '%s'", "train");
  ASSERT_STREQ(e.message, "step 'train': disk full");
  ASSERT_STREQ(smf_errname(SMF_EIO), "SMF_EIO");
  ASSERT_STREQ(smf_errclass_name(SMF_CLASS_CAPACITY), "CapacityError");
  ASSERT_EQ(smf_errclass_parse("HookError"), SMF_CLASS_HOOK);
  ASSERT_EQ(smf_errclass_parse("Nope"), -1);
}

// mkdir -p: every level made, bottom-up from the deepest one in place; an
// existing path, a trailing slash and a relative path; a file in the way.
TEST(mkdir_p)
{
  char tmpl[] = "/tmp/smf-test-mkdir-XXXXXX";
  char *root = mkdtemp(tmpl);
  ASSERT(root != NULL);
  struct stat st;
  char *deep = smf_xasprintf("%s/a/b/c/d", root);
  ASSERT_EQ(smf_mkdir_p(deep, NULL), 0);
  ASSERT(stat(deep, &st) == 0 && S_ISDIR(st.st_mode));
  ASSERT_EQ(smf_mkdir_p(deep, NULL), 0);  // exists
  char *sib = smf_xasprintf("%s/a/b/x/y/", root);
  ASSERT_EQ(smf_mkdir_p(sib, NULL), 0);  // from a level in place, trailing slash
  ASSERT(stat(sib, &st) == 0 && S_ISDIR(st.st_mode));
  char cwd[4096];
  ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
  ASSERT(chdir(root) == 0);
  ASSERT_EQ(smf_mkdir_p("r1/r2/r3", NULL), 0);  // relative, nothing in place
  ASSERT(stat("r1/r2/r3", &st) == 0 && S_ISDIR(st.st_mode));
  ASSERT(chdir(cwd) == 0);
  char *file = smf_xasprintf("%s/f", root);
  FILE *f = fopen(file, "w");
  ASSERT(f != NULL);
  fclose(f);
  char *under = smf_xasprintf("%s/f/g/h", root);
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_mkdir_p(under, &err), SMF_EIO);
  ASSERT_CONTAINS(err.message, "cannot create directory");
  char *cmd = smf_xasprintf("rm -rf '%s'", root);
  ASSERT(system(cmd) == 0);
  free(cmd);
  free(under);
  free(file);
  free(sib);
  free(deep);
}

int main(void)
{
  RUN_TEST(buf_grows_and_caps);
  RUN_TEST(arena_many_and_large);
  RUN_TEST(durations);
  RUN_TEST(suggest);
  RUN_TEST(errors);
  RUN_TEST(mkdir_p);
  return TEST_REPORT();
}

// test_util.c: buffers, arenas, durations, suggestions, error records.
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

int main(void)
{
  RUN_TEST(buf_grows_and_caps);
  RUN_TEST(arena_many_and_large);
  RUN_TEST(durations);
  RUN_TEST(suggest);
  RUN_TEST(errors);
  return TEST_REPORT();
}

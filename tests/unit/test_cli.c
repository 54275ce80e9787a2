// test_cli.c: the command line's helpers and dispatch, called in-process.
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smflow/dsl.h"
#include "smflow/error.h"
#include "test.h"

TEST(state_dir)
{
  struct cli_ctx ctx = {0};
  char *d = cli_state_dir(&ctx, "pipelines/nightly/pipeline.yaml");
  ASSERT_STREQ(d, "pipelines/nightly/.smflow");
  free(d);
  d = cli_state_dir(&ctx, "pipeline.yaml");
  ASSERT_STREQ(d, "./.smflow");
  free(d);
  d = cli_state_dir(&ctx, "/p.yaml");
  ASSERT_STREQ(d, "/.smflow");
  free(d);
  d = cli_state_dir(&ctx, NULL);
  ASSERT_STREQ(d, "./.smflow");
  free(d);
  ctx.state_dir = "/var/lib/smflow";
  d = cli_state_dir(&ctx, "a/b.yaml");
  ASSERT_STREQ(d, "/var/lib/smflow");
  free(d);
}

TEST(params)
{
  struct cli_params p = {0};
  ASSERT_EQ(cli_params_add(&p, "epochs=10"), 0);
  ASSERT_EQ(cli_params_add(&p, "expr=a=b"), 0);
  ASSERT_EQ(cli_params_add(&p, "empty="), 0);
  ASSERT_EQ(cli_params_add(&p, "noequals"), SMF_EINVAL);
  ASSERT_EQ(cli_params_add(&p, "=value"), SMF_EINVAL);
  ASSERT_EQ(p.n, 3);
  ASSERT_STREQ(p.items[0].name, "epochs");
  ASSERT_STREQ(p.items[0].value, "10");
  ASSERT_STREQ(p.items[1].name, "expr");
  ASSERT_STREQ(p.items[1].value, "a=b");
  ASSERT_STREQ(p.items[2].value, "");
  cli_params_free(&p);
  ASSERT_EQ(p.n, 0);
}

TEST(table)
{
  size_t n;
  const struct cli_command *t = cli_commands(&n);
  ASSERT(n >= 2);
  for (size_t i = 0; i < n; i++) {
    ASSERT(t[i].fn != NULL);
    ASSERT(t[i].summary[0] != '\0');
    ASSERT(strncmp(t[i].usage, "smflow ", 7) == 0);
    ASSERT(cli_command_find(t[i].name) == &t[i]);
    // value_opts is " --a --b " or empty, so that " --a " can be searched for.
    size_t len = strlen(t[i].value_opts);
    ASSERT(len == 0 || (t[i].value_opts[0] == ' ' && t[i].value_opts[len - 1] == ' '));
  }
  ASSERT(cli_command_find("version") != NULL);
  ASSERT(cli_command_find("nope") == NULL);
}

TEST(main_exit_codes)
{
  char a0[] = "smflow", a1[] = "version", a2[] = "--bogus", a3[] = "-vq";
  char *v1[] = {a0, a1, NULL};
  ASSERT_EQ(cli_main(2, v1), CLI_EXIT_OK);
  char *v2[] = {a0, a2, a1, NULL};
  ASSERT_EQ(cli_main(3, v2), CLI_EXIT_USAGE);
  char *v3[] = {a0, a1, a3, NULL};
  ASSERT_EQ(cli_main(3, v3), CLI_EXIT_OK);
  char *v4[] = {a0, NULL};
  ASSERT_EQ(cli_main(1, v4), CLI_EXIT_USAGE);
}

int main(void)
{
  RUN_TEST(state_dir);
  RUN_TEST(params);
  RUN_TEST(table);
  RUN_TEST(main_exit_codes);
  return TEST_REPORT();
}

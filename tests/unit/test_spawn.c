// test_spawn.c: the simple-command test that lets a string command skip the
// shell, and the program search done before a spawn (src/util/spawn.c).
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/spawn.h"
#include "smflow/util.h"
#include "test.h"

// The words joined by '|', or "(shell)" when the line needs the shell.
static char *split_joined(const char *line)
{
  char **v = smf_cmd_split_simple(line);
  if (v == NULL) {
    return smf_xstrdup("(shell)");
  }
  struct smf_buf b = SMF_BUF_INIT;
  for (char **p = v; *p; p++) {
    smf_buf_printf(&b, "%s%s", p == v ? "" : "|", *p);
  }
  smf_spawn_paths_free(v);
  char *s = smf_xstrdup(smf_buf_cstr(&b));
  smf_buf_free(&b);
  return s;
}

static void expect_split(const char *line, const char *want)
{
  char *got = split_joined(line);
  if (strcmp(got, want) != 0) {
    fprintf(stderr, "split of [%s]: got [%s], want [%s]\n", line, got, want);
  }
  ASSERT_STREQ(got, want);
  free(got);
}

TEST(simple_commands_split_on_blanks)
{
  expect_split("python3 make_data.py --out data", "python3|make_data.py|--out|data");
  expect_split("  python3\tx.py  --lr=0.1 ", "python3|x.py|--lr=0.1");
  expect_split("./bin/tool a,b c:d e+f @g %h", "./bin/tool|a,b|c:d|e+f|@g|%h");
  expect_split("make", "make");
  expect_split("env-tool=x", "(shell)");  // an assignment
  expect_split("python3 -c x=1", "python3|-c|x=1");  // '=' after the first word is a word
}

TEST(shell_syntax_keeps_the_shell)
{
  const char *lines[] = {"",
                         "   ",
                         "echo hi",
                         "cd sub",
                         "exit 3",
                         "export A=1",
                         "if true",
                         "true",
                         "test -f x",
                         "[ -f x ]",
                         ". ./env.sh",
                         ": nothing",
                         "A=1 python3 x.py",
                         "python3 x.py > out",
                         "python3 x.py 2>&1",
                         "python3 x.py | tee log",
                         "python3 x.py; python3 y.py",
                         "python3 x.py && echo ok",
                         "python3 x.py &",
                         "python3 'a b'",
                         "python3 \"a b\"",
                         "python3 a\\ b",
                         "python3 $HOME/x.py",
                         "python3 `which x`",
                         "python3 *.py",
                         "python3 x?.py",
                         "python3 [ab].py",
                         "python3 ~/x.py",
                         "python3 x.py # comment",
                         "python3 x.py\npython3 y.py",
                         "python3 x.py\r",
                         "(python3 x.py)",
                         "{ python3 x.py; }",
                         "! python3 x.py",
                         "python3 x.py ^ y"};
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
    expect_split(lines[i], "(shell)");
  }
}

// A scratch directory with bin1/tool (not executable), bin2/tool (executable),
// bin2/dir (a directory) and sub/run.sh (executable).
static char *make_tree(void)
{
  char *dir = smf_xstrdup("/tmp/smf-test-spawn-XXXXXX");
  ASSERT(mkdtemp(dir) != NULL);
  const char *files[] = {"bin1/tool", "bin2/tool", "sub/run.sh"};
  const mode_t modes[] = {0644, 0755, 0755};
  for (size_t i = 0; i < 3; i++) {
    char *p = smf_xasprintf("%s/%s", dir, files[i]);
    char *parent = smf_xstrndup(p, (size_t)(strrchr(p, '/') - p));
    ASSERT_EQ(smf_mkdir_p(parent, NULL), 0);
    ASSERT_EQ(smf_file_write_atomic(p, "#!/bin/sh\n", 10, NULL), 0);
    ASSERT_EQ(chmod(p, modes[i]), 0);
    free(parent);
    free(p);
  }
  char *d = smf_xasprintf("%s/bin2/dir", dir);
  ASSERT_EQ(mkdir(d, 0755), 0);
  free(d);
  return dir;
}

TEST(which_finds_what_execvp_would_run)
{
  char *dir = make_tree();
  char *path = smf_xasprintf("PATH=%s/bin1:%s/bin2", dir, dir);
  char *const env[] = {(char *)"A=1", path, NULL};
  char *want = smf_xasprintf("%s/bin2/tool", dir);
  char *got = smf_spawn_which("tool", env, "/");
  ASSERT_STREQ(got, want);  // bin1/tool is not executable: skipped
  free(got);
  ASSERT(smf_spawn_which("dir", env, "/") == NULL);  // a directory is no program
  ASSERT(smf_spawn_which("nosuch-tool-x", env, "/") == NULL);
  ASSERT(smf_spawn_which("", env, "/") == NULL);
  // A name with '/' is itself, looked at from cwd and returned as written.
  got = smf_spawn_which("sub/run.sh", env, dir);
  ASSERT_STREQ(got, "sub/run.sh");
  free(got);
  ASSERT(smf_spawn_which("sub/run.sh", env, "/") == NULL);
  // An empty PATH entry is the current directory, i.e. cwd.
  char *path2 = smf_xasprintf("PATH=/nonexistent::%s/bin1", dir);
  char *const env2[] = {path2, NULL};
  char *sub = smf_xasprintf("%s/sub", dir);
  got = smf_spawn_which("run.sh", env2, sub);
  ASSERT_STREQ(got, "run.sh");
  free(got);
  // No PATH at all: the system's default path.
  char *const env3[] = {(char *)"A=1", NULL};
  got = smf_spawn_which("sh", env3, "/");
  ASSERT(got != NULL && strcmp(strrchr(got, '/'), "/sh") == 0);
  free(got);
  char *rm = smf_xasprintf("rm -rf '%s'", dir);
  ASSERT_EQ(system(rm), 0);
  free(rm);
  free(sub);
  free(path2);
  free(want);
  free(path);
  free(dir);
}

TEST(paths_in_search_order)
{
  char *const env[] = {(char *)"PATH=/a::/b/", NULL};
  char **v = smf_spawn_paths("x", env);
  ASSERT_STREQ(v[0], "/a/x");
  ASSERT_STREQ(v[1], "x");
  ASSERT_STREQ(v[2], "/b//x");
  ASSERT(v[3] == NULL);
  smf_spawn_paths_free(v);
  v = smf_spawn_paths("./y", env);
  ASSERT_STREQ(v[0], "./y");
  ASSERT(v[1] == NULL);
  smf_spawn_paths_free(v);
}

int main(void)
{
  RUN_TEST(simple_commands_split_on_blanks);
  RUN_TEST(shell_syntax_keeps_the_shell);
  RUN_TEST(which_finds_what_execvp_would_run);
  RUN_TEST(paths_in_search_order);
  return TEST_REPORT();
}

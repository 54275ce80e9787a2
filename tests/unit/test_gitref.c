// test_gitref.c: eng_git_head (src/engine/gitref.c) against real repositories
// made with git: the same commit and branch as `git rev-parse`, for a loose
// ref, a packed ref, a detached HEAD, a linked worktree and a subdirectory;
// 0 outside a repository; -1 (ask git) on an unborn branch.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng_int.h"
#include "fsutil.h"
#include "test.h"

static char *base;

// First line of the output of `cd DIR && CMD`.
static char *sh(const char *dir, const char *cmd)
{
  char *full = smf_xasprintf("cd '%s' && %s 2>/dev/null", dir, cmd);
  FILE *p = popen(full, "r");
  free(full);
  ASSERT(p != NULL);
  char line[256] = "";
  if (fgets(line, sizeof(line), p) == NULL) {
    line[0] = '\0';
  }
  pclose(p);
  line[strcspn(line, "\n")] = '\0';
  return smf_xstrdup(line);
}

static void expect_head(const char *dir)
{
  char *sha = NULL, *branch = NULL;
  ASSERT_EQ(eng_git_head(dir, &sha, &branch), 1);
  char *want_sha = sh(dir, "git rev-parse HEAD");
  char *want_branch = sh(dir, "git rev-parse --abbrev-ref HEAD");
  ASSERT_STREQ(sha, want_sha);
  ASSERT_STREQ(branch, want_branch);
  free(sha);
  free(branch);
  free(want_sha);
  free(want_branch);
}

TEST(outside_a_repository)
{
  char *sha = NULL, *branch = NULL;
  char *dir = smf_xasprintf("%s/plain", base);
  ASSERT_EQ(smf_mkdir_p(dir, NULL), 0);
  ASSERT_EQ(eng_git_head(dir, &sha, &branch), 0);
  ASSERT(sha == NULL && branch == NULL);
  free(dir);
}

TEST(unborn_branch_asks_git)
{
  char *dir = smf_xasprintf("%s/unborn", base);
  ASSERT_EQ(smf_mkdir_p(dir, NULL), 0);
  free(sh(dir, "git init -q -b trunk ."));
  char *sha = NULL, *branch = NULL;
  ASSERT_EQ(eng_git_head(dir, &sha, &branch), -1);
  ASSERT(sha == NULL && branch == NULL);
  free(dir);
}

TEST(loose_packed_detached_worktree_subdir)
{
  char *dir = smf_xasprintf("%s/repo", base);
  ASSERT_EQ(smf_mkdir_p(dir, NULL), 0);
  free(sh(dir,
          "git init -q -b main . && git config user.email t@example.com && "
          "git config user.name t && echo a > f && git add f && git commit -qm one && "
          "mkdir -p sub/deeper"));
  expect_head(dir);  // loose ref
  char *sub = smf_xasprintf("%s/sub/deeper", dir);
  expect_head(sub);
  free(sh(dir,
          "git checkout -q -b feature/x && echo b > f && git commit -qam two && "
          "git pack-refs --all"));
  expect_head(dir);  // packed ref, a branch name with a slash
  free(sh(dir, "git checkout -q --detach HEAD~1"));
  expect_head(dir);  // detached
  free(sh(dir, "git checkout -q feature/x && git worktree add -q ../wt main"));
  char *wt = smf_xasprintf("%s/wt", base);
  expect_head(wt);  // a linked worktree: .git is a file, refs in the common dir
  free(wt);
  free(sub);
  free(dir);
}

int main(void)
{
  base = tu_mkdtemp("gitref");
  RUN_TEST(outside_a_repository);
  RUN_TEST(unborn_branch_asks_git);
  RUN_TEST(loose_packed_detached_worktree_subdir);
  tu_rm_rf(base);
  free(base);
  return TEST_REPORT();
}

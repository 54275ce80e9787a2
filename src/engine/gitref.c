// gitref.c: the commit and branch of the repository holding a pipeline, read
// from the repository's files (.git, HEAD, loose refs, packed-refs) instead of
// spawning `git rev-parse` twice before the run starts.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/eng_int.h"

// The first line of PATH (without its newline), or NULL.
static char *gitref__line(const char *path)
{
  char *text = NULL;
  size_t len = 0;
  struct smf_error err = {0};
  if (smf_file_read(path, &text, &len, &err) != 0) {
    return NULL;
  }
  text[strcspn(text, "\r\n")] = '\0';
  return text;
}

// DIR/NAME, or NAME itself when it is absolute.
static char *gitref__join(const char *dir, const char *name)
{
  return name[0] == '/' ? smf_xstrdup(name) : smf_xasprintf("%s/%s", dir, name);
}

// The git directory of the repository containing DIR (following a `gitdir:`
// file, as in worktrees and submodules), or NULL when there is none.
static char *gitref__gitdir(const char *dir)
{
  char *cur = realpath(dir, NULL);
  while (cur != NULL) {
    char *dotgit = smf_xasprintf("%s/.git", cur);
    struct stat st;
    if (stat(dotgit, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        free(cur);
        return dotgit;
      }
      char *line = gitref__line(dotgit);
      char *gd = NULL;
      if (line && smf_str_startswith(line, "gitdir: ")) {
        gd = gitref__join(cur, line + 8);
      }
      free(line);
      free(dotgit);
      free(cur);
      return gd;
    }
    free(dotgit);
    char *slash = strrchr(cur, '/');
    if (slash == NULL || slash == cur) {
      break;  // reached the root
    }
    *slash = '\0';
  }
  free(cur);
  return NULL;
}

static bool gitref__is_sha(const char *s)
{
  size_t n = strspn(s, "0123456789abcdef");
  return (n == 40 || n == 64) && s[n] == '\0';
}

// The object name REF points at: a loose ref in GITDIR or COMMON, else a line
// of COMMON/packed-refs. NULL when it cannot be read.
static char *gitref__resolve(const char *gitdir, const char *common, const char *ref)
{
  const char *dirs[2] = {gitdir, common};
  for (int i = 0; i < 2; i++) {
    char *path = smf_xasprintf("%s/%s", dirs[i], ref);
    char *line = gitref__line(path);
    free(path);
    if (line && gitref__is_sha(line)) {
      return line;
    }
    free(line);
  }
  char *path = smf_xasprintf("%s/packed-refs", common);
  char *text = NULL, *sha = NULL;
  size_t len = 0, rlen = strlen(ref);
  struct smf_error err = {0};
  if (smf_file_read(path, &text, &len, &err) == 0) {
    for (char *l = text; l && *l && !sha; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
      size_t n = strcspn(l, " \n");
      const char *name = l + n + 1;
      if (l[n] == ' ' && strncmp(name, ref, rlen) == 0 &&
          (name[rlen] == '\n' || name[rlen] == '\0')) {
        char *cand = smf_xstrndup(l, n);
        if (gitref__is_sha(cand)) {
          sha = cand;
        } else {
          free(cand);
        }
      }
    }
  }
  free(text);
  free(path);
  return sha;
}

int eng_git_head(const char *dir, char **sha, char **branch)
{
  *sha = NULL;
  *branch = NULL;
  if (getenv("GIT_DIR") || getenv("GIT_WORK_TREE") || getenv("GIT_CEILING_DIRECTORIES")) {
    return -1;  // git's own discovery differs: let git answer
  }
  char *gitdir = gitref__gitdir(dir);
  if (gitdir == NULL) {
    return 0;  // not in a repository
  }
  char *common = NULL, *head = NULL;
  char *cpath = smf_xasprintf("%s/commondir", gitdir);
  char *cline = gitref__line(cpath);
  common = cline ? gitref__join(gitdir, cline) : smf_xstrdup(gitdir);
  free(cline);
  free(cpath);
  char *hpath = smf_xasprintf("%s/HEAD", gitdir);
  head = gitref__line(hpath);
  free(hpath);
  int rc = -1;
  if (head && smf_str_startswith(head, "ref: refs/heads/")) {
    *sha = gitref__resolve(gitdir, common, head + 5);
    if (*sha) {
      *branch = smf_xstrdup(head + 16);
      rc = 1;
    }
  } else if (head && gitref__is_sha(head)) {
    *sha = smf_xstrdup(head);
    *branch = smf_xstrdup("HEAD");  // detached, as `rev-parse --abbrev-ref` says
    rc = 1;
  }
  free(head);
  free(common);
  free(gitdir);
  return rc;
}

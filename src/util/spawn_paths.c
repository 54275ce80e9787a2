// spawn_paths.c: where a command's program may be, in the order a shell
// tries them (smf_spawn_paths, see spawn.h). Its own file, with nothing but the
// C library and memory.c under it, so that smflow-jobhost (jobhost_main.c),
// which links nothing else, searches exactly as smflow does.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smflow/spawn.h"
#include "smflow/util.h"

char **smf_spawn_paths(const char *argv0, char *const *env)
{
  if (strchr(argv0, '/')) {
    char **v = smf_xcalloc(2, sizeof(char *));
    v[0] = smf_xstrdup(argv0);
    return v;
  }
  const char *path = NULL;
  for (char *const *e = env; e && *e; e++) {
    if (strncmp(*e, "PATH=", 5) == 0) {
      path = *e + 5;
    }
  }
  char dflt[256] = "/bin:/usr/bin";
  if (path == NULL && confstr(_CS_PATH, dflt, sizeof(dflt)) > 0) {
    path = dflt;
  }
  path = path ? path : dflt;
  size_t n = 1;
  for (const char *p = path; *p; p++) {
    n += *p == ':';
  }
  char **v = smf_xcalloc(n + 1, sizeof(char *));
  const char *p = path;
  for (size_t k = 0; k < n; k++) {
    size_t len = strcspn(p, ":");
    v[k] = len ? smf_xasprintf("%.*s/%s", (int)len, p, argv0) : smf_xstrdup(argv0);
    p += len + (p[len] == ':');
  }
  return v;
}

void smf_spawn_paths_free(char **paths)
{
  if (paths == NULL) {
    return;
  }
  for (char **p = paths; *p; p++) {
    free(*p);
  }
  free(paths);
}

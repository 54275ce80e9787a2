// test_cache_key.c: the step cache key (src/engine/cache_key.c) on real files —
// stable for the same spec and inputs, different when the spec, an input file, a
// file inside an input directory, an object of the local store, or the hooks file
// changes; unknown for s3:// on the aws target; the state dir and "." never hashed.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng_int.h"
#include "fsutil.h"
#include "test.h"

static char *root, *state;

static void write_file(const char *rel, const char *text)
{
  char *path = smf_xasprintf("%s/%s", root, rel);
  char *dir = smf_xstrdup(path);
  *strrchr(dir, '/') = '\0';
  ASSERT_EQ(smf_mkdir_p(dir, NULL), 0);
  FILE *f = fopen(path, "w");
  ASSERT(f != NULL);
  fputs(text, f);
  fclose(f);
  free(dir);
  free(path);
}

// Key of a spec on a target; "" when unknown.
static void key_of(const char *kind, const char *spec, const char *target, const char *hooks,
                   char key[65])
{
  struct eng_cache_input in = {.kind = kind,
                               .spec_json = spec,
                               .pipeline_dir = root,
                               .state_dir = state,
                               .target = target,
                               .hooks_path = hooks};
  char *unknown = NULL;
  int rc = eng_cache_key(&in, key, &unknown);
  if (rc != 0) {
    ASSERT_EQ(rc, SMF_EUNSUPPORTED);
    ASSERT(unknown != NULL);
    key[0] = '\0';
  }
  free(unknown);
}

static bool same(const char *kind, const char *spec, const char *target, const char *hooks,
                 const char *before)
{
  char k[65];
  key_of(kind, spec, target, hooks, k);
  return strcmp(k, before) == 0;
}

TEST(spec_and_files)
{
  char k1[65], k2[65];
  write_file("prep.py", "print(1)\n");
  const char *spec = "{\"command\":\"python3 prep.py --n 1\"}";
  key_of("run", spec, "local", NULL, k1);
  ASSERT_EQ(strlen(k1), 64);
  key_of("run", spec, "local", NULL, k2);
  ASSERT_STREQ(k1, k2);  // stable
  ASSERT(!same("run", "{\"command\":\"python3 prep.py --n 2\"}", "local", NULL, k1));
  ASSERT(!same("lua", spec, "local", NULL, k1));  // the kind is part of it
  write_file("prep.py", "print(2)\n");            // a word of the command names a file
  ASSERT(!same("run", spec, "local", NULL, k1));
  write_file("prep.py", "print(1)\n");
  ASSERT(same("run", spec, "local", NULL, k1));  // content, not mtime
}

TEST(directories_store_and_hooks)
{
  char k[65];
  write_file("src/a.py", "a\n");
  write_file("src/sub/b.py", "b\n");
  const char *spec = "{\"source_dir\":\"src\",\"to\":\"s3://bkt/code/\"}";
  key_of("upload", spec, "local", NULL, k);
  write_file("src/sub/b.py", "B\n");
  ASSERT(!same("upload", spec, "local", NULL, k));
  key_of("upload", spec, "local", NULL, k);
  write_file("src/__pycache__/x.pyc", "junk");  // left out
  ASSERT(same("upload", spec, "local", NULL, k));
  // s3:// on the local target: the store under the state dir, by prefix.
  const char *in = "{\"inputs\":{\"train\":\"s3://bkt/data/tr\"}}";
  key_of("fit", in, "local", NULL, k);
  write_file(".state/store/bkt/data/train.csv", "1,2\n");
  ASSERT(!same("fit", in, "local", NULL, k));
  key_of("fit", in, "local", NULL, k);
  write_file(".state/store/bkt/data/other.csv", "x\n");  // outside the prefix
  ASSERT(same("fit", in, "local", NULL, k));
  // ... and unknown on aws.
  ASSERT(same("fit", in, "aws", NULL, ""));
  // The hooks file.
  write_file("hooks.lua", "function f() end\n");
  char *hooks = smf_xasprintf("%s/hooks.lua", root);
  key_of("run", "{\"command\":\"true\"}", "local", hooks, k);
  write_file("hooks.lua", "function f() return 1 end\n");
  ASSERT(!same("run", "{\"command\":\"true\"}", "local", hooks, k));
  free(hooks);
}

TEST(project_and_state_dir_not_hashed)
{
  char k[65];
  // "." (the pipeline's own directory) and the state dir are not inputs: a new
  // file in the project does not change the key of `workdir: .`.
  const char *spec = "{\"command\":\"ls .\",\"workdir\":\".\"}";
  key_of("run", spec, "local", NULL, k);
  write_file("new.txt", "n\n");
  write_file(".state/state.db", "x");
  ASSERT(same("run", spec, "local", NULL, k));
  char *st = smf_xasprintf("{\"command\":\"cat %s/state.db\"}", state);
  key_of("run", st, "local", NULL, k);
  write_file(".state/state.db", "y");
  ASSERT(same("run", st, "local", NULL, k));
  free(st);
}

int main(void)
{
  root = tu_mkdtemp("cachekey");
  state = smf_xasprintf("%s/.state", root);
  ASSERT_EQ(smf_mkdir_p(state, NULL), 0);
  RUN_TEST(spec_and_files);
  RUN_TEST(directories_store_and_hooks);
  RUN_TEST(project_and_state_dir_not_hashed);
  tu_rm_rf(root);
  free(root);
  free(state);
  return TEST_REPORT();
}

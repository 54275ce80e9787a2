// test_store.c: the local object store on a real state directory: URI mapping,
// key validation, atomic puts (checked by a concurrent reader process), S3
// prefix listing, channel materialisation and copies.
#include <signal.h>
#include <uv.h>

#include "fsutil.h"
#include "smflow/error.h"
#include "smflow/state.h"
#include "target/local/store.h"

struct fixture {
  char *base;  // holds state/ and pipeline/
  char *state;
  char *pipe;
  struct local_store st;
};

static void fx_init(struct fixture *f)
{
  f->base = tu_mkdtemp("store");
  f->state = smf_xasprintf("%s/state", f->base);
  f->pipe = smf_xasprintf("%s/pipeline", f->base);
  ASSERT_EQ(mkdir(f->pipe, 0755), 0);
  ASSERT_EQ(local_store_init(&f->st, f->state, f->pipe, NULL), 0);
}

static void fx_free(struct fixture *f)
{
  local_store_close(&f->st);
  tu_rm_rf(f->base);
  free(f->base);
  free(f->state);
  free(f->pipe);
}

static void put(struct fixture *f, const char *uri, const char *data)
{
  struct smf_error err = SMF_ERROR_INIT;
  int rc = local_store_put_bytes(&f->st, uri, data, strlen(data), &err);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err.message);
  }
  ASSERT_EQ(rc, 0);
}

static char *slurp(const char *path)
{
  char *data = NULL;
  ASSERT_EQ(smf_file_read(path, &data, NULL, NULL), 0);
  return data;
}

TEST(mapping)
{
  struct fixture f;
  fx_init(&f);
  struct smf_error err = SMF_ERROR_INIT;
  char *path = NULL, *want;
  ASSERT_EQ(local_store_resolve(&f.st, "s3://my-bucket/a/b.csv", &path, &err), 0);
  want = smf_xasprintf("%s/store/my-bucket/a/b.csv", f.state);
  ASSERT_STREQ(path, want);
  free(want);
  free(path);
  ASSERT_EQ(local_store_resolve(&f.st, "file:///data/x.csv", &path, &err), 0);
  ASSERT_STREQ(path, "/data/x.csv");
  free(path);
  ASSERT_EQ(local_store_resolve(&f.st, "/abs/y", &path, &err), 0);
  ASSERT_STREQ(path, "/abs/y");
  free(path);
  ASSERT_EQ(local_store_resolve(&f.st, "data/train.csv", &path, &err), 0);
  want = smf_xasprintf("%s/data/train.csv", f.pipe);
  ASSERT_STREQ(path, want);
  free(want);
  free(path);
  ASSERT_EQ(local_store_resolve(&f.st, "gs://b/k", &path, &err), SMF_EUNSUPPORTED);
  ASSERT_CONTAINS(err.message, "gs://b/k");
  struct local_uri u;
  ASSERT_EQ(local_uri_parse(&f.st, "s3://bkt.example-1", true, &u, &err), 0);
  ASSERT_EQ(u.kind, LOCAL_URI_S3);
  ASSERT_STREQ(u.bucket, "bkt.example-1");
  ASSERT_STREQ(u.key, "");
  local_uri_free(&u);
  fx_free(&f);
}

TEST(escaping_and_invalid_keys_refused)
{
  struct fixture f;
  fx_init(&f);
  const char *bad[] = {
      "s3://bkt/../escape",
      "s3://bkt/a/../../escape",
      "s3://bkt/a/./b",
      "s3://bkt/a//b",
      "s3://bkt//a",
      "s3://bkt/dir/",
      "s3://bkt",
      "s3://bkt/",
      "s3://../x",
      "s3://ab/x",
      "s3://Bad_Bucket/x",
      "s3://-bkt/x",
      "s3://bkt../x",
      "s3://bkt/.smflow-tmp-1",
      "s3:///x",
      "",
  };
  for (size_t i = 0; i < SMF_ARRAY_LEN(bad); i++) {
    struct smf_error err = SMF_ERROR_INIT;
    int rc = local_store_put_bytes(&f.st, bad[i], "x", 1, &err);
    if (rc != SMF_EINVAL) {
      fprintf(stderr, "accepted: %s (%d)\n", bad[i], rc);
    }
    ASSERT_EQ(rc, SMF_EINVAL);
    if (bad[i][0] != '\0') {
      ASSERT_CONTAINS(err.message, bad[i]);
    }
  }
  // Prefixes may be empty or end in '/', but still never climb out.
  struct local_store_listing l;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_list(&f.st, "s3://bkt/../", &l, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "'..'");
  // Nothing was created anywhere: the store is still empty, the base holds only ours.
  char *store = smf_xasprintf("%s/store", f.state);
  ASSERT_EQ(tu_count_entries(store), 0);
  ASSERT_EQ(tu_count_entries(f.state), 1);
  ASSERT_EQ(tu_count_entries(f.base), 2);
  free(store);
  fx_free(&f);
}

TEST(put_stat_and_overwrite)
{
  struct fixture f;
  fx_init(&f);
  struct smf_error err = SMF_ERROR_INIT;
  put(&f, "s3://bkt/models/m1/model.tar.gz", "first");
  struct local_store_stat s;
  ASSERT_EQ(local_store_stat(&f.st, "s3://bkt/models/m1/model.tar.gz", &s, &err), 0);
  ASSERT_EQ(s.size, 5);
  ASSERT(s.mtime_ms > 1600000000000LL);
  ASSERT(local_store_exists(&f.st, "s3://bkt/models/m1/model.tar.gz"));
  ASSERT(!local_store_exists(&f.st, "s3://bkt/models/m1/other"));
  // A "folder" is not an object.
  ASSERT_EQ(local_store_stat(&f.st, "s3://bkt/models/m1", &s, &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "s3://bkt/models/m1");

  char *src = smf_xasprintf("%s/local.txt", f.pipe);
  tu_write_str(f.pipe, "local.txt", "from a file\n");
  ASSERT_EQ(local_store_put_file(&f.st, src, "s3://bkt/models/m1/model.tar.gz", &err), 0);
  char *path = NULL;
  ASSERT_EQ(local_store_resolve(&f.st, "s3://bkt/models/m1/model.tar.gz", &path, &err), 0);
  char *data = slurp(path);
  ASSERT_STREQ(data, "from a file\n");
  free(data);
  struct stat sb;
  ASSERT_EQ(stat(path, &sb), 0);
  ASSERT_EQ(sb.st_mode & 0777, 0644);
  // A failed put (missing source) leaves the object as it was.
  ASSERT_EQ(
      local_store_put_file(&f.st, "/nonexistent/src", "s3://bkt/models/m1/model.tar.gz", &err),
      SMF_ENOENT);
  data = slurp(path);
  ASSERT_STREQ(data, "from a file\n");
  free(data);
  // An object cannot also be a prefix of other keys, and the other way round.
  ASSERT_EQ(local_store_put_bytes(&f.st, "s3://bkt/models/m1/model.tar.gz/x", "y", 1, &err),
            SMF_EIO);
  ASSERT_CONTAINS(err.message, "both an object and a prefix");
  ASSERT_EQ(local_store_put_bytes(&f.st, "s3://bkt/models/m1", "y", 1, &err), SMF_EIO);
  // No temporary file is left behind by any of this.
  char *dir = smf_xasprintf("%s/store/bkt/models/m1", f.state);
  ASSERT_EQ(tu_count_entries(dir), 1);
  dir[strlen(dir) - 3] = '\0';
  ASSERT_EQ(tu_count_entries(dir), 1);
  free(dir);
  // Relative paths are written under the pipeline directory.
  put(&f, "out/report.json", "{}");
  char *rel = smf_xasprintf("%s/out/report.json", f.pipe);
  ASSERT(tu_exists(rel));
  free(rel);
  free(path);
  free(src);
  fx_free(&f);
}

// A reader process checks that every read sees one whole version, while this
// process replaces the object again and again.
// put_move renames the file into place (same inode, the source is gone); onto
// another filesystem (/dev/shm, a file:// object) it copies, then removes the source.
TEST(put_move)
{
  struct fixture f;
  fx_init(&f);
  struct smf_error err = SMF_ERROR_INIT;
  tu_write_str(f.pipe, "packed.tar.gz", "packed bytes");
  char *src = smf_xasprintf("%s/packed.tar.gz", f.pipe);
  ASSERT_EQ(chmod(src, 0600), 0);
  struct stat before, after;
  ASSERT_EQ(stat(src, &before), 0);
  ASSERT_EQ(local_store_put_move(&f.st, src, "s3://bkt/out/model.tar.gz", &err), 0);
  ASSERT(access(src, F_OK) != 0);
  char *path = NULL;
  ASSERT_EQ(local_store_resolve(&f.st, "s3://bkt/out/model.tar.gz", &path, &err), 0);
  ASSERT_EQ(stat(path, &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);  // renamed, not copied
  ASSERT_EQ(after.st_mode & 0777, 0644);
  char *data = slurp(path);
  ASSERT_STREQ(data, "packed bytes");
  free(data);
  free(path);

  char shm_tmpl[] = "/dev/shm/smf-test-store-XXXXXX";
  char *shm = mkdtemp(shm_tmpl);
  if (shm != NULL) {
    tu_write_str(f.pipe, "packed.tar.gz", "elsewhere");
    char *uri = smf_xasprintf("file://%s/obj.tar.gz", shm);
    ASSERT_EQ(local_store_put_move(&f.st, src, uri, &err), 0);
    ASSERT(access(src, F_OK) != 0);
    char *dest = smf_xasprintf("%s/obj.tar.gz", shm);
    data = slurp(dest);
    ASSERT_STREQ(data, "elsewhere");
    free(data);
    unlink(dest);
    rmdir(shm);
    free(dest);
    free(uri);
  }
  // A missing source fails and stores nothing.
  ASSERT(local_store_put_move(&f.st, src, "s3://bkt/out/none", &err) != 0);
  ASSERT(!local_store_exists(&f.st, "s3://bkt/out/none"));
  // Several at once (two in one directory, one in another); the first failure
  // stops the rest, what was moved before it stays.
  tu_write_str(f.pipe, "m.tar.gz", "model");
  tu_write_str(f.pipe, "o.tar.gz", "output");
  tu_write_str(f.pipe, "x.tar.gz", "extra");
  char *m = smf_xasprintf("%s/m.tar.gz", f.pipe), *o = smf_xasprintf("%s/o.tar.gz", f.pipe);
  char *x = smf_xasprintf("%s/x.tar.gz", f.pipe);
  const char *srcs[3] = {m, o, x};
  const char *uris[3] = {"s3://bkt/job/output/model.tar.gz", "s3://bkt/job/output/output.tar.gz",
                         "s3://bkt/other/extra.tar.gz"};
  ASSERT_EQ(local_store_put_moves(&f.st, srcs, uris, 3, &err), 0);
  for (int i = 0; i < 3; i++) {
    ASSERT(access(srcs[i], F_OK) != 0);
    ASSERT(local_store_exists(&f.st, uris[i]));
  }
  tu_write_str(f.pipe, "m.tar.gz", "again");
  const char *bad[3] = {m, src, x};
  const char *uris2[3] = {"s3://bkt/two/a", "s3://bkt/two/b", "s3://bkt/two/c"};
  ASSERT(local_store_put_moves(&f.st, bad, uris2, 3, &err) != 0);
  ASSERT(local_store_exists(&f.st, "s3://bkt/two/a"));
  ASSERT(!local_store_exists(&f.st, "s3://bkt/two/b") &&
         !local_store_exists(&f.st, "s3://bkt/two/c"));
  free(m);
  free(o);
  free(x);
  free(src);
  fx_free(&f);
}

TEST(put_is_atomic_for_readers)
{
  struct fixture f;
  fx_init(&f);
  const size_t n = 1 << 20;
  char *a = smf_xmalloc(n + 1), *b = smf_xmalloc(n + 1);
  memset(a, 'A', n);
  memset(b, 'B', n);
  a[n] = b[n] = '\0';
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_put_bytes(&f.st, "s3://bkt/obj", a, n, &err), 0);
  char *path = NULL;
  ASSERT_EQ(local_store_resolve(&f.st, "s3://bkt/obj", &path, &err), 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    for (int i = 0; i < 400; i++) {
      char *d = NULL;
      size_t len = 0;
      if (smf_file_read(path, &d, &len, NULL) != 0 || len != n) {
        _exit(1);
      }
      for (size_t k = 1; k < len; k++) {
        if (d[k] != d[0]) {
          _exit(2);
        }
      }
      free(d);
    }
    _exit(0);
  }
  for (int i = 0; i < 60; i++) {
    ASSERT_EQ(local_store_put_bytes(&f.st, "s3://bkt/obj", (i & 1) ? a : b, n, &err), 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  free(path);
  free(a);
  free(b);
  fx_free(&f);
}

static char *keys_of(const struct local_store_listing *l)
{
  struct smf_buf b = SMF_BUF_INIT;
  for (size_t i = 0; i < l->n; i++) {
    smf_buf_printf(&b, "%s(%llu) ", l->v[i].key, (unsigned long long)l->v[i].size);
  }
  smf_buf_cstr(&b);
  return smf_buf_steal(&b);
}

static void expect_list(struct fixture *f, const char *uri, const char *want)
{
  struct local_store_listing l;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_list(&f->st, uri, &l, &err), 0);
  char *got = keys_of(&l);
  ASSERT_STREQ(got, want);
  free(got);
  local_store_listing_free(&l);
}

static void put_dataset(struct fixture *f)
{
  put(f, "s3://bkt/data/train/x.csv", "1,2\n");
  put(f, "s3://bkt/data/train/sub/y.csv", "3\n");
  put(f, "s3://bkt/data/trial.csv", "t\n");
  put(f, "s3://bkt/data/test.csv", "te\n");
  put(f, "s3://bkt/other.txt", "o");
}

TEST(prefix_listing)
{
  struct fixture f;
  fx_init(&f);
  put_dataset(&f);
  // A leftover temporary file from a crashed put is never listed.
  char *dir = smf_xasprintf("%s/store/bkt/data", f.state);
  tu_write_str(dir, ".smflow-tmp-abc123", "partial");
  free(dir);
  expect_list(&f, "s3://bkt/data/tr",
              "data/train/sub/y.csv(2) data/train/x.csv(4) data/trial.csv(2) ");
  expect_list(&f, "s3://bkt/data/train/", "data/train/sub/y.csv(2) data/train/x.csv(4) ");
  expect_list(&f, "s3://bkt/data/train", "data/train/sub/y.csv(2) data/train/x.csv(4) ");
  expect_list(&f, "s3://bkt/data/trial.csv", "data/trial.csv(2) ");
  expect_list(&f, "s3://bkt/",
              "data/test.csv(3) data/train/sub/y.csv(2) data/train/x.csv(4) data/trial.csv(2) "
              "other.txt(1) ");
  expect_list(&f, "s3://bkt/o", "other.txt(1) ");
  expect_list(&f, "s3://bkt/nothing", "");
  expect_list(&f, "s3://no-such-bucket/data", "");
  // A path URI lists its tree, keys relative to it.
  tu_write_str(f.pipe, "local/a.txt", "a");
  tu_write_str(f.pipe, "local/d/b.txt", "bb");
  expect_list(&f, "local", "a.txt(1) d/b.txt(2) ");
  expect_list(&f, "local/d/b.txt", "b.txt(2) ");
  // Symlinks in local trees are followed, but a loop is an error, not a hang.
  char *lnk = smf_xasprintf("%s/local/d/again", f.pipe);
  ASSERT_EQ(symlink("..", lnk), 0);
  struct local_store_listing l;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_list(&f.st, "local", &l, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "loops back");
  ASSERT_EQ(unlink(lnk), 0);
  ASSERT_EQ(symlink("b.txt", lnk), 0);
  expect_list(&f, "local", "a.txt(1) d/again(2) d/b.txt(2) ");
  free(lnk);
  fx_free(&f);
}

// The files under dir, sorted bytewise, as "./a ./b/c ".
static char *tree_of(const char *dir)
{
  char *cmd = smf_xasprintf("cd '%s' && find . -type f | LC_ALL=C sort | tr '\\n' ' '", dir);
  char *listing = tu_run_ok(cmd);
  free(cmd);
  return listing;
}

TEST(materialise_channels)
{
  struct fixture f;
  fx_init(&f);
  put_dataset(&f);
  struct smf_error err = SMF_ERROR_INIT;
  struct local_materialise_result res;
  char *dest = smf_xasprintf("%s/job/input/data/training", f.base);
  ASSERT_EQ(local_store_materialise(&f.st, "s3://bkt/data/train", dest, LOCAL_MATERIALISE_COPY,
                                    &res, &err),
            0);
  ASSERT_EQ(res.files, 2);
  ASSERT_EQ(res.bytes, 6);
  char *t = tree_of(dest);
  ASSERT_STREQ(t, "./sub/y.csv ./x.csv ");
  free(t);
  // Copies are private: changing one leaves the store alone.
  tu_write_str(dest, "x.csv", "changed");
  char *stored = NULL;
  ASSERT_EQ(local_store_resolve(&f.st, "s3://bkt/data/train/x.csv", &stored, &err), 0);
  char *data = slurp(stored);
  ASSERT_STREQ(data, "1,2\n");
  free(data);
  tu_rm_rf(dest);

  // A partial segment: the remainder after the prefix.
  ASSERT_EQ(
      local_store_materialise(&f.st, "s3://bkt/data/tr", dest, LOCAL_MATERIALISE_COPY, &res, &err),
      0);
  t = tree_of(dest);
  ASSERT_STREQ(t, "./ain/sub/y.csv ./ain/x.csv ./ial.csv ");
  free(t);
  tu_rm_rf(dest);

  // A single object lands under its base name; hard links share the inode.
  ASSERT_EQ(local_store_materialise(&f.st, "s3://bkt/data/train/x.csv", dest,
                                    LOCAL_MATERIALISE_HARDLINK, &res, &err),
            0);
  t = tree_of(dest);
  ASSERT_STREQ(t, "./x.csv ");
  free(t);
  struct stat s1, s2;
  char *x = smf_xasprintf("%s/x.csv", dest);
  ASSERT_EQ(stat(x, &s1), 0);
  ASSERT_EQ(stat(stored, &s2), 0);
  ASSERT_EQ(s1.st_ino, s2.st_ino);
  free(x);
  tu_rm_rf(dest);

  // Local directories and files.
  tu_write_str(f.pipe, "local/a.txt", "a");
  tu_write_str(f.pipe, "local/d/b.txt", "bb");
  ASSERT_EQ(local_store_materialise(&f.st, "local", dest, LOCAL_MATERIALISE_COPY, &res, &err), 0);
  t = tree_of(dest);
  ASSERT_STREQ(t, "./a.txt ./d/b.txt ");
  free(t);
  tu_rm_rf(dest);
  char *abs = smf_xasprintf("file://%s/local/d/b.txt", f.pipe);
  ASSERT_EQ(local_store_materialise(&f.st, abs, dest, LOCAL_MATERIALISE_COPY, &res, &err), 0);
  t = tree_of(dest);
  ASSERT_STREQ(t, "./b.txt ");
  free(t);
  free(abs);

  // Nothing there: SageMaker fails such a job, so do we.
  ASSERT_EQ(
      local_store_materialise(&f.st, "s3://bkt/missing/", dest, LOCAL_MATERIALISE_COPY, &res, &err),
      SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "s3://bkt/missing/");
  free(stored);
  free(dest);
  fx_free(&f);
}

TEST(copy_objects)
{
  struct fixture f;
  fx_init(&f);
  struct smf_error err = SMF_ERROR_INIT;
  put(&f, "s3://bkt/a/model.tar.gz", "MODEL");
  ASSERT_EQ(
      local_store_copy(&f.st, "s3://bkt/a/model.tar.gz", "s3://registry/v1/model.tar.gz", &err), 0);
  ASSERT(local_store_exists(&f.st, "s3://registry/v1/model.tar.gz"));
  ASSERT_EQ(local_store_copy(&f.st, "s3://registry/v1/model.tar.gz", "exported/model.tar.gz", &err),
            0);
  char *p = smf_xasprintf("%s/exported/model.tar.gz", f.pipe);
  char *data = slurp(p);
  ASSERT_STREQ(data, "MODEL");
  free(data);
  free(p);
  ASSERT_EQ(local_store_copy(&f.st, "s3://bkt/nope", "s3://bkt/b", &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "s3://bkt/nope");
  ASSERT(!local_store_exists(&f.st, "s3://bkt/b"));
  fx_free(&f);
}

struct async_log {
  int calls;
  int status[4];
  uint64_t files;
  char message[1024];
};

static void on_store_done(int status, const struct local_materialise_result *res,
                          const struct smf_error *err, void *data)
{
  struct async_log *log = data;
  log->status[log->calls++] = status;
  if (res != NULL) {
    log->files = res->files;
  }
  if (status != 0) {
    snprintf(log->message, sizeof(log->message), "%s", err->message);
  }
}

// With a state database that defers syncs (a local run), puts and moves note
// each object (its final path and size) instead of syncing it; the state's
// thread syncs them, and state_sync waits for that. Without deferral nothing
// is noted.
TEST(deferred_sync_notes_objects)
{
  struct fixture f;
  fx_init(&f);
  struct smf_error err = SMF_ERROR_INIT;
  struct state *s = NULL;
  ASSERT_EQ(state_open(f.state, STATE_OPEN_WRITE, &s, &err), 0);
  f.st.state = s;
  ASSERT(!local_store_defers_sync(&f.st));
  put(&f, "s3://bkt/synced.txt", "now");
  struct state_object *v = NULL;
  size_t n = 9;
  ASSERT_EQ(state_objects_take(s, &v, &n), 0);
  ASSERT_EQ(n, 0u);

  state_set_sync(s, STATE_SYNC_CLOSE);
  ASSERT(local_store_defers_sync(&f.st));
  put(&f, "s3://bkt/a/one.txt", "hello");
  char *src = smf_xasprintf("%s/moved.bin", f.base);
  ASSERT_EQ(smf_file_write_atomic(src, "12345678", 8, &err), 0);
  const char *srcs[] = {src};
  const char *uris[] = {"s3://bkt/b/two.bin"};
  ASSERT_EQ(local_store_put_moves(&f.st, srcs, uris, 1, &err), 0);
  ASSERT_EQ(state_objects_take(s, &v, &n), 0);
  ASSERT_EQ(n, 2u);
  char *p1 = smf_xasprintf("%s/store/bkt/a/one.txt", f.state);
  char *p2 = smf_xasprintf("%s/store/bkt/b/two.bin", f.state);
  ASSERT_STREQ(v[0].path, p1);
  ASSERT_EQ(v[0].size, 5u);
  ASSERT_STREQ(v[1].path, p2);
  ASSERT_EQ(v[1].size, 8u);
  state_objects_free(v, n);
  ASSERT_EQ(state_objects_take(s, &v, &n), 0);  // taken once
  ASSERT_EQ(n, 0u);
  // Both files and both directories, synced by the time state_sync returns.
  ASSERT_EQ(state_sync(s, &err), 0);
  ASSERT(state_objects_sync_count(s) >= 4);
  char *got = slurp(p2);
  ASSERT_STREQ(got, "12345678");
  free(got);
  free(p1);
  free(p2);
  free(src);
  state_close(s);
  fx_free(&f);
}

TEST(async_operations)
{
  struct fixture f;
  fx_init(&f);
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  put_dataset(&f);
  tu_write_str(f.pipe, "model.tar.gz", "M");
  char *src = smf_xasprintf("%s/model.tar.gz", f.pipe);
  char *dest = smf_xasprintf("%s/job/train", f.base);
  struct async_log put_log = {0}, mat_log = {0}, bad_log = {0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(local_store_put_file_async(&loop, &f.st, src, "s3://bkt/m/model.tar.gz", on_store_done,
                                       &put_log, &err),
            0);
  ASSERT_EQ(local_store_materialise_async(&loop, &f.st, "s3://bkt/data/train", dest,
                                          LOCAL_MATERIALISE_COPY, on_store_done, &mat_log, &err),
            0);
  ASSERT_EQ(local_store_copy_async(&loop, &f.st, "s3://bkt/none", "s3://bkt/x", on_store_done,
                                   &bad_log, &err),
            0);
  ASSERT_EQ(local_store_copy_async(&loop, &f.st, NULL, "s3://bkt/x", on_store_done, &bad_log, &err),
            SMF_EINVAL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(put_log.calls, 1);
  ASSERT_EQ(put_log.status[0], 0);
  ASSERT(local_store_exists(&f.st, "s3://bkt/m/model.tar.gz"));
  ASSERT_EQ(mat_log.calls, 1);
  ASSERT_EQ(mat_log.status[0], 0);
  ASSERT_EQ(mat_log.files, 2);
  ASSERT_EQ(bad_log.calls, 1);
  ASSERT_EQ(bad_log.status[0], SMF_ENOENT);
  ASSERT_CONTAINS(bad_log.message, "s3://bkt/none");
  ASSERT_EQ(uv_loop_close(&loop), 0);
  free(src);
  free(dest);
  fx_free(&f);
}

int main(void)
{
  signal(SIGPIPE, SIG_IGN);
  RUN_TEST(mapping);
  RUN_TEST(escaping_and_invalid_keys_refused);
  RUN_TEST(put_stat_and_overwrite);
  RUN_TEST(put_move);
  RUN_TEST(put_is_atomic_for_readers);
  RUN_TEST(prefix_listing);
  RUN_TEST(materialise_channels);
  RUN_TEST(copy_objects);
  RUN_TEST(deferred_sync_notes_objects);
  RUN_TEST(async_operations);
  return TEST_REPORT();
}

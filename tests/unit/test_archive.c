// test_archive.c: the reproducible .tar.gz writer and safe extraction, checked
// with independent readers (GNU tar, Python's tarfile) and hostile archives
// built with Python's tarfile; the thread-pool variants on a real uv loop.
#include <locale.h>
#include <sys/time.h>
#include <uv.h>

#include "fsutil.h"
#include "smflow/archive.h"
#include "smflow/error.h"
#include "smflow/hash.h"

// A source tree as a training script directory might look. `variant` changes
// everything that must not matter: creation order, umask, mtimes, owner.
static void make_tree(const char *root, int variant)
{
  static uint8_t big[200 * 1024];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof(big); i++) {
    x = x * 1103515245u + 12345u;
    big[i] = (uint8_t)(x >> 16);
  }
  mode_t old = umask(variant ? 077 : 022);
  const char *rels[] = {"train.py",
                        "pkg/__init__.py",
                        "pkg/mod.py",
                        "a/z.txt",
                        "a-b.txt",
                        "__pycache__/train.cpython-311.pyc",
                        "pkg/__pycache__/mod.pyc",
                        ".smflow/state.db"};
  size_t n = SMF_ARRAY_LEN(rels);
  for (size_t k = 0; k < n; k++) {
    size_t i = variant ? n - 1 - k : k;
    tu_write(root, rels[i], rels[i], strlen(rels[i]), variant ? 0600 : 0644);
  }
  tu_write(root, "run.sh", "#!/bin/sh\necho hi\n", 18, variant ? 0700 : 0755);
  tu_write(root, "pkg/data/big.bin", big, sizeof(big), 0644);
  char *p = smf_xasprintf("%s/empty", root);
  ASSERT_EQ(mkdir(p, 0777), 0);
  free(p);
  p = smf_xasprintf("%s/link.py", root);
  ASSERT_EQ(symlink("pkg/mod.py", p), 0);
  free(p);
  umask(old);
  if (variant) {
    char *cmd = smf_xasprintf(
        "find '%s' -exec touch -h -d '2021-03-04 05:06:07' {} + && "
        "chown -hR 1234:4321 '%s'",
        root, root);
    ASSERT_EQ(system(cmd), 0);
    free(cmd);
  }
}

static char *read_all(const char *path, size_t *len)
{
  char *data = NULL;
  ASSERT_EQ(smf_file_read(path, &data, len, NULL), 0);
  return data;
}

static const char *const py_list =
    "python3 -c 'import tarfile,sys\n"
    "with tarfile.open(sys.argv[1], \"r:gz\") as t:\n"
    "  for m in t.getmembers():\n"
    "    k = \"d\" if m.isdir() else \"l\" if m.issym() else \"f\" if m.isreg() else \"?\"\n"
    "    print(k, m.name, oct(m.mode), m.mtime, m.uid, m.gid, repr(m.uname), repr(m.gname),"
    " m.size if m.isreg() else m.linkname)' ";

TEST(reproducible_and_readable)
{
  char *base = tu_mkdtemp("arch");
  char *t1 = smf_xasprintf("%s/one", base), *t2 = smf_xasprintf("%s/second-tree", base);
  ASSERT_EQ(mkdir(t1, 0755), 0);
  ASSERT_EQ(mkdir(t2, 0755), 0);
  make_tree(t1, 0);
  make_tree(t2, 1);
  char *o1 = smf_xasprintf("%s/one.tar.gz", base), *o2 = smf_xasprintf("%s/two.tar.gz", base);
  struct smf_pack_spec spec = {.source_dir = t1, .output = o1};
  struct smf_pack_result r1, r2;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &r1, &err), 0);
  spec.source_dir = t2;
  spec.output = o2;
  ASSERT_EQ(smf_archive_pack(&spec, &r2, &err), 0);
  // How durable the output is asked to be changes no byte of it.
  for (int sync = SMF_PACK_SYNC_FILE; sync <= SMF_PACK_SYNC_NONE; sync++) {
    struct smf_pack_result rs;
    spec.sync = (enum smf_pack_sync)sync;
    ASSERT_EQ(smf_archive_pack(&spec, &rs, &err), 0);
    ASSERT_STREQ(rs.sha256, r2.sha256);
  }
  spec.sync = SMF_PACK_SYNC_ALL;

  size_t l1, l2;
  char *b1 = read_all(o1, &l1), *b2 = read_all(o2, &l2);
  ASSERT_EQ(l1, l2);
  ASSERT(memcmp(b1, b2, l1) == 0);
  ASSERT_STREQ(r1.sha256, r2.sha256);
  ASSERT_EQ(r1.bytes, l1);
  ASSERT_EQ(r1.entries, 12);
  ASSERT_EQ(r1.content_bytes, 200 * 1024 + 18 + 8 + 15 + 10 + 7 + 7);
  char hex[SMF_HASH_HEX_SIZE];
  smf_hash_hex(SMF_HASH_SHA256, b1, l1, hex);
  ASSERT_STREQ(hex, r1.sha256);
  // gzip header: deflate, no flags (no name), mtime 0, xfl 0, OS unknown.
  const uint8_t want_hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
  ASSERT(memcmp(b1, want_hdr, sizeof(want_hdr)) == 0);

  char *cmd = smf_xasprintf("%s '%s'", py_list, o1);
  char *listing = tu_run_ok(cmd);
  ASSERT_STREQ(listing,
               "d a 0o755 946684800 0 0 '' '' \n"
               "f a-b.txt 0o644 946684800 0 0 '' '' 7\n"
               "f a/z.txt 0o644 946684800 0 0 '' '' 7\n"
               "d empty 0o755 946684800 0 0 '' '' \n"
               "l link.py 0o777 946684800 0 0 '' '' pkg/mod.py\n"
               "d pkg 0o755 946684800 0 0 '' '' \n"
               "f pkg/__init__.py 0o644 946684800 0 0 '' '' 15\n"
               "d pkg/data 0o755 946684800 0 0 '' '' \n"
               "f pkg/data/big.bin 0o644 946684800 0 0 '' '' 204800\n"
               "f pkg/mod.py 0o644 946684800 0 0 '' '' 10\n"
               "f run.sh 0o755 946684800 0 0 '' '' 18\n"
               "f train.py 0o644 946684800 0 0 '' '' 8\n");
  free(listing);
  free(cmd);
  cmd = smf_xasprintf("TZ=UTC tar -tzvf '%s'", o1);
  listing = tu_run_ok(cmd);
  ASSERT_CONTAINS(listing, "-rwxr-xr-x 0/0              18 2000-01-01 00:00 run.sh\n");
  ASSERT_CONTAINS(listing, "-rw-r--r-- 0/0               8 2000-01-01 00:00 train.py\n");
  ASSERT_CONTAINS(listing, "drwxr-xr-x 0/0               0 2000-01-01 00:00 empty/\n");
  ASSERT_CONTAINS(listing, "link.py -> pkg/mod.py\n");
  ASSERT(strstr(listing, "pycache") == NULL && strstr(listing, ".smflow") == NULL);
  free(listing);
  free(cmd);
  // GNU tar extracts it (no warnings on stderr) to the same bytes.
  cmd = smf_xasprintf(
      "mkdir '%s/x' && tar -xzf '%s' -C '%s/x' 2>&1 && cmp '%s/x/pkg/data/big.bin' "
      "'%s/pkg/data/big.bin'",
      base, o1, base, base, t1);
  listing = tu_run_ok(cmd);
  ASSERT_STREQ(listing, "");
  free(listing);
  free(cmd);

  free(b1);
  free(b2);
  free(o1);
  free(o2);
  free(t1);
  free(t2);
  tu_rm_rf(base);
  free(base);
}

TEST(dependencies_and_entry_point_only)
{
  char *base = tu_mkdtemp("deps");
  char *src = smf_xasprintf("%s/src", base);
  tu_write_str(src, "train.py", "import mylib\n");
  tu_write_str(base, "libs/mylib/__init__.py", "X = 1\n");
  tu_write_str(base, "libs/other/util.py", "Y = 2\n");
  char *dep1 = smf_xasprintf("%s/libs/mylib", base);
  char *dep2 = smf_xasprintf("%s/libs/other/", base);  // trailing slash is fine
  const char *deps[] = {dep1, dep2};
  char *out = smf_xasprintf("%s/src/sourcedir.tar.gz", base);  // inside the tree on purpose
  struct smf_pack_spec spec = {
      .source_dir = src, .dependencies = deps, .n_dependencies = 2, .output = out};
  struct smf_pack_result res;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  // Packing again over the existing output must not include that output.
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  char *cmd = smf_xasprintf("tar -tzf '%s'", out);
  char *listing = tu_run_ok(cmd);
  ASSERT_STREQ(listing, "mylib/\nmylib/__init__.py\nother/\nother/util.py\ntrain.py\n");
  free(listing);
  free(cmd);

  // Entry point only: just that file, at the root.
  char *entry = smf_xasprintf("%s/train.py", src);
  const char *files[] = {entry};
  char *out2 = smf_xasprintf("%s/entry.tar.gz", base);
  struct smf_pack_spec only = {.files = files, .n_files = 1, .output = out2, .level = 3};
  ASSERT_EQ(smf_archive_pack(&only, &res, &err), 0);
  ASSERT_EQ(res.entries, 1);
  cmd = smf_xasprintf("%s '%s'", py_list, out2);
  listing = tu_run_ok(cmd);
  ASSERT_STREQ(listing, "f train.py 0o644 946684800 0 0 '' '' 13\n");
  free(listing);
  free(cmd);

  // A dependency named like a file of the source dir collides.
  tu_write_str(base, "clash/train.py", "");
  char *clash = smf_xasprintf("%s/clash/train.py", base);
  const char *clash_files[] = {clash};
  struct smf_pack_spec bad = {
      .source_dir = src, .files = clash_files, .n_files = 1, .output = out2};
  ASSERT_EQ(smf_archive_pack(&bad, &res, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "same archive path train.py");
  // A missing source is reported, and the previous output is left untouched.
  struct smf_pack_spec missing = {.source_dir = "/nonexistent/src", .output = out2};
  ASSERT_EQ(smf_archive_pack(&missing, &res, &err), SMF_ENOENT);
  ASSERT_CONTAINS(err.message, "/nonexistent/src");
  struct smf_pack_spec badlevel = {.source_dir = src, .output = out2, .level = 7};
  ASSERT_EQ(smf_archive_pack(&badlevel, &res, &err), SMF_EINVAL);
  ASSERT(tu_exists(out2));
  ASSERT_EQ(tu_count_entries(base), 4);  // src, libs, clash, entry.tar.gz: no temp files
  // An empty directory gives a valid, empty archive.
  char *empty = smf_xasprintf("%s/libs/empty", base);
  ASSERT_EQ(mkdir(empty, 0755), 0);
  struct smf_pack_spec none = {.source_dir = empty, .output = out2};
  ASSERT_EQ(smf_archive_pack(&none, &res, &err), 0);
  ASSERT_EQ(res.entries, 0);
  cmd = smf_xasprintf("tar -tzf '%s'", out2);
  listing = tu_run_ok(cmd);
  ASSERT_STREQ(listing, "");
  free(listing);
  free(cmd);
  free(empty);

  free(clash);
  free(entry);
  free(out2);
  free(out);
  free(dep1);
  free(dep2);
  free(src);
  tu_rm_rf(base);
  free(base);
}

TEST(pack_refuses_escaping_links_and_special_files)
{
  char *base = tu_mkdtemp("refuse");
  char *src = smf_xasprintf("%s/src", base);
  tu_write_str(src, "train.py", "");
  char *link = smf_xasprintf("%s/sub/up", src);
  ASSERT_EQ(smf_mkdir_p(link, NULL), 0);
  ASSERT_EQ(rmdir(link), 0);
  ASSERT_EQ(symlink("../../outside", link), 0);
  char *out = smf_xasprintf("%s/out.tar.gz", base);
  struct smf_pack_spec spec = {.source_dir = src, .output = out};
  struct smf_pack_result res;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "sub/up -> ../../outside points outside");
  ASSERT(!tu_exists(out));
  ASSERT_EQ(tu_count_entries(base), 1);
  ASSERT_EQ(unlink(link), 0);
  ASSERT_EQ(symlink("/etc/passwd", link), 0);
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), SMF_EVALIDATE);
  ASSERT_EQ(unlink(link), 0);
  ASSERT_EQ(mkfifo(link, 0644), 0);
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), SMF_EVALIDATE);
  ASSERT_CONTAINS(err.message, "a FIFO");
  ASSERT_EQ(unlink(link), 0);
  ASSERT_EQ(symlink("../train.py", link), 0);  // inside: fine
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  free(out);
  free(link);
  free(src);
  tu_rm_rf(base);
  free(base);
}

static void make_hostile(const char *path, const char *members);

// Non-ASCII and long names: the bytes do not depend on the locale, and both
// readers see the names.
TEST(names_independent_of_locale)
{
  char *base = tu_mkdtemp("names");
  char *src = smf_xasprintf("%s/src", base);
  tu_write_str(src,
               "donn\xc3\xa9"
               "es.csv",
               "1,2\n");
  char longdir[121], longname[91];
  memset(longdir, 'x', 120);
  longdir[120] = '\0';
  memset(longname, 'y', 90);
  longname[90] = '\0';
  char *rel = smf_xasprintf("%s/%s", longdir, longname);
  tu_write_str(src, rel, "long");
  char *o1 = smf_xasprintf("%s/c.tar.gz", base), *o2 = smf_xasprintf("%s/utf8.tar.gz", base);
  struct smf_pack_spec spec = {.source_dir = src, .output = o1};
  struct smf_pack_result r1, r2;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT(setlocale(LC_ALL, "C") != NULL);
  ASSERT_EQ(smf_archive_pack(&spec, &r1, &err), 0);
  if (setlocale(LC_ALL, "C.UTF-8") == NULL) {
    fprintf(stderr, "   (no C.UTF-8 locale; packing twice in C)\n");
  }
  spec.output = o2;
  ASSERT_EQ(smf_archive_pack(&spec, &r2, &err), 0);
  setlocale(LC_ALL, "C");
  ASSERT_STREQ(r1.sha256, r2.sha256);
  char *cmd = smf_xasprintf("%s '%s' | cut -d' ' -f1,2", py_list, o1);
  char *listing = tu_run_ok(cmd);
  char *want = smf_xasprintf(
      "f donn\xc3\xa9"
      "es.csv\nd %s\nf %s\n",
      longdir, rel);
  ASSERT_STREQ(listing, want);
  free(want);
  free(listing);
  free(cmd);
  char *dest = smf_xasprintf("%s/out", base);
  struct smf_extract_result xr;
  ASSERT_EQ(smf_archive_extract(o1, dest, &xr, &err), 0);
  char *p = smf_xasprintf(
      "%s/donn\xc3\xa9"
      "es.csv",
      dest);
  ASSERT(tu_exists(p));
  free(p);
  p = smf_xasprintf("%s/%s", dest, rel);
  ASSERT(tu_exists(p));
  free(p);
  // A pax archive from Python (UTF-8 "path" records) extracts in the C locale.
  cmd = smf_xasprintf(
      "cd '%s' && python3 -c 'import tarfile\n"
      "with tarfile.open(\"py.tar.gz\", \"w:gz\", format=tarfile.PAX_FORMAT) "
      "as t: t.add(\"src\", arcname=\".\")'",
      base);
  free(tu_run_ok(cmd));
  free(cmd);
  char *py = smf_xasprintf("%s/py.tar.gz", base), *dest2 = smf_xasprintf("%s/out2", base);
  ASSERT_EQ(smf_archive_extract(py, dest2, &xr, &err), 0);
  p = smf_xasprintf(
      "%s/donn\xc3\xa9"
      "es.csv",
      dest2);
  ASSERT(tu_exists(p));
  free(p);
  free(py);
  free(dest2);
  free(dest);
  free(o1);
  free(o2);
  free(rel);
  free(src);
  tu_rm_rf(base);
  free(base);
}

TEST(extract_round_trip)
{
  char *base = tu_mkdtemp("rt");
  char *src = smf_xasprintf("%s/src", base);
  ASSERT_EQ(mkdir(src, 0755), 0);
  make_tree(src, 0);
  char *out = smf_xasprintf("%s/model.tar.gz", base);
  struct smf_pack_spec spec = {.source_dir = src, .output = out};
  struct smf_pack_result res;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack(&spec, &res, &err), 0);
  char *dest = smf_xasprintf("%s/new/dest", base);
  struct smf_extract_result xr;
  ASSERT_EQ(smf_archive_extract(out, dest, &xr, &err), 0);
  ASSERT_EQ(xr.entries, 12);
  ASSERT_EQ(xr.bytes, res.content_bytes);
  char *cmd = smf_xasprintf(
      "cd '%s' && cmp pkg/data/big.bin '%s/pkg/data/big.bin' && "
      "readlink link.py && test -x run.sh && test -d empty && cat link.py",
      dest, src);
  char *o = tu_run_ok(cmd);
  ASSERT_STREQ(o, "pkg/mod.py\npkg/mod.py");
  free(o);
  free(cmd);
  // A tar made by GNU tar with a "./" root entry extracts too.
  cmd = smf_xasprintf("cd '%s' && tar -czf '%s/gnu.tar.gz' .", src, base);
  free(tu_run_ok(cmd));
  free(cmd);
  char *gnu = smf_xasprintf("%s/gnu.tar.gz", base), *dest2 = smf_xasprintf("%s/d2", base);
  ASSERT_EQ(smf_archive_extract(gnu, dest2, &xr, &err), 0);
  char *p = smf_xasprintf("%s/.smflow/state.db", dest2);
  ASSERT(tu_exists(p));
  free(p);
  ASSERT_EQ(smf_archive_extract("/nonexistent.tar.gz", dest2, &xr, &err), SMF_ENOENT);
  // Links that stay inside are fine: a hard link to an earlier member, a
  // symlink into a sibling directory.
  char *links = smf_xasprintf("%s/links.tar.gz", base), *dest3 = smf_xasprintf("%s/d3", base);
  make_hostile(links,
               "d('dir')\nf('dir/a', b'AAA')\nh('b', 'dir/a')\ns('c', 'dir/a')\n"
               "d('x')\ns('x/y', '../dir')");
  ASSERT_EQ(smf_archive_extract(links, dest3, &xr, &err), 0);
  ASSERT_EQ(xr.entries, 6);
  cmd = smf_xasprintf("cd '%s' && cat b c x/y/a && stat -c %%h dir/a", dest3);
  o = tu_run_ok(cmd);
  ASSERT_STREQ(o, "AAAAAAAAA2\n");
  free(o);
  free(cmd);
  free(links);
  free(dest3);
  free(gnu);
  free(dest2);
  free(dest);
  free(out);
  free(src);
  tu_rm_rf(base);
  free(base);
}

// Build a one-off hostile archive with Python's tarfile. `members` is Python
// code that adds members to the open TarFile `t` (helpers f(name), d(name),
// s(name, target), h(name, target), n(name, type) are available).
static void make_hostile(const char *path, const char *members)
{
  char *cmd = smf_xasprintf(
      "python3 - '%s' <<'PYEOF'\n"
      "import io, sys, tarfile\n"
      "t = tarfile.open(sys.argv[1], 'w:gz', format=tarfile.GNU_FORMAT)\n"
      "def f(name, data=b'evil'):\n"
      "    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))\n"
      "def d(name):\n"
      "    i = tarfile.TarInfo(name); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)\n"
      "def s(name, target):\n"
      "    i = tarfile.TarInfo(name); i.type = tarfile.SYMTYPE; i.linkname = target; t.addfile(i)\n"
      "def h(name, target):\n"
      "    i = tarfile.TarInfo(name); i.type = tarfile.LNKTYPE; i.linkname = target; t.addfile(i)\n"
      "def n(name, typ):\n"
      "    i = tarfile.TarInfo(name); i.type = typ; i.devmajor = 1; i.devminor = 3; t.addfile(i)\n"
      "%s\n"
      "t.close()\n"
      "PYEOF",
      path, members);
  free(tu_run_ok(cmd));
  free(cmd);
}

struct hostile_case {
  const char *members;
  const char *message;  // expected in the error
};

TEST(extract_refuses_hostile_archives)
{
  char *base = tu_mkdtemp("hostile");
  char *abs_dir = tu_mkdtemp("abs");
  char *outside = smf_xasprintf("%s/victim.txt", base);
  tu_write_str(base, "victim.txt", "precious\n");
  char *etc_name = smf_xasprintf("smf-test-evil-%ld", (long)getpid());
  char *abs_member = smf_xasprintf("f('ok.txt', b'fine')\nf('%s/evil')", abs_dir);
  char *etc_member = smf_xasprintf("s('etc', '/etc')\nf('etc/%s')", etc_name);
  char *hl_abs = smf_xasprintf("h('hl', '%s')", outside);
  struct hostile_case cases[] = {
      {"f('ok.txt')\nf('../evil')", "\"../evil\" from"},
      {"f('a/../../evil')", "'..' component"},
      {abs_member, "absolute path"},
      {etc_member, "\"etc\" (-> /etc)"},
      {"s('up', '../..')\nf('up/evil')", "symlink points outside"},
      {"d('sub')\ns('inner', 'sub')\nf('inner/evil')", "\"inner/evil\""},
      {"h('hl', '../victim.txt')", "hard link points outside"},
      {hl_abs, "hard link points outside"},
      {"n('null', tarfile.CHRTYPE)", "character device"},
      {"n('sda', tarfile.BLKTYPE)", "block device"},
      {"n('fifo', tarfile.FIFOTYPE)", "FIFO entries"},
  };
  char *tgz = smf_xasprintf("%s/hostile.tar.gz", base);
  char *holder = smf_xasprintf("%s/holder", base);
  char *dest = smf_xasprintf("%s/holder/dest", base);
  for (size_t i = 0; i < SMF_ARRAY_LEN(cases); i++) {
    fprintf(stderr, "   case %zu\n", i);
    make_hostile(tgz, cases[i].members);
    struct smf_error err = SMF_ERROR_INIT;
    struct smf_extract_result xr;
    ASSERT_EQ(smf_archive_extract(tgz, dest, &xr, &err), SMF_EVALIDATE);
    fprintf(stderr, "   %s\n", err.message);
    ASSERT_CONTAINS(err.message, cases[i].message);
    ASSERT_CONTAINS(err.message, "hostile.tar.gz");
    // Nothing written beside the destination, nor at the absolute targets.
    ASSERT_EQ(tu_count_entries(holder), 1);
    ASSERT_EQ(tu_count_entries(base), 3);  // victim.txt, hostile.tar.gz, holder
    ASSERT_EQ(tu_count_entries(abs_dir), 0);
    char *etc_path = smf_xasprintf("/etc/%s", etc_name);
    ASSERT(!tu_exists(etc_path));
    free(etc_path);
    char *victim = NULL;
    ASSERT_EQ(smf_file_read(outside, &victim, NULL, NULL), 0);
    ASSERT_STREQ(victim, "precious\n");
    free(victim);
    // No device node, FIFO or link to outside was left in the destination either.
    char *cmd = smf_xasprintf(
        "find '%s' ! -type f ! -type d ! -type l | wc -l; "
        "find '%s' -type l -lname '/*' | wc -l; "
        "find '%s' -type f -links +1 | wc -l",
        dest, dest, dest);
    char *o = tu_run_ok(cmd);
    ASSERT_STREQ(o, "0\n0\n0\n");
    free(o);
    free(cmd);
    tu_rm_rf(dest);
  }
  free(tgz);
  free(holder);
  free(dest);
  free(hl_abs);
  free(etc_member);
  free(abs_member);
  free(etc_name);
  free(outside);
  tu_rm_rf(abs_dir);
  free(abs_dir);
  tu_rm_rf(base);
  free(base);
}

// ---- thread-pool variants ----

struct chain {
  uv_loop_t *loop;
  char *dest;
  int packed, extracted, failed;
  struct smf_pack_result pack;
  struct smf_extract_result extract;
  char message[1024];
};

static void on_extracted(int status, const struct smf_extract_result *res,
                         const struct smf_error *err, void *data)
{
  struct chain *c = data;
  (void)err;
  ASSERT_EQ(status, 0);
  c->extract = *res;
  c->extracted++;
}

static void on_packed(int status, const struct smf_pack_result *res, const struct smf_error *err,
                      void *data)
{
  struct chain *c = data;
  ASSERT_EQ(status, 0);
  (void)err;
  c->pack = *res;
  c->packed++;
  char *path = smf_xasprintf("%s.tar.gz", c->dest);
  struct smf_error e2 = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_extract_async(c->loop, path, c->dest, on_extracted, c, &e2), 0);
  free(path);
}

static void on_pack_failed(int status, const struct smf_pack_result *res,
                           const struct smf_error *err, void *data)
{
  struct chain *c = data;
  ASSERT(status < 0);
  ASSERT(res == NULL);
  snprintf(c->message, sizeof(c->message), "%s", err->message);
  c->failed++;
}

TEST(async_pack_then_extract)
{
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  char *base = tu_mkdtemp("async");
  char *src = smf_xasprintf("%s/src", base);
  ASSERT_EQ(mkdir(src, 0755), 0);
  make_tree(src, 0);
  struct chain c = {.loop = &loop, .dest = smf_xasprintf("%s/out", base)};
  char *out = smf_xasprintf("%s.tar.gz", c.dest);
  struct smf_pack_spec spec = {.source_dir = src, .output = out};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(smf_archive_pack_async(&loop, &spec, on_packed, &c, &err), 0);
  // The spec is copied: clobbering ours now must not matter.
  free(out);
  out = NULL;
  spec.output = NULL;
  struct smf_pack_spec bad = {.source_dir = "/nonexistent/dir", .output = "/tmp/x.tar.gz"};
  ASSERT_EQ(smf_archive_pack_async(&loop, &bad, on_pack_failed, &c, &err), 0);
  // Invalid calls fail at once and never call back.
  ASSERT_EQ(smf_archive_pack_async(&loop, &spec, on_pack_failed, &c, &err), SMF_EINVAL);
  ASSERT_EQ(smf_archive_extract_async(&loop, NULL, "/tmp", on_extracted, &c, &err), SMF_EINVAL);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(c.packed, 1);
  ASSERT_EQ(c.extracted, 1);
  ASSERT_EQ(c.failed, 1);
  ASSERT_CONTAINS(c.message, "/nonexistent/dir");
  ASSERT_EQ(c.pack.entries, 12);
  ASSERT_EQ(c.extract.entries, 12);
  ASSERT_EQ(c.extract.bytes, c.pack.content_bytes);
  char *p = smf_xasprintf("%s/pkg/data/big.bin", c.dest);
  ASSERT(tu_exists(p));
  free(p);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  free(c.dest);
  free(src);
  tu_rm_rf(base);
  free(base);
}

int main(void)
{
  RUN_TEST(reproducible_and_readable);
  RUN_TEST(dependencies_and_entry_point_only);
  RUN_TEST(pack_refuses_escaping_links_and_special_files);
  RUN_TEST(names_independent_of_locale);
  RUN_TEST(extract_round_trip);
  RUN_TEST(extract_refuses_hostile_archives);
  RUN_TEST(async_pack_then_extract);
  return TEST_REPORT();
}

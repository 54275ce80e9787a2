// run_corpus.c: runs the pipeline corpus through dsl_load.
//   valid/*.yaml   — must load, with no diagnostic.
//   invalid/*.yaml — must fail with exactly the diagnostics listed in the file's
//                    "# expect: LINE:COL: FRAGMENT" lines (same count; each
//                    expectation matches one diagnostic at that position whose
//                    message contains FRAGMENT). LINE:COL may be "0:0" for
//                    diagnostics without a position (e.g. --param problems).
//   A "# param: NAME=VALUE" line passes an override, as `--param` does.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smflow/dsl.h"
#include "smflow/util.h"

struct expect {
  unsigned line, col;
  char frag[512];
  bool used;
};

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t list_yaml(const char *dir, char ***out)
{
  DIR *d = opendir(dir);
  size_t n = 0;
  char **v = NULL;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (smf_str_endswith(e->d_name, ".yaml")) {
      v = smf_xrealloc(v, (n + 1) * sizeof(*v));
      v[n++] = smf_xasprintf("%s/%s", dir, e->d_name);
    }
  }
  if (d) {
    closedir(d);
  }
  if (n) {
    qsort(v, n, sizeof(*v), cmp_str);
  }
  *out = v;
  return n;
}

// Read "# expect:" and "# param:" lines of the leading comment block.
static size_t read_header(const char *text, struct expect *ex, size_t max,
                          struct dsl_param_override *ov, size_t *n_ov, char *pbuf, size_t pcap)
{
  size_t n = 0, used = 0;
  *n_ov = 0;
  const char *p = text;
  while (*p == '#') {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    unsigned l, c;
    int off = 0;
    if (n < max && sscanf(p, "# expect: %u:%u: %n", &l, &c, &off) == 2 && off > 0) {
      ex[n].line = l;
      ex[n].col = c;
      snprintf(ex[n].frag, sizeof(ex[n].frag), "%.*s", (int)(len - (size_t)off), p + off);
      ex[n++].used = false;
    } else if (strncmp(p, "# param: ", 9) == 0 && *n_ov < 4 && used + len < pcap) {
      char *s = pbuf + used;
      memcpy(s, p + 9, len - 9);
      s[len - 9] = '\0';
      used += len - 8;
      char *eq = strchr(s, '=');
      if (eq) {
        *eq = '\0';
        ov[*n_ov].name = s;
        ov[(*n_ov)++].value = eq + 1;
      }
    }
    if (!eol) {
      break;
    }
    p = eol + 1;
  }
  return n;
}

static bool run_invalid(const char *path)
{
  char *text = NULL;
  size_t len = 0;
  if (smf_file_read(path, &text, &len, NULL) != 0) {
    printf("FAIL %s: cannot read\n", path);
    return false;
  }
  struct expect ex[32];
  struct dsl_param_override ov[4];
  size_t n_ov = 0;
  char pbuf[1024];
  size_t n_ex = read_header(text, ex, 32, ov, &n_ov, pbuf, sizeof(pbuf));
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load(path, ov, n_ov, &p, &d);
  bool ok = rc != 0 && p == NULL && n_ex > 0 && d.n == n_ex;
  for (size_t i = 0; i < d.n && ok; i++) {
    bool hit = false;
    for (size_t k = 0; k < n_ex && !hit; k++) {
      if (!ex[k].used && ex[k].line == d.items[i].line && ex[k].col == d.items[i].col &&
          strstr(d.items[i].message, ex[k].frag) != NULL) {
        ex[k].used = hit = true;
      }
    }
    ok = hit;
  }
  if (!ok) {
    printf("FAIL %s (rc=%d)\n  expected %zu:\n", path, rc, n_ex);
    for (size_t k = 0; k < n_ex; k++) {
      printf("    %u:%u: ...%s...\n", ex[k].line, ex[k].col, ex[k].frag);
    }
    printf("  got %zu:\n", d.n);
    for (size_t i = 0; i < d.n; i++) {
      printf("    %u:%u: %s\n", d.items[i].line, d.items[i].col, d.items[i].message);
    }
  }
  dsl_pipeline_free(p);
  dsl_diags_free(&d);
  free(text);
  return ok;
}

static bool run_valid(const char *path)
{
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load(path, NULL, 0, &p, &d);
  bool ok = rc == 0 && p != NULL && d.n == 0;
  if (!ok) {
    printf("FAIL %s (rc=%d): expected no diagnostic, got:\n", path, rc);
    dsl_diags_print(&d, stdout);
  }
  dsl_pipeline_free(p);
  dsl_diags_free(&d);
  return ok;
}

int main(int argc, char **argv)
{
  const char *root = argc > 1 ? argv[1] : "tests/dsl";
  size_t failed = 0, total = 0;
  for (int pass = 0; pass < 2; pass++) {
    char *dir = smf_xasprintf("%s/%s", root, pass ? "invalid" : "valid");
    char **files;
    size_t n = list_yaml(dir, &files);
    if (n == 0) {
      printf("FAIL %s: no cases\n", dir);
      failed++;
    }
    for (size_t i = 0; i < n; i++) {
      total++;
      failed += !(pass ? run_invalid(files[i]) : run_valid(files[i]));
      free(files[i]);
    }
    free(files);
    free(dir);
  }
  printf("%zu cases, %zu failed\n", total, failed);
  return failed ? 1 : 0;
}

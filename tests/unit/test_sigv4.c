// test_sigv4.c: runs every SigV4 case under $SMF_TEST_DATA/sigv4/{v4,s3,derived}
// (see tests/data/sigv4/README.md for the layout) and compares the canonical
// request, string to sign, signature and added headers byte for byte. The case
// folders are discovered by listing the directories, so new cases run too.
#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <strings.h>
#include <time.h>

#include "aws/sigv4.h"
#include "smflow/error.h"
#include "smflow/util.h"
#include "test.h"

static int g_cases;
static int g_checks;
static int g_mismatches;

// ---- small helpers -----------------------------------------------------------

static char *read_opt(const char *dir, const char *name)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  char *data = NULL;
  size_t len = 0;
  struct smf_error err = SMF_ERROR_INIT;
  if (smf_file_read(path, &data, &len, &err) != 0) {
    return NULL;
  }
  return data;
}

static void check_eq(const char *case_name, const char *what, const char *want, const char *got)
{
  g_checks++;
  if (strcmp(want, got) != 0) {
    g_mismatches++;
    fprintf(stderr, "MISMATCH %s: %s\n--- expected ---\n%s\n--- got ---\n%s\n---\n", case_name,
            what, want, got);
  }
}

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decode s[0..n) into a new string (no '+' rule: SigV4 has none).
static char *pct_decode(const char *s, size_t n)
{
  char *out = smf_xmalloc(n + 1);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out[j++] = s[i];
    }
  }
  out[j] = '\0';
  return out;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// ---- request.txt -------------------------------------------------------------

struct parsed_req {
  char *method;
  char *target;  // as in the file
  char *path;
  struct aws_sigv4_kv query[32];
  size_t n_query;
  struct aws_sigv4_kv headers[32];
  size_t n_headers;
  char *body;
  size_t body_len;
};

static void parse_query(struct parsed_req *r, const char *q)
{
  while (*q) {
    const char *amp = strchr(q, '&');
    size_t n = amp ? (size_t)(amp - q) : strlen(q);
    const char *eq = memchr(q, '=', n);
    size_t nl = eq ? (size_t)(eq - q) : n;
    ASSERT(r->n_query < SMF_ARRAY_LEN(r->query));
    r->query[r->n_query].name = pct_decode(q, nl);
    r->query[r->n_query].value = eq ? pct_decode(eq + 1, n - nl - 1) : smf_xstrdup("");
    r->n_query++;
    q += n;
    if (*q == '&') q++;
  }
}

static void parse_request(struct parsed_req *r, const char *text)
{
  memset(r, 0, sizeof(*r));
  const char *eol = strchr(text, '\n');
  size_t first_len = eol ? (size_t)(eol - text) : strlen(text);
  char *first = smf_xstrndup(text, first_len);
  char *sp = strchr(first, ' ');
  char *http = strstr(first, " HTTP/");
  ASSERT(sp && http && http >= sp);
  r->method = smf_xstrndup(first, (size_t)(sp - first));
  r->target = smf_xstrndup(sp + 1, (size_t)(http - sp - 1));
  free(first);
  char *qm = strchr(r->target, '?');
  r->path = qm ? smf_xstrndup(r->target, (size_t)(qm - r->target)) : smf_xstrdup(r->target);
  if (qm) parse_query(r, qm + 1);

  const char *p = eol ? eol + 1 : text + first_len;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0) {  // blank line: the body follows
      p = e + 1;
      r->body = smf_xstrdup(p);
      r->body_len = strlen(p);
      return;
    }
    if (p[0] == ' ' || p[0] == '\t') {  // continuation of the previous header
      ASSERT(r->n_headers > 0);
      struct aws_sigv4_kv *h = &r->headers[r->n_headers - 1];
      char *v = smf_xasprintf("%s\n%.*s", h->value, (int)n, p);
      free((char *)h->value);
      h->value = v;
    } else {
      const char *colon = memchr(p, ':', n);
      ASSERT(colon != NULL);
      ASSERT(r->n_headers < SMF_ARRAY_LEN(r->headers));
      r->headers[r->n_headers].name = smf_xstrndup(p, (size_t)(colon - p));
      r->headers[r->n_headers].value = smf_xstrndup(colon + 1, n - (size_t)(colon - p) - 1);
      r->n_headers++;
    }
    p += n;
    if (*p == '\n') p++;
  }
}

static void free_request(struct parsed_req *r)
{
  free(r->method);
  free(r->target);
  free(r->path);
  for (size_t i = 0; i < r->n_query; i++) {
    free((char *)r->query[i].name);
    free((char *)r->query[i].value);
  }
  for (size_t i = 0; i < r->n_headers; i++) {
    free((char *)r->headers[i].name);
    free((char *)r->headers[i].value);
  }
  free(r->body);
}

// "Name:value" line of a signed-request file for header `name` (case-insensitive).
static char *find_header_line(const char *text, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *e = strchr(p, '\n');
      return e ? smf_xstrndup(p + nl + 1, (size_t)(e - p - nl - 1)) : smf_xstrdup(p + nl + 1);
    }
  }
  return NULL;
}

// ---- one case ----------------------------------------------------------------

struct case_ctx {
  const char *name;
  const char *dir;
  json_t *ctx;
  struct aws_creds creds;
  struct aws_sigv4_config cfg;
  struct aws_sigv4_request req;
  struct parsed_req parsed;
};

static void check_file(struct case_ctx *c, const char *file, const char *got)
{
  char *want = read_opt(c->dir, file);
  ASSERT(want != NULL);
  check_eq(c->name, file, want, got);
  free(want);
}

static void run_header_variant(struct aws_sigv4_signer *s, struct case_ctx *c)
{
  struct aws_sigv4_result out = AWS_SIGV4_RESULT_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_sigv4_sign_headers(s, &c->req, &c->cfg, &out, &err), 0);
  check_file(c, "header-canonical-request.txt", smf_buf_cstr(&out.canonical_request));
  check_file(c, "header-string-to-sign.txt", smf_buf_cstr(&out.string_to_sign));
  check_file(c, "header-signature.txt", out.signature);
  char *signed_req = read_opt(c->dir, "header-signed-request.txt");
  if (signed_req) {
    for (size_t i = 0; i < out.n_add; i++) {
      char *want = find_header_line(signed_req, out.add[i].name);
      char what[128];
      snprintf(what, sizeof(what), "header-signed-request.txt %s", out.add[i].name);
      check_eq(c->name, what, want ? want : "(absent)", out.add[i].value);
      free(want);
    }
    char *auth = find_header_line(signed_req, "Authorization");
    check_eq(c->name, "Authorization present", auth ? "yes" : "no", "yes");
    free(auth);
    free(signed_req);
  }
  if (json_object_get(c->ctx, "chunked_body")) {
    json_t *cb = json_object_get(c->ctx, "chunked_body");
    json_t *sizes = json_object_get(cb, "chunk_sizes");
    const char *fill = json_string_value(json_object_get(cb, "fill_byte"));
    ASSERT(json_array_size(sizes) > 0 && fill != NULL);
    char prev[65];
    memcpy(prev, out.signature, 65);
    size_t total = 0;
    struct smf_buf sts = SMF_BUF_INIT;
    for (size_t i = 0; i < json_array_size(sizes); i++) {
      size_t n = (size_t)json_integer_value(json_array_get(sizes, i));
      char *data = smf_xmalloc(n + 1);
      memset(data, fill[0], n);
      char sig[65];
      ASSERT_EQ(aws_sigv4_sign_chunk(s, &c->cfg, prev, data, n, sig, &sts, &err), 0);
      char file[64];
      snprintf(file, sizeof(file), "chunk-%zu-string-to-sign.txt", i + 1);
      check_file(c, file, smf_buf_cstr(&sts));
      snprintf(file, sizeof(file), "chunk-%zu-signature.txt", i + 1);
      check_file(c, file, sig);
      char *hdr = smf_xasprintf("%zx;chunk-signature=%s\r\n", n, sig);
      snprintf(file, sizeof(file), "chunk-%zu-header.txt", i + 1);
      check_file(c, file, hdr);
      total += strlen(hdr) + n + 2;
      free(hdr);
      free(data);
      memcpy(prev, sig, 65);
    }
    smf_buf_free(&sts);
    for (size_t i = 0; i < c->parsed.n_headers; i++) {
      if (strcasecmp(c->parsed.headers[i].name, "Content-Length") == 0) {
        char got[32];
        snprintf(got, sizeof(got), "%zu", total);
        check_eq(c->name, "aws-chunked Content-Length", c->parsed.headers[i].value, got);
      }
    }
  }
  aws_sigv4_result_free(&out);
}

// The request line with its query parameters sorted: the order in which the
// X-Amz-* parameters are appended does not matter (AWS's own examples differ).
static char *sort_query_line(const char *line)
{
  char *copy = smf_xstrdup(line);
  char *q = strchr(copy, '?');
  char *end = strstr(copy, " HTTP/");
  if (q == NULL || end == NULL) {
    return copy;
  }
  *end = '\0';
  char *parts[64];
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(q + 1, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
    ASSERT(n < SMF_ARRAY_LEN(parts));
    parts[n++] = t;
  }
  qsort(parts, n, sizeof(parts[0]), cmp_str);
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_append(&b, copy, (size_t)(q - copy) + 1);
  for (size_t i = 0; i < n; i++) {
    smf_buf_printf(&b, "%s%s", i ? "&" : "", parts[i]);
  }
  free(copy);
  return smf_buf_steal(&b);
}

static void run_query_variant(struct aws_sigv4_signer *s, struct case_ctx *c)
{
  struct aws_sigv4_result out = AWS_SIGV4_RESULT_INIT;
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_sigv4_sign_query(s, &c->req, &c->cfg, &out, &err), 0);
  check_file(c, "query-canonical-request.txt", smf_buf_cstr(&out.canonical_request));
  check_file(c, "query-string-to-sign.txt", smf_buf_cstr(&out.string_to_sign));
  check_file(c, "query-signature.txt", out.signature);
  char *signed_req = read_opt(c->dir, "query-signed-request.txt");
  if (signed_req) {
    char *nl = strchr(signed_req, '\n');
    if (nl) *nl = '\0';
    const char *t = c->parsed.target;
    size_t tl = strlen(t);
    const char *sep = strchr(t, '?') == NULL ? "?" : (t[tl - 1] == '?' ? "" : "&");
    char *line =
        smf_xasprintf("%s %s%s%s HTTP/1.1", c->parsed.method, t, sep, smf_buf_cstr(&out.query));
    char *want_sorted = sort_query_line(signed_req), *got_sorted = sort_query_line(line);
    check_eq(c->name, "query-signed-request.txt request line", want_sorted, got_sorted);
    free(want_sorted);
    free(got_sorted);
    free(line);
    free(signed_req);
  }
  aws_sigv4_result_free(&out);
}

static bool json_flag(json_t *ctx, const char *key, bool dflt)
{
  json_t *v = json_object_get(ctx, key);
  return v ? json_is_true(v) : dflt;
}

static void run_case(struct aws_sigv4_signer *s, const char *name, const char *dir)
{
  struct case_ctx c = {.name = name, .dir = dir};
  char *ctx_text = read_opt(dir, "context.json");
  char *req_text = read_opt(dir, "request.txt");
  if (ctx_text == NULL || req_text == NULL) {
    fprintf(stderr, "MISMATCH %s: no context.json or request.txt\n", name);
    g_mismatches++;
    free(ctx_text);
    free(req_text);
    return;
  }
  json_error_t jerr;
  c.ctx = json_loads(ctx_text, 0, &jerr);
  ASSERT(c.ctx != NULL);
  json_t *cr = json_object_get(c.ctx, "credentials");
  aws_creds_set(&c.creds, json_string_value(json_object_get(cr, "access_key_id")),
                json_string_value(json_object_get(cr, "secret_access_key")),
                json_string_value(json_object_get(cr, "token")), 0, "test");
  struct tm tm = {0};
  const char *ts = json_string_value(json_object_get(c.ctx, "timestamp"));
  ASSERT(ts && strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL);
  c.cfg.creds = &c.creds;
  c.cfg.region = json_string_value(json_object_get(c.ctx, "region"));
  c.cfg.service = json_string_value(json_object_get(c.ctx, "service"));
  c.cfg.time_s = (int64_t)timegm(&tm);
  c.cfg.expires_s = (unsigned)json_integer_value(json_object_get(c.ctx, "expiration_in_seconds"));
  c.cfg.flags = (json_flag(c.ctx, "normalize", true) ? AWS_SIGV4_NORMALIZE : 0) |
                (json_flag(c.ctx, "double_uri_encode", true) ? AWS_SIGV4_DOUBLE_ENCODE : 0) |
                (json_flag(c.ctx, "sign_body", false) ? AWS_SIGV4_SIGN_BODY : 0) |
                (json_flag(c.ctx, "omit_session_token", false) ? AWS_SIGV4_OMIT_TOKEN : 0);
  parse_request(&c.parsed, req_text);
  c.req = (struct aws_sigv4_request){
      .method = c.parsed.method,
      .path = c.parsed.path,
      .query = c.parsed.query,
      .n_query = c.parsed.n_query,
      .headers = c.parsed.headers,
      .n_headers = c.parsed.n_headers,
      .payload_hash = json_string_value(json_object_get(c.ctx, "signed_body_value")),
      .body = c.parsed.body,
      .body_len = c.parsed.body_len,
  };
  bool any = false;
  char *probe = read_opt(dir, "header-canonical-request.txt");
  if (probe) {
    any = true;
    run_header_variant(s, &c);
    free(probe);
  }
  probe = read_opt(dir, "query-canonical-request.txt");
  if (probe) {
    any = true;
    run_query_variant(s, &c);
    free(probe);
  }
  if (!any) {
    fprintf(stderr, "MISMATCH %s: neither header-* nor query-* expectations\n", name);
    g_mismatches++;
  }
  g_cases++;
  free_request(&c.parsed);
  aws_creds_clear(&c.creds);
  json_decref(c.ctx);
  free(ctx_text);
  free(req_text);
}

// Runs every case folder under data/sigv4/<suite>; returns how many ran.
static int run_suite(struct aws_sigv4_signer *s, const char *suite)
{
  const char *data = getenv("SMF_TEST_DATA");
  ASSERT(data != NULL);
  char root[1024];
  snprintf(root, sizeof(root), "%s/sigv4/%s", data, suite);
  DIR *d = opendir(root);
  ASSERT(d != NULL);
  char *names[256];
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    ASSERT(n < SMF_ARRAY_LEN(names));
    names[n++] = smf_xstrdup(de->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof(names[0]), cmp_str);
  int before = g_cases;
  for (size_t i = 0; i < n; i++) {
    char dir[1400], name[400];
    snprintf(dir, sizeof(dir), "%s/%s", root, names[i]);
    snprintf(name, sizeof(name), "%s/%s", suite, names[i]);
    run_case(s, name, dir);
    free(names[i]);
  }
  return g_cases - before;
}

// ---- tests -------------------------------------------------------------------

TEST(all_vectors)
{
  struct aws_sigv4_signer *s = aws_sigv4_signer_new();
  int v4 = run_suite(s, "v4");
  int s3 = run_suite(s, "s3");
  int derived = run_suite(s, "derived");
  aws_sigv4_signer_free(s);
  fprintf(stderr, "sigv4 vectors: %d v4, %d s3, %d derived cases, %d checks, %d mismatches\n", v4,
          s3, derived, g_checks, g_mismatches);
  ASSERT(v4 >= 38 && s3 >= 6 && derived >= 6);
  ASSERT_EQ(g_mismatches, 0);
}

// The key cache must not mix up secrets, dates or regions: a warm signer that
// alternates between them gives the same signatures as fresh signers.
TEST(key_cache_isolation)
{
  struct aws_creds a = AWS_CREDS_INIT, b = AWS_CREDS_INIT;
  aws_creds_set(&a, "AKIDA", "secret-a", NULL, 0, "test");
  aws_creds_set(&b, "AKIDA", "secret-b", NULL, 0, "test");
  struct aws_sigv4_kv hdr[] = {{"Host", "example.amazonaws.com"}};
  struct aws_sigv4_request req = {.method = "GET", .path = "/", .headers = hdr, .n_headers = 1};
  const struct aws_creds *creds[] = {&a, &b};
  const char *regions[] = {"us-east-1", "eu-west-1"};
  int64_t times[] = {1440938160, 1440938160 + 86400};
  char fresh[8][65];
  for (int i = 0; i < 8; i++) {
    struct aws_sigv4_signer *s = aws_sigv4_signer_new();
    struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
    struct aws_sigv4_config cfg = {creds[i & 1],  regions[(i >> 1) & 1],   "service",
                                   times[i >> 2], AWS_SIGV4_FLAGS_DEFAULT, 0};
    ASSERT_EQ(aws_sigv4_sign_headers(s, &req, &cfg, &r, NULL), 0);
    memcpy(fresh[i], r.signature, 65);
    aws_sigv4_result_free(&r);
    aws_sigv4_signer_free(s);
  }
  struct aws_sigv4_signer *s = aws_sigv4_signer_new();
  struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
  for (int round = 0; round < 3; round++) {
    for (int i = 7; i >= 0; i--) {
      struct aws_sigv4_config cfg = {creds[i & 1],  regions[(i >> 1) & 1],   "service",
                                     times[i >> 2], AWS_SIGV4_FLAGS_DEFAULT, 0};
      ASSERT_EQ(aws_sigv4_sign_headers(s, &req, &cfg, &r, NULL), 0);
      ASSERT_STREQ(r.signature, fresh[i]);
      for (int j = 0; j < i; j++) ASSERT(strcmp(fresh[i], fresh[j]) != 0);
    }
  }
  aws_sigv4_result_free(&r);
  aws_sigv4_signer_free(s);
  aws_creds_clear(&a);
  aws_creds_clear(&b);
}

TEST(bad_input)
{
  struct aws_sigv4_signer *s = aws_sigv4_signer_new();
  struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
  struct aws_creds none = AWS_CREDS_INIT, ok = AWS_CREDS_INIT;
  aws_creds_set(&ok, "AKID", "secret", NULL, 0, "test");
  struct aws_sigv4_request req = {.method = "GET", .path = "/"};
  struct aws_sigv4_config cfg = {&none, "us-east-1", "s3", 0, AWS_SIGV4_FLAGS_S3, 0};
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(aws_sigv4_sign_headers(s, &req, &cfg, &r, &err), SMF_EINVAL);
  ASSERT_CONTAINS(err.message, "access key");
  cfg.creds = &ok;
  cfg.region = "";
  ASSERT_EQ(aws_sigv4_sign_headers(s, &req, &cfg, &r, &err), SMF_EINVAL);
  cfg.region = "us-east-1";
  ASSERT_EQ(aws_sigv4_sign_query(s, &req, &cfg, &r, &err), SMF_EINVAL);  // expires 0
  ASSERT_CONTAINS(err.message, "expiry");
  cfg.expires_s = 60;
  ASSERT_EQ(aws_sigv4_sign_query(s, &req, &cfg, &r, &err), 0);
  ASSERT_EQ(aws_sigv4_sign_chunk(s, &cfg, "short", "", 0, r.signature, NULL, &err), SMF_EINVAL);
  aws_sigv4_result_free(&r);
  aws_sigv4_signer_free(s);
  aws_creds_clear(&ok);
}

TEST(uri_encode)
{
  struct smf_buf b = SMF_BUF_INIT;
  const char in[] = "a b/c+d=e&f~g.h_i-j\xc3\xa9%";
  ASSERT_EQ(aws_sigv4_uri_encode(&b, in, strlen(in), true), 0);
  ASSERT_STREQ(smf_buf_cstr(&b), "a%20b/c%2Bd%3De%26f~g.h_i-j%C3%A9%25");
  smf_buf_reset(&b);
  ASSERT_EQ(aws_sigv4_uri_encode(&b, "x/y", 3, false), 0);
  ASSERT_STREQ(smf_buf_cstr(&b), "x%2Fy");
  smf_buf_free(&b);
}

int main(void)
{
  RUN_TEST(all_vectors);
  RUN_TEST(key_cache_isolation);
  RUN_TEST(bad_input);
  RUN_TEST(uri_encode);
  return TEST_REPORT();
}

// sigv4.c: AWS Signature Version 4 on OpenSSL 3 EVP (through crypto_lib.h's
// table: smflow loads libcrypto at run time).
//
// The signer owns one EVP_MAC_CTX (HMAC-SHA256) and one EVP_MD_CTX (SHA-256)
// and reuses them for every request: creating them per call costs more than
// the hashing itself. Derived signing keys are cached per (secret, date,
// region, service), so a request normally costs one SHA-256 of the canonical
// request and one HMAC. Scratch buffers live in the signer too, so a warmed-up
// signer does not allocate.
#include "aws/sigv4.h"

#include <openssl/core_names.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "smflow/crypto_lib.h"
#include "smflow/error.h"

#define SIGV4_ALGO "AWS4-HMAC-SHA256"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_CACHE_SLOTS 8

struct sigv4_key_slot {
  char *secret;  // owned copy, zeroed on eviction
  char date[9];  // yyyymmdd
  char *region;
  char *service;
  unsigned char key[32];
  uint64_t used;  // LRU tick; 0 = empty slot
};

// One header or query entry in the scratch arrays: offsets into a scratch buffer
// (offsets, not pointers, because the buffer may move while it grows).
struct sigv4_entry {
  size_t name, name_len;
  size_t value, value_len;
  size_t order;  // arrival order: repeated headers keep it
};

struct sigv4_vec {
  struct sigv4_entry *v;
  size_t n, cap;
};

struct aws_sigv4_signer {
  EVP_MAC *mac;
  EVP_MAC_CTX *hmac;
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  struct sigv4_key_slot cache[SIGV4_CACHE_SLOTS];
  uint64_t tick;
  struct smf_buf scratch;  // header/query names and values
  struct smf_buf signed_headers;
  struct smf_buf path;
  struct sigv4_vec entries;
};

static const char sigv4_hex[] = "0123456789abcdef";

// ---- hashing -------------------------------------------------------------

static void sigv4_hex_encode(const unsigned char *in, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = sigv4_hex[in[i] >> 4];
    out[2 * i + 1] = sigv4_hex[in[i] & 15];
  }
  out[2 * n] = '\0';
}

static void sigv4_hmac(struct aws_sigv4_signer *s, const void *key, size_t key_len,
                       const void *data, size_t len, unsigned char out[32])
{
  const struct smf_crypto_fns *c = smf_crypto();
  size_t out_len = 0;
  // The digest was set once in aws_sigv4_signer_new(); init only re-keys.
  if (c->EVP_MAC_init(s->hmac, key, key_len, NULL) != 1 ||
      c->EVP_MAC_update(s->hmac, data, len) != 1 ||
      c->EVP_MAC_final(s->hmac, out, &out_len, 32) != 1) {
    // Only reachable if OpenSSL itself is broken: there is no bad input here.
    abort();
  }
}

static void sigv4_sha256(struct aws_sigv4_signer *s, const void *data, size_t len,
                         unsigned char out[32])
{
  const struct smf_crypto_fns *c = smf_crypto();
  unsigned int out_len = 0;
  if (c->EVP_DigestInit_ex(s->md, s->sha256, NULL) != 1 ||
      c->EVP_DigestUpdate(s->md, data, len) != 1 ||
      c->EVP_DigestFinal_ex(s->md, out, &out_len) != 1) {
    abort();
  }
}

void aws_sigv4_sha256_hex(struct aws_sigv4_signer *s, const void *data, size_t len,
                          char hex_out[65])
{
  unsigned char d[32];
  sigv4_sha256(s, data, len, d);
  sigv4_hex_encode(d, 32, hex_out);
}

// Zero a buffer's whole allocation, then free it.
static void sigv4_buf_wipe(struct smf_buf *b)
{
  if (b->data) {
    smf_crypto_cleanse(b->data, b->cap);
  }
  smf_buf_free(b);
}

// ---- signer lifetime -------------------------------------------------------

static void sigv4_slot_clear(struct sigv4_key_slot *slot)
{
  if (slot->secret) {
    smf_crypto_clear_free(slot->secret, strlen(slot->secret));
  }
  free(slot->region);
  free(slot->service);
  smf_crypto_cleanse(slot, sizeof(*slot));
}

struct aws_sigv4_signer *aws_sigv4_signer_new(void)
{
  const struct smf_crypto_fns *c = smf_crypto();
  struct aws_sigv4_signer *s = smf_xcalloc(1, sizeof(*s));
  s->mac = c->EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  s->hmac = s->mac ? c->EVP_MAC_CTX_new(s->mac) : NULL;
  s->sha256 = c->EVP_MD_fetch(NULL, "SHA256", NULL);
  s->md = c->EVP_MD_CTX_new();
  if (s->hmac == NULL || s->sha256 == NULL || s->md == NULL) {
    goto fail;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      c->OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      c->OSSL_PARAM_construct_end(),
  };
  if (c->EVP_MAC_CTX_set_params(s->hmac, params) != 1) {
    goto fail;
  }
  return s;

fail:
  // OpenSSL without SHA-256/HMAC is a broken installation, like OOM.
  aws_sigv4_signer_free(s);
  abort();
}

void aws_sigv4_signer_free(struct aws_sigv4_signer *s)
{
  if (s == NULL) {
    return;
  }
  for (size_t i = 0; i < SIGV4_CACHE_SLOTS; i++) {
    sigv4_slot_clear(&s->cache[i]);
  }
  // A signer exists only once libcrypto is loaded (aws_sigv4_signer_new).
  const struct smf_crypto_fns *c = smf_crypto();
  c->EVP_MAC_CTX_free(s->hmac);
  c->EVP_MAC_free(s->mac);
  c->EVP_MD_CTX_free(s->md);
  c->EVP_MD_free(s->sha256);
  sigv4_buf_wipe(&s->scratch);  // header values: may hold a session token
  smf_buf_free(&s->signed_headers);
  sigv4_buf_wipe(&s->path);
  free(s->entries.v);
  free(s);
}

void aws_sigv4_result_free(struct aws_sigv4_result *r)
{
  if (r == NULL) {
    return;
  }
  // The canonical request and the query may carry the session token.
  sigv4_buf_wipe(&r->canonical_request);
  smf_buf_free(&r->string_to_sign);
  smf_buf_free(&r->authorization);
  sigv4_buf_wipe(&r->query);
  sigv4_buf_wipe(&r->token_store);
  memset(r, 0, sizeof(*r));
}

// ---- signing key cache -----------------------------------------------------

static bool sigv4_streq(const char *a, const char *b)
{
  return a && b && strcmp(a, b) == 0;
}

// The derived key for (secret, date, region, service): cached, else computed.
static const unsigned char *sigv4_signing_key(struct aws_sigv4_signer *s, const char *secret,
                                              const char *date, const char *region,
                                              const char *service)
{
  struct sigv4_key_slot *victim = &s->cache[0];
  for (size_t i = 0; i < SIGV4_CACHE_SLOTS; i++) {
    struct sigv4_key_slot *slot = &s->cache[i];
    if (slot->used && strcmp(slot->date, date) == 0 && sigv4_streq(slot->region, region) &&
        sigv4_streq(slot->service, service) && sigv4_streq(slot->secret, secret)) {
      slot->used = ++s->tick;
      return slot->key;
    }
    if (slot->used < victim->used) {
      victim = slot;
    }
  }
  sigv4_slot_clear(victim);
  size_t secret_len = strlen(secret);
  char *k0 = smf_xmalloc(secret_len + 5);
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, secret, secret_len + 1);
  unsigned char k[32];
  sigv4_hmac(s, k0, secret_len + 4, date, strlen(date), k);
  smf_crypto_clear_free(k0, secret_len + 5);
  sigv4_hmac(s, k, 32, region, strlen(region), k);
  sigv4_hmac(s, k, 32, service, strlen(service), k);
  sigv4_hmac(s, k, 32, "aws4_request", 12, victim->key);
  smf_crypto_cleanse(k, sizeof(k));
  victim->secret = smf_xstrdup(secret);
  memcpy(victim->date, date, 9);
  victim->region = smf_xstrdup(region);
  victim->service = smf_xstrdup(service);
  victim->used = ++s->tick;
  return victim->key;
}

// ---- encoding --------------------------------------------------------------

static bool sigv4_unreserved(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int aws_sigv4_uri_encode(struct smf_buf *b, const char *data, size_t len, bool keep_slash)
{
  static const char upper[] = "0123456789ABCDEF";
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    if (sigv4_unreserved(c) || (keep_slash && c == '/')) {
      continue;
    }
    char esc[3] = {'%', upper[c >> 4], upper[c & 15]};
    if (smf_buf_append(b, data + start, i - start) != 0 || smf_buf_append(b, esc, 3) != 0) {
      return SMF_EINVAL;
    }
    start = i + 1;
  }
  return smf_buf_append(b, data + start, len - start);
}

// RFC 3986 remove_dot_segments plus collapsing of empty segments, into s->path.
static void sigv4_normalize_path(struct aws_sigv4_signer *s, const char *path)
{
  struct smf_buf *out = &s->path;
  smf_buf_reset(out);
  // A trailing '/', '.' or '..' segment leaves the result ending in '/'.
  size_t plen = strlen(path);
  bool trailing = (plen > 0 && path[plen - 1] == '/') || smf_str_endswith(path, "/.") ||
                  smf_str_endswith(path, "/..");
  const char *p = path;
  while (*p) {
    while (*p == '/') {
      p++;
    }
    const char *seg = p;
    while (*p && *p != '/') {
      p++;
    }
    size_t n = (size_t)(p - seg);
    if (n == 0 || (n == 1 && seg[0] == '.')) {
      continue;
    }
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      while (out->len > 0 && out->data[out->len - 1] != '/') {
        out->len--;
      }
      if (out->len > 0) {
        out->len--;  // the '/' before the dropped segment
      }
      out->data[out->len] = '\0';
      continue;
    }
    smf_buf_append(out, "/", 1);
    smf_buf_append(out, seg, n);
  }
  if (out->len == 0 || trailing) {
    smf_buf_append(out, "/", 1);
  }
}

static void sigv4_append_canonical_uri(struct aws_sigv4_signer *s, struct smf_buf *cr,
                                       const char *path, unsigned flags)
{
  if (path == NULL || *path == '\0') {
    path = "/";
  }
  if (flags & AWS_SIGV4_NORMALIZE) {
    sigv4_normalize_path(s, path);
    path = smf_buf_cstr(&s->path);
  }
  if (flags & AWS_SIGV4_DOUBLE_ENCODE) {
    aws_sigv4_uri_encode(cr, path, strlen(path), true);
  } else {
    smf_buf_puts(cr, path);
  }
  smf_buf_append(cr, "\n", 1);
}

// ---- entries (headers and query parameters) --------------------------------

static struct sigv4_entry *sigv4_entry_add(struct aws_sigv4_signer *s)
{
  struct sigv4_vec *v = &s->entries;
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 16;
    v->v = smf_xrealloc(v->v, v->cap * sizeof(*v->v));
  }
  struct sigv4_entry *e = &v->v[v->n];
  e->order = v->n++;
  return e;
}

static void sigv4_query_add(struct aws_sigv4_signer *s, const char *name, const char *value)
{
  struct sigv4_entry *e = sigv4_entry_add(s);
  struct smf_buf *b = &s->scratch;
  e->name = b->len;
  aws_sigv4_uri_encode(b, name, strlen(name), false);
  e->name_len = b->len - e->name;
  smf_buf_append(b, "", 1);
  e->value = b->len;
  if (value) {
    aws_sigv4_uri_encode(b, value, strlen(value), false);
  }
  e->value_len = b->len - e->value;
  smf_buf_append(b, "", 1);
}

static bool sigv4_is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Lowercased, trimmed name; value trimmed with whitespace runs collapsed to one space.
static void sigv4_header_add(struct aws_sigv4_signer *s, const char *name, const char *value)
{
  struct sigv4_entry *e = sigv4_entry_add(s);
  struct smf_buf *b = &s->scratch;
  while (sigv4_is_space(*name)) {
    name++;
  }
  size_t nlen = strlen(name);
  while (nlen > 0 && sigv4_is_space(name[nlen - 1])) {
    nlen--;
  }
  e->name = b->len;
  smf_buf_append(b, name, nlen);
  for (size_t i = e->name; i < b->len; i++) {
    char c = b->data[i];
    if (c >= 'A' && c <= 'Z') {
      b->data[i] = (char)(c - 'A' + 'a');
    }
  }
  e->name_len = nlen;
  smf_buf_append(b, "", 1);
  e->value = b->len;
  const char *v = value ? value : "";
  while (*v) {
    const char *run = v;
    while (*v && !sigv4_is_space(*v)) {
      v++;
    }
    if (v > run) {
      if (b->len > e->value) {
        smf_buf_append(b, " ", 1);
      }
      smf_buf_append(b, run, (size_t)(v - run));
    }
    while (sigv4_is_space(*v)) {
      v++;
    }
  }
  e->value_len = b->len - e->value;
  smf_buf_append(b, "", 1);
}

static int sigv4_entry_cmp(const void *pa, const void *pb, const char *base)
{
  const struct sigv4_entry *a = pa, *b = pb;
  int c = strcmp(base + a->name, base + b->name);
  if (c == 0) {
    c = strcmp(base + a->value, base + b->value);
  }
  return c;
}

// qsort has no context argument; the signer is single-threaded by contract.
static _Thread_local const char *sigv4_sort_base;

static int sigv4_query_cmp(const void *pa, const void *pb)
{
  return sigv4_entry_cmp(pa, pb, sigv4_sort_base);
}

static int sigv4_header_cmp(const void *pa, const void *pb)
{
  const struct sigv4_entry *a = pa, *b = pb;
  int c = strcmp(sigv4_sort_base + a->name, sigv4_sort_base + b->name);
  if (c == 0) {
    c = (a->order > b->order) - (a->order < b->order);
  }
  return c;
}

static void sigv4_entries_reset(struct aws_sigv4_signer *s)
{
  s->entries.n = 0;
  smf_buf_reset(&s->scratch);
}

static void sigv4_entries_sort(struct aws_sigv4_signer *s, int (*cmp)(const void *, const void *))
{
  sigv4_sort_base = s->scratch.data;
  if (s->entries.n > 1) {
    qsort(s->entries.v, s->entries.n, sizeof(*s->entries.v), cmp);
  }
}

// "a=1&b=2\n" from the sorted query entries.
static void sigv4_append_query(struct aws_sigv4_signer *s, struct smf_buf *cr)
{
  const char *base = s->scratch.data;
  for (size_t i = 0; i < s->entries.n; i++) {
    const struct sigv4_entry *e = &s->entries.v[i];
    if (i > 0) {
      smf_buf_append(cr, "&", 1);
    }
    smf_buf_append(cr, base + e->name, e->name_len);
    smf_buf_append(cr, "=", 1);
    smf_buf_append(cr, base + e->value, e->value_len);
  }
  smf_buf_append(cr, "\n", 1);
}

// Canonical headers block and s->signed_headers, from the sorted header entries.
static void sigv4_append_headers(struct aws_sigv4_signer *s, struct smf_buf *cr)
{
  const char *base = s->scratch.data;
  smf_buf_reset(&s->signed_headers);
  for (size_t i = 0; i < s->entries.n; i++) {
    const struct sigv4_entry *e = &s->entries.v[i];
    bool repeat = i > 0 && strcmp(base + s->entries.v[i - 1].name, base + e->name) == 0;
    if (repeat) {
      smf_buf_append(cr, ",", 1);
    } else {
      if (i > 0) {
        smf_buf_append(cr, "\n", 1);
        smf_buf_append(&s->signed_headers, ";", 1);
      }
      smf_buf_append(cr, base + e->name, e->name_len);
      smf_buf_append(cr, ":", 1);
      smf_buf_append(&s->signed_headers, base + e->name, e->name_len);
    }
    smf_buf_append(cr, base + e->value, e->value_len);
  }
  smf_buf_append(cr, "\n\n", 2);
  smf_buf_append(cr, smf_buf_cstr(&s->signed_headers), s->signed_headers.len);
  smf_buf_append(cr, "\n", 1);
}

// ---- the signing steps shared by both modes --------------------------------

static int sigv4_check(const struct aws_sigv4_request *req, const struct aws_sigv4_config *cfg,
                       struct smf_error *err)
{
  if (cfg->creds == NULL || !aws_creds_valid(cfg->creds)) {
    return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: no access key id or secret to sign with");
  }
  if (cfg->region == NULL || *cfg->region == '\0' || cfg->service == NULL ||
      *cfg->service == '\0') {
    return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: signing region and service are required");
  }
  if (req != NULL && (req->method == NULL || *req->method == '\0')) {
    return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: request method is required");
  }
  if (strlen(cfg->region) + strlen(cfg->service) > 100) {
    return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: region or service name too long");
  }
  return 0;
}

// amz_date, scope and payload hash of *out.
static int sigv4_prepare(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                         const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out,
                         struct smf_error *err)
{
  time_t t = (time_t)cfg->time_s;
  struct tm tm;
  if (cfg->time_s < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
    return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: signing time out of range");
  }
  strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
  snprintf(out->scope, sizeof(out->scope), "%.8s/%s/%s/aws4_request", out->amz_date, cfg->region,
           cfg->service);
  if (req == NULL) {
    return 0;
  }
  const char *literal = req->payload_hash;
  if (literal == NULL && (cfg->flags & AWS_SIGV4_UNSIGNED_PAYLOAD)) {
    literal = "UNSIGNED-PAYLOAD";
  }
  if (literal != NULL) {
    if (strlen(literal) >= sizeof(out->payload_hash)) {
      return SMF_ERR_SET(err, SMF_EINVAL, "sigv4: payload hash value too long");
    }
    strcpy(out->payload_hash, literal);
  } else if (req->body_len == 0) {
    strcpy(out->payload_hash, SIGV4_EMPTY_SHA256);
  } else {
    aws_sigv4_sha256_hex(s, req->body, req->body_len, out->payload_hash);
  }
  return 0;
}

static bool sigv4_header_is(const char *name, const char *want)
{
  return strcasecmp(name, want) == 0;
}

// Collects the request's headers plus the ones the signer adds (header mode).
static void sigv4_collect_headers(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                                  const struct aws_sigv4_config *cfg,
                                  const struct aws_sigv4_result *out, bool header_mode)
{
  const char *token = cfg->creds->session_token;
  bool add_token = header_mode && token && *token && !(cfg->flags & AWS_SIGV4_OMIT_TOKEN);
  bool add_sha = header_mode && (cfg->flags & AWS_SIGV4_SIGN_BODY);
  sigv4_entries_reset(s);
  for (size_t i = 0; i < req->n_headers; i++) {
    const char *name = req->headers[i].name;
    if (name == NULL || sigv4_header_is(name, "authorization") ||
        (header_mode && sigv4_header_is(name, "x-amz-date")) ||
        (add_token && sigv4_header_is(name, "x-amz-security-token")) ||
        (add_sha && sigv4_header_is(name, "x-amz-content-sha256"))) {
      continue;
    }
    sigv4_header_add(s, name, req->headers[i].value);
  }
  if (header_mode) {
    sigv4_header_add(s, "x-amz-date", out->amz_date);
  }
  if (add_token) {
    sigv4_header_add(s, "x-amz-security-token", token);
  }
  if (add_sha) {
    sigv4_header_add(s, "x-amz-content-sha256", out->payload_hash);
  }
  sigv4_entries_sort(s, sigv4_header_cmp);
}

// String to sign from the finished canonical request, then the signature.
static void sigv4_finish(struct aws_sigv4_signer *s, const struct aws_sigv4_config *cfg,
                         struct aws_sigv4_result *out)
{
  char cr_hash[65];
  aws_sigv4_sha256_hex(s, out->canonical_request.data, out->canonical_request.len, cr_hash);
  smf_buf_reset(&out->string_to_sign);
  smf_buf_printf(&out->string_to_sign, SIGV4_ALGO "\n%s\n%s\n%s", out->amz_date, out->scope,
                 cr_hash);
  char date[9];
  memcpy(date, out->amz_date, 8);
  date[8] = '\0';
  const unsigned char *key =
      sigv4_signing_key(s, cfg->creds->secret_access_key, date, cfg->region, cfg->service);
  unsigned char sig[32];
  sigv4_hmac(s, key, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
  sigv4_hex_encode(sig, 32, out->signature);
}

static void sigv4_begin(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                        const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out)
{
  smf_buf_reset(&out->canonical_request);
  smf_buf_puts(&out->canonical_request, req->method);
  smf_buf_append(&out->canonical_request, "\n", 1);
  sigv4_append_canonical_uri(s, &out->canonical_request, req->path, cfg->flags);
}

// ---- public entry points -----------------------------------------------------

int aws_sigv4_sign_headers(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                           const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out,
                           struct smf_error *err)
{
  int rc = sigv4_check(req, cfg, err);
  if (rc == 0) {
    rc = sigv4_prepare(s, req, cfg, out, err);
  }
  if (rc != 0) {
    return rc;
  }
  struct smf_buf *cr = &out->canonical_request;
  sigv4_begin(s, req, cfg, out);
  sigv4_entries_reset(s);
  for (size_t i = 0; i < req->n_query; i++) {
    sigv4_query_add(s, req->query[i].name, req->query[i].value);
  }
  sigv4_entries_sort(s, sigv4_query_cmp);
  sigv4_append_query(s, cr);
  sigv4_collect_headers(s, req, cfg, out, true);
  sigv4_append_headers(s, cr);
  smf_buf_puts(cr, out->payload_hash);
  sigv4_finish(s, cfg, out);

  smf_buf_reset(&out->authorization);
  smf_buf_printf(
      &out->authorization, SIGV4_ALGO " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
      cfg->creds->access_key_id, out->scope, smf_buf_cstr(&s->signed_headers), out->signature);
  out->n_add = 0;
  out->add[out->n_add++] = (struct aws_sigv4_kv){"X-Amz-Date", out->amz_date};
  const char *token = cfg->creds->session_token;
  smf_buf_reset(&out->token_store);
  if (token && *token) {
    smf_buf_puts(&out->token_store, token);
    out->add[out->n_add++] = (struct aws_sigv4_kv){"X-Amz-Security-Token", out->token_store.data};
  }
  if (cfg->flags & AWS_SIGV4_SIGN_BODY) {
    out->add[out->n_add++] = (struct aws_sigv4_kv){"x-amz-content-sha256", out->payload_hash};
  }
  out->add[out->n_add++] = (struct aws_sigv4_kv){"Authorization", out->authorization.data};
  smf_buf_reset(&out->query);
  return 0;
}

int aws_sigv4_sign_query(struct aws_sigv4_signer *s, const struct aws_sigv4_request *req,
                         const struct aws_sigv4_config *cfg, struct aws_sigv4_result *out,
                         struct smf_error *err)
{
  int rc = sigv4_check(req, cfg, err);
  if (rc == 0 && (cfg->expires_s < 1 || cfg->expires_s > 604800)) {
    rc = SMF_ERR_SET(err, SMF_EINVAL, "sigv4: presigned URL expiry must be 1..604800 seconds");
  }
  if (rc == 0) {
    rc = sigv4_prepare(s, req, cfg, out, err);
  }
  if (rc != 0) {
    return rc;
  }
  // The headers come first: X-Amz-SignedHeaders is a query parameter. Their
  // canonical block waits in out->query until the query part is written.
  struct smf_buf *cr = &out->canonical_request;
  struct smf_buf *tmp = &out->query;
  smf_buf_reset(tmp);
  sigv4_collect_headers(s, req, cfg, out, false);
  sigv4_append_headers(s, tmp);

  const char *token = cfg->creds->session_token;
  bool sign_token = token && *token && !(cfg->flags & AWS_SIGV4_OMIT_TOKEN);
  char credential[256];
  snprintf(credential, sizeof(credential), "%s/%s", cfg->creds->access_key_id, out->scope);
  char expires[16];
  snprintf(expires, sizeof(expires), "%u", cfg->expires_s);
  sigv4_begin(s, req, cfg, out);
  sigv4_entries_reset(s);
  for (size_t i = 0; i < req->n_query; i++) {
    sigv4_query_add(s, req->query[i].name, req->query[i].value);
  }
  sigv4_query_add(s, "X-Amz-Algorithm", SIGV4_ALGO);
  sigv4_query_add(s, "X-Amz-Credential", credential);
  sigv4_query_add(s, "X-Amz-Date", out->amz_date);
  sigv4_query_add(s, "X-Amz-Expires", expires);
  sigv4_query_add(s, "X-Amz-SignedHeaders", smf_buf_cstr(&s->signed_headers));
  if (sign_token) {
    sigv4_query_add(s, "X-Amz-Security-Token", token);
  }
  sigv4_entries_sort(s, sigv4_query_cmp);
  sigv4_append_query(s, cr);
  smf_buf_append(cr, tmp->data, tmp->len);
  smf_buf_puts(cr, out->payload_hash);
  sigv4_finish(s, cfg, out);

  smf_buf_reset(tmp);
  smf_buf_puts(tmp, "X-Amz-Algorithm=" SIGV4_ALGO "&X-Amz-Credential=");
  aws_sigv4_uri_encode(tmp, credential, strlen(credential), false);
  smf_buf_printf(tmp, "&X-Amz-Date=%s&X-Amz-SignedHeaders=", out->amz_date);
  aws_sigv4_uri_encode(tmp, s->signed_headers.data, s->signed_headers.len, false);
  smf_buf_printf(tmp, "&X-Amz-Expires=%s", expires);
  if (token && *token) {
    smf_buf_puts(tmp, "&X-Amz-Security-Token=");
    aws_sigv4_uri_encode(tmp, token, strlen(token), false);
  }
  smf_buf_printf(tmp, "&X-Amz-Signature=%s", out->signature);
  smf_buf_reset(&out->authorization);
  out->n_add = 0;
  return 0;
}

int aws_sigv4_sign_chunk(struct aws_sigv4_signer *s, const struct aws_sigv4_config *cfg,
                         const char *prev_signature, const void *data, size_t len, char sig_out[65],
                         struct smf_buf *sts_out, struct smf_error *err)
{
  struct aws_sigv4_result r = AWS_SIGV4_RESULT_INIT;
  int rc = sigv4_check(NULL, cfg, err);
  if (rc == 0) {
    rc = sigv4_prepare(s, NULL, cfg, &r, err);
  }
  if (rc == 0 && (prev_signature == NULL || strlen(prev_signature) != 64)) {
    rc = SMF_ERR_SET(err, SMF_EINVAL, "sigv4: chunk needs the previous 64-digit signature");
  }
  if (rc != 0) {
    return rc;
  }
  char data_hash[65];
  aws_sigv4_sha256_hex(s, data, len, data_hash);
  struct smf_buf *sts = sts_out ? sts_out : &s->path;
  smf_buf_reset(sts);
  smf_buf_printf(sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n" SIGV4_EMPTY_SHA256 "\n%s",
                 r.amz_date, r.scope, prev_signature, data_hash);
  char date[9];
  memcpy(date, r.amz_date, 8);
  date[8] = '\0';
  const unsigned char *key =
      sigv4_signing_key(s, cfg->creds->secret_access_key, date, cfg->region, cfg->service);
  unsigned char sig[32];
  sigv4_hmac(s, key, 32, sts->data, sts->len, sig);
  sigv4_hex_encode(sig, 32, sig_out);
  return 0;
}

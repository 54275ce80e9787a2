// util.h: memory helpers (abort on OOM), growable buffers, arenas and small
// string utilities shared by every module.
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smf_error;

// ---- memory: these never return NULL; out of memory aborts (nvim style). ----
void *smf_xmalloc(size_t n);
void *smf_xcalloc(size_t count, size_t n);
void *smf_xrealloc(void *p, size_t n);
char *smf_xstrdup(const char *s);
char *smf_xstrndup(const char *s, size_t n);
/// printf into a new string. Caller frees.
char *smf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define SMF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

// ---- growable byte buffer, optionally capped. ----
struct smf_buf {
  char *data;   ///< always NUL-terminated when non-NULL
  size_t len;
  size_t cap;
  size_t max;   ///< 0 = unlimited; appends past it fail with SMF_EINVAL
};
#define SMF_BUF_INIT {0}

int smf_buf_append(struct smf_buf *b, const void *p, size_t n);
int smf_buf_puts(struct smf_buf *b, const char *s);
int smf_buf_printf(struct smf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int smf_buf_vprintf(struct smf_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/// Always returns a NUL-terminated string (an empty one for an empty buffer). Borrowed.
const char *smf_buf_cstr(struct smf_buf *b);
/// Hand the data to the caller (caller frees) and reset the buffer.
char *smf_buf_steal(struct smf_buf *b);
void smf_buf_reset(struct smf_buf *b);
void smf_buf_free(struct smf_buf *b);

// ---- arena: many small allocations freed together. ----
struct smf_arena_block;
struct smf_arena {
  struct smf_arena_block *head;
  size_t used;  ///< bytes used in head
  size_t total; ///< bytes handed out in all blocks (for statistics)
};
#define SMF_ARENA_INIT {0}

void *smf_arena_alloc(struct smf_arena *a, size_t n);  ///< zeroed, 16-byte aligned
char *smf_arena_strdup(struct smf_arena *a, const char *s);
char *smf_arena_strndup(struct smf_arena *a, const char *s, size_t n);
char *smf_arena_printf(struct smf_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smf_arena_free(struct smf_arena *a);

// ---- strings ----
bool smf_str_startswith(const char *s, const char *prefix);
bool smf_str_endswith(const char *s, const char *suffix);
/// Levenshtein distance, capped at `cap` (returns cap when it would exceed it).
size_t smf_str_distance(const char *a, const char *b, size_t cap);
/// The candidate closest to `word` if it is close enough to suggest, else NULL.
const char *smf_str_suggest(const char *word, const char *const *candidates, size_t n);

// ---- files ----
/// Read a whole file into a NUL-terminated malloc'd buffer. Caller frees *out.
int smf_file_read(const char *path, char **out, size_t *len, struct smf_error *err);
/// Write atomically: temp file in the same directory, fsync, rename, fsync dir.
int smf_file_write_atomic(const char *path, const void *data, size_t len, struct smf_error *err);
/// The same without the syncs: readers see the old file or the new one whole,
/// and a crash of the process leaves one of them; what a crash of the machine
/// leaves is the caller's to handle (it syncs the file later).
int smf_file_write_replace(const char *path, const void *data, size_t len, struct smf_error *err);
/// mkdir -p (mode 0755).
int smf_mkdir_p(const char *path, struct smf_error *err);
/// smflow's data directory (share/smflow): `given` when set, else
/// $SMFLOW_SHARE_DIR, else the installed one when it holds `probe` (a path
/// relative to it), else the source tree's. Static or environment storage.
const char *smf_share_dir(const char *given, const char *probe);

// ---- time ----
/// Milliseconds since the Unix epoch (wall clock).
int64_t smf_time_now_ms(void);
/// Parse a duration: "90s", "10m", "2h", "1d", "1500ms", or a bare number of seconds.
/// Result in milliseconds. Returns 0 or SMF_EINVAL.
int smf_duration_parse(const char *s, int64_t *out_ms);
/// Format milliseconds as a short human duration ("1m30s", "2.1s"). Writes into buf.
const char *smf_duration_format(int64_t ms, char *buf, size_t n);


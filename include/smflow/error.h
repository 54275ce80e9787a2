// error.h: smflow's error codes and the caller-owned error detail record.
//
// Functions return int: 0 on success, a negative SMF_E* code on failure. The
// detail (message, source position, remote cause) goes into a struct smf_error
// that the caller owns and passes down; the callee fills it with SMF_ERR_SET.
// Foreign errors (CURLcode, sqlite3_errmsg, libyaml marks, Lua tracebacks, AWS
// error codes) are translated at the module boundary and copied at once.
#pragma once

#include <stdarg.h>
#include <stddef.h>

// X(NAME, value, description): the single list of error codes.
#define SMF_ERRNO_MAP(X)                                          \
  X(NOMEM, -1, "out of memory")                                   \
  X(INVAL, -2, "invalid argument")                                \
  X(IO, -3, "input/output error")                                 \
  X(NOENT, -4, "not found")                                       \
  X(PARSE, -5, "parse error")                                     \
  X(VALIDATE, -6, "validation error")                             \
  X(STATE, -7, "state database error")                            \
  X(LOCKED, -8, "state directory is locked by another process")   \
  X(LUA, -9, "Lua error")                                         \
  X(HTTP, -10, "HTTP transport error")                            \
  X(AWS, -11, "AWS service error")                                \
  X(CANCELLED, -12, "cancelled")                                  \
  X(TIMEOUT, -13, "timed out")                                    \
  X(EXISTS, -14, "already exists")                                \
  X(CHILD, -15, "child process failed")                           \
  X(CREDS, -16, "no credentials")                                 \
  X(UNSUPPORTED, -17, "not supported")                            \
  X(CHANGED, -18, "pipeline changed since the run started")       \
  X(INTERNAL, -19, "internal error")

enum smf_errno {
  SMF_OK = 0,
#define SMF__ERRNO_ENUM(name, val, desc) SMF_E##name = (val),
  SMF_ERRNO_MAP(SMF__ERRNO_ENUM)
#undef SMF__ERRNO_ENUM
};

/// Step failure classes of SPEC §4 (`retry.on`). SMF_CLASS_NONE means "no class".
#define SMF_ERRCLASS_MAP(X)                       \
  X(NONE, "")                                     \
  X(ALGORITHM, "AlgorithmError")                  \
  X(CLIENT, "ClientError")                        \
  X(CAPACITY, "CapacityError")                    \
  X(INTERNAL_SERVER, "InternalServerError")       \
  X(RESOURCE_LIMIT, "ResourceLimitExceeded")      \
  X(THROTTLING, "Throttling")                     \
  X(SPOT_INTERRUPTION, "SpotInterruption")        \
  X(TIMEOUT, "Timeout")                           \
  X(HOOK, "HookError")

enum smf_errclass {
#define SMF__CLASS_ENUM(name, str) SMF_CLASS_##name,
  SMF_ERRCLASS_MAP(SMF__CLASS_ENUM)
#undef SMF__CLASS_ENUM
  SMF_CLASS__COUNT
};

/// Detail of one failure. Caller-owned, usually on the stack; fixed-size fields
/// so that filling it never allocates and it can be copied by assignment.
struct smf_error {
  int code;                 ///< SMF_E* (0 when no error was set)
  enum smf_errclass klass;  ///< step failure class, when one applies
  char message[1024];       ///< human-readable, complete sentence fragment
  const char *src_file;     ///< where in smflow's source it was set
  int src_line;
  const char *src_func;
  // Remote cause (AWS / HTTP), when there is one.
  int http_status;
  char aws_code[96];
  char request_id[96];
  // Pipeline position, when the error is about the pipeline file.
  char path[256];
  unsigned line, col;
};

#define SMF_ERROR_INIT {0}

/// Set code and message (printf-style) and the source position of the caller.
#define SMF_ERR_SET(err, code, ...) \
  smf_error_set_at((err), (code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/// Fill *err (may be NULL: then nothing happens). Returns code, so that
/// `return SMF_ERR_SET(err, SMF_EIO, "...")` reads naturally.
int smf_error_set_at(struct smf_error *err, int code, const char *file, int line,
                     const char *func, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
int smf_error_vset_at(struct smf_error *err, int code, const char *file, int line,
                      const char *func, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/// Prefix the existing message with "PREFIX: " (e.g. a step id).
void smf_error_prefix(struct smf_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// Reset to the empty state.
void smf_error_clear(struct smf_error *err);

/// Static description of an SMF_E* code ("unknown error" for anything else).
const char *smf_strerror(int code);
/// "SMF_EIO" style name of a code.
const char *smf_errname(int code);

/// "AlgorithmError" etc.; "" for SMF_CLASS_NONE.
const char *smf_errclass_name(enum smf_errclass c);
/// Parse a class name; returns -1 if unknown.
int smf_errclass_parse(const char *name);

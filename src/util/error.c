// error.c: error codes, names and the smf_error detail record.
#include <stdio.h>
#include <string.h>

#include "smflow/error.h"

int smf_error_vset_at(struct smf_error *err, int code, const char *file, int line,
                      const char *func, const char *fmt, va_list ap)
{
  if (err == NULL) {
    return code;
  }
  err->code = code;
  err->src_file = file;
  err->src_line = line;
  err->src_func = func;
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  return code;
}

int smf_error_set_at(struct smf_error *err, int code, const char *file, int line,
                     const char *func, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  smf_error_vset_at(err, code, file, line, func, fmt, ap);
  va_end(ap);
  return code;
}

void smf_error_prefix(struct smf_error *err, const char *fmt, ...)
{
  if (err == NULL) {
    return;
  }
  char prefix[256];
  char old[sizeof(err->message)];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  memcpy(old, err->message, sizeof(old));
  size_t cap = sizeof(err->message);
  size_t pl = strnlen(prefix, cap - 1);
  memcpy(err->message, prefix, pl);
  size_t at = pl;
  if (at + 2 < cap) {
    memcpy(err->message + at, ": ", 2);
    at += 2;
  }
  size_t ol = strnlen(old, cap - 1 - at);
  memcpy(err->message + at, old, ol);
  err->message[at + ol] = '\0';
}

void smf_error_clear(struct smf_error *err)
{
  if (err != NULL) {
    memset(err, 0, sizeof(*err));
  }
}

const char *smf_strerror(int code)
{
  switch (code) {
  case SMF_OK:
    return "success";
#define SMF__ERRNO_DESC(name, val, desc) \
  case SMF_E##name:                      \
    return desc;
    SMF_ERRNO_MAP(SMF__ERRNO_DESC)
#undef SMF__ERRNO_DESC
  default:
    return "unknown error";
  }
}

const char *smf_errname(int code)
{
  switch (code) {
  case SMF_OK:
    return "SMF_OK";
#define SMF__ERRNO_NAME(name, val, desc) \
  case SMF_E##name:                      \
    return "SMF_E" #name;
    SMF_ERRNO_MAP(SMF__ERRNO_NAME)
#undef SMF__ERRNO_NAME
  default:
    return "SMF_E?";
  }
}

static const char *const smf__class_names[] = {
#define SMF__CLASS_STR(name, str) str,
    SMF_ERRCLASS_MAP(SMF__CLASS_STR)
#undef SMF__CLASS_STR
};

const char *smf_errclass_name(enum smf_errclass c)
{
  if ((int)c < 0 || c >= SMF_CLASS__COUNT) {
    return "";
  }
  return smf__class_names[c];
}

int smf_errclass_parse(const char *name)
{
  for (int i = 1; i < SMF_CLASS__COUNT; i++) {
    if (strcmp(smf__class_names[i], name) == 0) {
      return i;
    }
  }
  return -1;
}

// log.c: human-readable or JSON-lines logging to stderr.
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "smflow/log.h"
#include "smflow/util.h"

static enum smf_log_level smf__level = SMF_LOG_INFO;
static bool smf__color = false;
static bool smf__json = false;

void smf_log_set_level(enum smf_log_level level) { smf__level = level; }
enum smf_log_level smf_log_get_level(void) { return smf__level; }
void smf_log_set_color(bool on) { smf__color = on; }
bool smf_log_color(void) { return smf__color; }
void smf_log_set_json(bool on) { smf__json = on; }

static const char *const smf__level_names[] = {"debug", "info", "warn", "error", "quiet"};
static const char *const smf__level_colors[] = {"\033[2m", "", "\033[33m", "\033[31m", ""};

static void smf__json_escape(FILE *f, const char *s)
{
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      fprintf(f, "\\%c", c);
    } else if (c < 0x20) {
      fprintf(f, "\\u%04x", c);
    } else {
      fputc(c, f);
    }
  }
}

static void smf__vlog(enum smf_log_level level, const char *step, const char *fmt, va_list ap)
{
  if (level < smf__level) {
    return;
  }
  char msg[4096];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (smf__json) {
    fprintf(stderr, "{\"ts\":%lld,\"level\":\"%s\"", (long long)smf_time_now_ms(),
            smf__level_names[level]);
    if (step) {
      fputs(",\"step\":\"", stderr);
      smf__json_escape(stderr, step);
      fputc('"', stderr);
    }
    fputs(",\"msg\":\"", stderr);
    smf__json_escape(stderr, msg);
    fputs("\"}\n", stderr);
    return;
  }
  const char *on = smf__color ? smf__level_colors[level] : "";
  const char *off = smf__color && *on ? "\033[0m" : "";
  const char *tag = level == SMF_LOG_WARN ? "warning: " : level == SMF_LOG_ERROR ? "error: " : "";
  if (step) {
    fprintf(stderr, "%s[%s]%s %s%s%s%s\n", smf__color ? "\033[36m" : "", step,
            smf__color ? "\033[0m" : "", on, tag, msg, off);
  } else {
    fprintf(stderr, "%s%s%s%s\n", on, tag, msg, off);
  }
}

void smf_log(enum smf_log_level level, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  smf__vlog(level, NULL, fmt, ap);
  va_end(ap);
}

void smf_log_step(enum smf_log_level level, const char *step, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  smf__vlog(level, step, fmt, ap);
  va_end(ap);
}

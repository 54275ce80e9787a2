// log.h: the logger. Human lines on stderr (with an optional step prefix and
// colour) or JSON lines; never give it secrets.
#pragma once

#include <stdbool.h>

enum smf_log_level { SMF_LOG_DEBUG, SMF_LOG_INFO, SMF_LOG_WARN, SMF_LOG_ERROR, SMF_LOG_QUIET };

void smf_log_set_level(enum smf_log_level level);
enum smf_log_level smf_log_get_level(void);
void smf_log_set_color(bool on);
bool smf_log_color(void);
void smf_log_set_json(bool on);

void smf_log(enum smf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/// A line that belongs to a step (prefix "[step] ").
void smf_log_step(enum smf_log_level level, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SMF_DEBUG(...) smf_log(SMF_LOG_DEBUG, __VA_ARGS__)
#define SMF_INFO(...) smf_log(SMF_LOG_INFO, __VA_ARGS__)
#define SMF_WARN(...) smf_log(SMF_LOG_WARN, __VA_ARGS__)
#define SMF_ERROR(...) smf_log(SMF_LOG_ERROR, __VA_ARGS__)

// metric_re.c: metric_definitions regexes, as SageMaker users write them, for
// POSIX regcomp.
//
// SageMaker's metric regexes are written in the Perl/Java style (the SDK's and
// AWS's examples use `\d`, `\S`, lazy `.*?`, `(?:...)`), while the local
// target matches with the C library's POSIX extended regexes. This rewrites the
// Perl-style shorthands into their ERE equivalents and reports which group of
// the rewritten expression is the first capturing group of the original:
//   \d \D (outside brackets)   -> [0-9] [^0-9]
//   \d \s \w \. \- \] \\ (in brackets) -> the characters they stand for
//   *? +? ?? {m,n}?            -> the greedy quantifier (the value is read as a
//                                 number prefix, so the capture's end rarely matters)
//   (?:...)                    -> (...), counted as a non-capturing group
//   \t \n \r                   -> the control character
// glibc's ERE understands \s \S \w \W \b and escaped punctuation itself.
#include <stdlib.h>
#include <string.h>

#include "target/local/local.h"

// One bracket expression starting after '['; appends its ERE form and returns
// the position after the closing ']'.
static const char *mre_bracket(const char *p, struct smf_buf *out)
{
  struct smf_buf set = SMF_BUF_INIT;
  bool negate = false, dash = false, close = false, caret = false;
  if (*p == '^') {
    negate = true;
    p++;
  }
  if (*p == ']') {  // a leading ']' is literal
    close = true;
    p++;
  }
  for (; *p && *p != ']'; p++) {
    if (*p != '\\' || p[1] == '\0') {
      if (*p == '[' && p[1] == ':') {  // [:class:] as it is
        const char *e = strstr(p + 2, ":]");
        if (e) {
          smf_buf_append(&set, p, (size_t)(e + 2 - p));
          p = e + 1;
          continue;
        }
      }
      smf_buf_append(&set, p, 1);
      continue;
    }
    char c = *++p;
    switch (c) {
    case 'd':
      smf_buf_puts(&set, "0-9");
      break;
    case 's':
      smf_buf_puts(&set, " \t\n\r\f\v");
      break;
    case 'w':
      smf_buf_puts(&set, "[:alnum:]_");
      break;
    case 't':
      smf_buf_puts(&set, "\t");
      break;
    case 'n':
      smf_buf_puts(&set, "\n");
      break;
    case 'r':
      smf_buf_puts(&set, "\r");
      break;
    case '-':
      dash = true;
      break;
    case ']':
      close = true;
      break;
    case '^':
      caret = true;
      break;
    default:
      smf_buf_append(&set, &c, 1);
      break;
    }
  }
  smf_buf_puts(out, negate ? "[^" : "[");
  if (close) {
    smf_buf_puts(out, "]");
  }
  smf_buf_append(out, smf_buf_cstr(&set), set.len);
  if (caret) {
    smf_buf_puts(out, "^");
  }
  if (dash) {
    smf_buf_puts(out, "-");
  }
  smf_buf_puts(out, "]");
  smf_buf_free(&set);
  return *p ? p + 1 : p;
}

char *local_metric_re_translate(const char *re, size_t *first_group)
{
  struct smf_buf out = SMF_BUF_INIT;
  size_t groups = 0;
  *first_group = 0;
  for (const char *p = re; *p;) {
    char c = *p;
    if (c == '\\' && p[1] != '\0') {
      const char *rep = NULL;
      switch (p[1]) {
      case 'd':
        rep = "[0-9]";
        break;
      case 'D':
        rep = "[^0-9]";
        break;
      case 't':
        rep = "\t";
        break;
      case 'n':
        rep = "\n";
        break;
      case 'r':
        rep = "\r";
        break;
      default:
        break;
      }
      if (rep) {
        smf_buf_puts(&out, rep);
      } else {
        smf_buf_append(&out, p, 2);
      }
      p += 2;
    } else if (c == '[') {
      p = mre_bracket(p + 1, &out);
    } else if (c == '(') {
      groups++;
      bool capturing = p[1] != '?';
      if (p[1] == '?' && p[2] == ':') {
        p += 2;
      }
      if (capturing && *first_group == 0) {
        *first_group = groups;
      }
      smf_buf_puts(&out, "(");
      p++;
    } else if ((c == '*' || c == '+' || c == '?' || c == '}') && p[1] == '?') {
      smf_buf_append(&out, p, 1);  // lazy -> greedy
      p += 2;
    } else {
      smf_buf_append(&out, p, 1);
      p++;
    }
  }
  smf_buf_cstr(&out);
  return smf_buf_steal(&out);
}

// config.c: parser for the AWS shared config and credentials files.
//
// The files are small, so the parsed form is a flat list of entries scanned
// from the end (the last assignment wins). Values may be secrets: they are
// zeroed when the file is freed.
#include "aws/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smflow/crypto_lib.h"
#include "smflow/error.h"
#include "smflow/util.h"

enum config_section_kind { SECTION_PROFILE, SECTION_SERVICES, SECTION_OTHER };

struct config_section {
  enum config_section_kind kind;
  char *name;
};

struct config_entry {
  size_t section;  // index into sections
  char *sub;       // parent key of a nested block, or NULL
  char *key;       // lowercase
  char *value;
  unsigned line;
};

struct aws_config_file {
  char *name;
  struct config_section *sections;
  size_t n_sections;
  struct config_entry *entries;
  size_t n_entries, cap_entries;
};

// Parser state between lines.
struct config_parser {
  struct aws_config_file *f;
  enum aws_config_kind kind;
  bool in_section;
  size_t section;
  size_t last;    // index of the last top-level entry of the section, or NO_ENTRY
  bool sub_open;  // entries[last] has an empty value: indented lines nest under it
  unsigned line;
  struct smf_error *err;
};

#define NO_ENTRY ((size_t)-1)

static char *config_trim(char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\r') {
    s++;
  }
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) {
    s[--n] = '\0';
  }
  return s;
}

static int config_error(struct config_parser *p, const char *msg)
{
  return SMF_ERR_SET(p->err, SMF_EPARSE, "%s:%u: %s", p->f->name, p->line, msg);
}

static size_t config_section_find(struct aws_config_file *f, enum config_section_kind kind,
                                  const char *name)
{
  for (size_t i = 0; i < f->n_sections; i++) {
    if (f->sections[i].kind == kind && strcmp(f->sections[i].name, name) == 0) {
      return i;
    }
  }
  f->sections = smf_xrealloc(f->sections, (f->n_sections + 1) * sizeof(*f->sections));
  f->sections[f->n_sections] = (struct config_section){kind, smf_xstrdup(name)};
  return f->n_sections++;
}

// The kind and name of a config-file section header's text ("profile dev").
static int config_section_name(struct config_parser *p, char **name, enum config_section_kind *kind)
{
  *kind = SECTION_PROFILE;
  if (p->kind != AWS_CONFIG_FILE_CONFIG || strcmp(*name, "default") == 0) {
    return 0;
  }
  char *sp = *name + strcspn(*name, " \t");
  if (*sp == '\0' && (strcmp(*name, "profile") == 0 || strcmp(*name, "services") == 0)) {
    return config_error(p, "section name missing after its type");
  }
  if (*sp == '\0') {
    *kind = SECTION_OTHER;  // the CLI ignores "[foo]" in the config file
    return 0;
  }
  *sp = '\0';
  char *arg = config_trim(sp + 1);
  if (*arg == '\0') {
    return config_error(p, "section name missing after its type");
  }
  *kind = strcmp(*name, "profile") == 0    ? SECTION_PROFILE
          : strcmp(*name, "services") == 0 ? SECTION_SERVICES
                                           : SECTION_OTHER;
  *name = arg;
  return 0;
}

// "[profile NAME]" etc. `s` is the trimmed line starting with '['.
static int config_parse_section(struct config_parser *p, char *s)
{
  char *close = strchr(s, ']');
  if (close == NULL) {
    return config_error(p, "section header without ']'");
  }
  char *rest = config_trim(close + 1);
  if (*rest != '\0' && *rest != '#' && *rest != ';') {
    return config_error(p, "unexpected text after section header");
  }
  *close = '\0';
  char *name = config_trim(s + 1);
  if (*name == '\0') {
    return config_error(p, "empty section name");
  }
  enum config_section_kind kind;
  int rc = config_section_name(p, &name, &kind);
  if (rc != 0) {
    return rc;
  }
  p->section = config_section_find(p->f, kind, name);
  p->in_section = true;
  p->last = NO_ENTRY;
  p->sub_open = false;
  return 0;
}

static size_t config_entry_add(struct config_parser *p, const char *sub, const char *key,
                               const char *value)
{
  struct aws_config_file *f = p->f;
  if (f->n_entries == f->cap_entries) {
    f->cap_entries = f->cap_entries ? f->cap_entries * 2 : 16;
    f->entries = smf_xrealloc(f->entries, f->cap_entries * sizeof(*f->entries));
  }
  struct config_entry *e = &f->entries[f->n_entries];
  *e = (struct config_entry){p->section, sub ? smf_xstrdup(sub) : NULL, smf_xstrdup(key),
                             smf_xstrdup(value), p->line};
  for (char *k = e->key; *k; k++) {
    *k = (char)tolower((unsigned char)*k);
  }
  return f->n_entries++;
}

// An indented line: a nested `key = value`, or a continuation of a value.
static int config_parse_indented(struct config_parser *p, char *s)
{
  if (p->last == NO_ENTRY) {
    return config_error(p, "indented line outside of a nested block");
  }
  struct config_entry *last = &p->f->entries[p->last];
  size_t at = strcspn(s, "=:");
  if (!p->sub_open) {
    // configparser's rule: a continuation line of a multi-line value.
    char *v = smf_xasprintf("%s\n%s", last->value, s);
    smf_crypto_clear_free(last->value, strlen(last->value));
    last->value = v;
    return 0;
  }
  if (s[at] == '\0') {
    return config_error(p, "expected 'key = value' in a nested block");
  }
  s[at] = '\0';
  char *key = config_trim(s);
  if (*key == '\0') {
    return config_error(p, "missing key before '='");
  }
  char *sub = smf_xstrdup(last->key);
  config_entry_add(p, sub, key, config_trim(s + at + 1));
  free(sub);
  return 0;
}

static int config_parse_assignment(struct config_parser *p, char *s)
{
  if (!p->in_section) {
    return config_error(p, "'key = value' before any [section]");
  }
  size_t at = strcspn(s, "=:");
  if (s[at] == '\0') {
    return config_error(p, "expected 'key = value'");
  }
  s[at] = '\0';
  char *key = config_trim(s);
  char *value = config_trim(s + at + 1);
  if (*key == '\0') {
    return config_error(p, "missing key before '='");
  }
  p->last = config_entry_add(p, NULL, key, value);
  p->sub_open = *value == '\0';
  return 0;
}

static int config_parse_line(struct config_parser *p, char *raw)
{
  bool indented = raw[0] == ' ' || raw[0] == '\t';
  char *s = config_trim(raw);
  if (*s == '\0' || *s == '#' || *s == ';') {
    return 0;
  }
  if (indented && p->in_section) {
    return config_parse_indented(p, s);
  }
  if (*s == '[') {
    return config_parse_section(p, s);
  }
  return config_parse_assignment(p, s);
}

int aws_config_file_parse(const char *text, const char *name, enum aws_config_kind kind,
                          struct aws_config_file **out, struct smf_error *err)
{
  struct aws_config_file *f = smf_xcalloc(1, sizeof(*f));
  f->name = smf_xstrdup(name);
  struct config_parser p = {.f = f, .kind = kind, .last = NO_ENTRY, .err = err};
  size_t len = strlen(text);
  char *copy = smf_xstrdup(text);
  int rc = 0;
  for (char *line = copy; line != NULL;) {
    char *nl = strchr(line, '\n');
    if (nl) {
      *nl = '\0';
    }
    p.line++;
    rc = config_parse_line(&p, line);
    if (rc != 0) {
      goto fail;
    }
    line = nl ? nl + 1 : NULL;
  }
  smf_crypto_clear_free(copy, len + 1);
  *out = f;
  return 0;

fail:
  smf_crypto_clear_free(copy, len + 1);
  aws_config_file_free(f);
  *out = NULL;
  return rc;
}

int aws_config_file_load(const char *path, enum aws_config_kind kind, struct aws_config_file **out,
                         struct smf_error *err)
{
  FILE *fp = fopen(path, "rb");
  if (fp == NULL && (errno == ENOENT || errno == ENOTDIR)) {
    return aws_config_file_parse("", path, kind, out, err);
  }
  if (fp == NULL) {
    return SMF_ERR_SET(err, SMF_EIO, "%s: %s", path, strerror(errno));
  }
  fclose(fp);
  char *text = NULL;
  size_t len = 0;
  int rc = smf_file_read(path, &text, &len, err);
  if (rc != 0) {
    return rc;
  }
  if (memchr(text, '\0', len) != NULL) {
    smf_crypto_clear_free(text, len);
    return SMF_ERR_SET(err, SMF_EPARSE, "%s: not a text file (NUL byte)", path);
  }
  rc = aws_config_file_parse(text, path, kind, out, err);
  smf_crypto_clear_free(text, len);
  return rc;
}

void aws_config_file_free(struct aws_config_file *f)
{
  if (f == NULL) {
    return;
  }
  for (size_t i = 0; i < f->n_entries; i++) {
    struct config_entry *e = &f->entries[i];
    smf_crypto_clear_free(e->value, strlen(e->value));
    free(e->key);
    free(e->sub);
  }
  for (size_t i = 0; i < f->n_sections; i++) {
    free(f->sections[i].name);
  }
  free(f->entries);
  free(f->sections);
  free(f->name);
  free(f);
}

// ---- lookups ---------------------------------------------------------------

static const struct config_entry *config_find(const struct aws_config_file *f,
                                              enum config_section_kind kind, const char *section,
                                              const char *sub, const char *key)
{
  if (f == NULL || section == NULL) {
    return NULL;
  }
  for (size_t i = f->n_entries; i-- > 0;) {
    const struct config_entry *e = &f->entries[i];
    const struct config_section *sec = &f->sections[e->section];
    if (sec->kind != kind || strcmp(sec->name, section) != 0 || strcasecmp(e->key, key) != 0) {
      continue;
    }
    if ((sub == NULL) != (e->sub == NULL) || (sub && strcasecmp(sub, e->sub) != 0)) {
      continue;
    }
    return e;
  }
  return NULL;
}

bool aws_config_has_profile(const struct aws_config_file *f, const char *profile)
{
  for (size_t i = 0; f && profile && i < f->n_sections; i++) {
    if (f->sections[i].kind == SECTION_PROFILE && strcmp(f->sections[i].name, profile) == 0) {
      return true;
    }
  }
  return false;
}

const char *aws_config_get(const struct aws_config_file *f, const char *profile, const char *key)
{
  const struct config_entry *e = config_find(f, SECTION_PROFILE, profile, NULL, key);
  return e ? e->value : NULL;
}

const char *aws_config_get_sub(const struct aws_config_file *f, const char *profile,
                               const char *sub, const char *key)
{
  const struct config_entry *e = config_find(f, SECTION_PROFILE, profile, sub, key);
  return e ? e->value : NULL;
}

const char *aws_config_get_service(const struct aws_config_file *f, const char *services,
                                   const char *service, const char *key)
{
  const struct config_entry *e = config_find(f, SECTION_SERVICES, services, service, key);
  return e ? e->value : NULL;
}

const char *aws_config_where(const struct aws_config_file *f, const char *profile, const char *key)
{
  const struct config_entry *e = config_find(f, SECTION_PROFILE, profile, NULL, key);
  if (e == NULL) {
    return NULL;
  }
  static _Thread_local char where[600];
  snprintf(where, sizeof(where), "%s:%u", f->name, e->line);
  return where;
}

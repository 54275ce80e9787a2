// xml.c: expat → struct aws_xml_node tree (see xml.h).
#include "aws/xml.h"

#include <expat.h>
#include <string.h>

#include "smflow/error.h"

struct xml_builder {
  struct aws_xml_doc *doc;
  struct aws_xml_node *cur;
  struct aws_xml_node *last_child_of_cur;
  struct smf_buf text;
  int depth;
  XML_Parser parser;
};

#define XML_MAX_DEPTH 64

static const char *local_name(const char *name)
{
  const char *sep = strrchr(name, '\x1f');  // namespace separator we gave expat
  return sep ? sep + 1 : name;
}

static void flush_text(struct xml_builder *b)
{
  if (b->cur && b->text.len) {
    size_t old = strlen(b->cur->text);
    char *t = smf_arena_alloc(&b->doc->arena, old + b->text.len + 1);
    memcpy(t, b->cur->text, old);
    memcpy(t + old, b->text.data, b->text.len);
    b->cur->text = t;
  }
  smf_buf_reset(&b->text);
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
  (void)attrs;
  struct xml_builder *b = ud;
  flush_text(b);
  if (b->depth >= XML_MAX_DEPTH) {
    XML_StopParser(b->parser, XML_FALSE);  // answers from AWS are shallow; refuse the rest
    return;
  }
  struct aws_xml_node *n = smf_arena_alloc(&b->doc->arena, sizeof *n);
  n->name = smf_arena_strdup(&b->doc->arena, local_name(name));
  n->text = "";
  n->parent = b->cur;
  if (!b->cur) {
    b->doc->root = n;
  } else if (!b->cur->child) {
    b->cur->child = n;
  } else {
    struct aws_xml_node *s = b->cur->child;
    while (s->next) {
      s = s->next;
    }
    s->next = n;
  }
  b->cur = n;
  b->depth++;
}

static void on_end(void *ud, const XML_Char *name)
{
  (void)name;
  struct xml_builder *b = ud;
  if (b->depth > XML_MAX_DEPTH) {
    return;
  }
  flush_text(b);
  b->cur = b->cur ? b->cur->parent : NULL;
  b->depth--;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
  struct xml_builder *b = ud;
  if (b->cur) {
    smf_buf_append(&b->text, s, (size_t)len);
  }
}

int aws_xml_parse(const char *data, size_t len, struct aws_xml_doc *doc, struct smf_error *err)
{
  memset(doc, 0, sizeof *doc);
  struct xml_builder b = {.doc = doc};
  XML_Parser p = XML_ParserCreateNS("UTF-8", '\x1f');
  if (!p) {
    return SMF_ERR_SET(err, SMF_ENOMEM, "XML parser");
  }
  b.parser = p;
  XML_SetUserData(p, &b);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  int rc = 0;
  if (XML_Parse(p, data, (int)len, 1) == XML_STATUS_ERROR) {
    rc = SMF_ERR_SET(err, SMF_EPARSE, "XML: %s at line %lu",
                     XML_ErrorString(XML_GetErrorCode(p)),
                     (unsigned long)XML_GetCurrentLineNumber(p));
  } else if (!doc->root) {
    rc = SMF_ERR_SET(err, SMF_EPARSE, "XML: no root element");
  }
  XML_ParserFree(p);
  smf_buf_free(&b.text);
  if (rc != 0) {
    aws_xml_free(doc);
  }
  return rc;
}

void aws_xml_free(struct aws_xml_doc *doc)
{
  smf_arena_free(&doc->arena);
  doc->root = NULL;
}

const struct aws_xml_node *aws_xml_child(const struct aws_xml_node *n, const char *name)
{
  for (const struct aws_xml_node *c = n ? n->child : NULL; c; c = c->next) {
    if (strcmp(c->name, name) == 0) {
      return c;
    }
  }
  return NULL;
}

const char *aws_xml_child_text(const struct aws_xml_node *n, const char *name)
{
  const struct aws_xml_node *c = aws_xml_child(n, name);
  return c ? c->text : NULL;
}

const struct aws_xml_node *aws_xml_find(const struct aws_xml_node *n, const char *name)
{
  if (!n) {
    return NULL;
  }
  if (strcmp(n->name, name) == 0) {
    return n;
  }
  for (const struct aws_xml_node *c = n->child; c; c = c->next) {
    const struct aws_xml_node *f = aws_xml_find(c, name);
    if (f) {
      return f;
    }
  }
  return NULL;
}

const struct aws_xml_node *aws_xml_next_same(const struct aws_xml_node *n)
{
  for (const struct aws_xml_node *s = n->next; s; s = s->next) {
    if (strcmp(s->name, n->name) == 0) {
      return s;
    }
  }
  return NULL;
}

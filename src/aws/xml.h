// xml.h: a small read-only XML tree built with expat, enough for AWS answers
// (S3 REST and STS query protocols): element names (namespace-free), text, and
// children in document order. The whole tree lives in one arena.
#pragma once

#include <stddef.h>

#include "smflow/util.h"

struct smf_error;

struct aws_xml_node {
  const char *name;              ///< local name, without any namespace prefix
  const char *text;              ///< concatenated character data ("" if none)
  struct aws_xml_node *parent;
  struct aws_xml_node *child;    ///< first child
  struct aws_xml_node *next;     ///< next sibling
};

struct aws_xml_doc {
  struct smf_arena arena;
  struct aws_xml_node *root;
};

/// Parse `len` bytes. On success *doc owns the tree (free with aws_xml_free).
int aws_xml_parse(const char *data, size_t len, struct aws_xml_doc *doc, struct smf_error *err);
void aws_xml_free(struct aws_xml_doc *doc);
/// First child element named `name`, or NULL.
const struct aws_xml_node *aws_xml_child(const struct aws_xml_node *n, const char *name);
/// Text of the first child named `name`, or NULL when there is none.
const char *aws_xml_child_text(const struct aws_xml_node *n, const char *name);
/// First element named `name` anywhere below (and including) n, depth first, or NULL.
const struct aws_xml_node *aws_xml_find(const struct aws_xml_node *n, const char *name);
/// Next sibling named like n, or NULL (iterate repeated elements).
const struct aws_xml_node *aws_xml_next_same(const struct aws_xml_node *n);

// cmd_graph.c: `smflow graph PIPELINE.yaml [--format dot|mermaid]` — the step
// graph as Graphviz dot or a Mermaid flowchart on stdout. Nodes are labelled
// "id (kind)"; an edge runs from each need to the step that needs it; steps with
// `when:` (and the edges into them) are dashed.
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "smflow/dsl.h"

// Text inside a dot double-quoted string.
static void cli__dot_str(FILE *f, const char *s)
{
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') {
      fputc('\\', f);
      fputc(*s, f);
    } else if (*s == '\n') {
      fputs("\\n", f);
    } else {
      fputc(*s, f);
    }
  }
}

static const char *cli__when_text(const struct dsl_node *when)
{
  if (when->type == DSL_STR) {
    return when->u.str.s;
  }
  return when->text != NULL ? when->text : "";
}

static void cli__graph_dot(const struct dsl_pipeline *p, FILE *f)
{
  fputs("digraph \"", f);
  cli__dot_str(f, p->name ? p->name : "pipeline");
  fputs("\" {\n  rankdir=LR;\n  node [shape=box];\n", f);
  for (size_t i = 0; i < p->n_steps; i++) {
    const struct dsl_step *s = &p->steps[i];
    fprintf(f, "  \"%s\" [label=\"%s (%s)\"", s->id, s->id, dsl_kind_name(s->kind));
    if (s->when != NULL) {
      fputs(", style=dashed, tooltip=\"when: ", f);
      cli__dot_str(f, cli__when_text(s->when));
      fputc('"', f);
    }
    fputs("];\n", f);
  }
  for (size_t i = 0; i < p->n_steps; i++) {
    const struct dsl_step *s = &p->steps[i];
    for (size_t k = 0; k < s->n_needs; k++) {
      fprintf(f, "  \"%s\" -> \"%s\"%s;\n", p->steps[s->need_idx[k]].id, s->id,
              s->when != NULL ? " [style=dashed]" : "");
    }
  }
  fputs("}\n", f);
}

// Mermaid node ids are s0, s1, ... (step ids may contain '-' or be keywords such as
// `end`); the label carries the step id.
static void cli__graph_mermaid(const struct dsl_pipeline *p, FILE *f)
{
  bool any_when = false;
  fputs("flowchart LR\n", f);
  for (size_t i = 0; i < p->n_steps; i++) {
    const struct dsl_step *s = &p->steps[i];
    fprintf(f, "  s%zu[\"%s (%s)\"]\n", i, s->id, dsl_kind_name(s->kind));
  }
  for (size_t i = 0; i < p->n_steps; i++) {
    const struct dsl_step *s = &p->steps[i];
    for (size_t k = 0; k < s->n_needs; k++) {
      fprintf(f, "  s%zu %s s%zu\n", s->need_idx[k], s->when != NULL ? "-.->" : "-->", i);
    }
    any_when |= s->when != NULL;
  }
  if (any_when) {
    fputs("  classDef when stroke-dasharray: 5 5\n", f);
    for (size_t i = 0; i < p->n_steps; i++) {
      if (p->steps[i].when != NULL) {
        fprintf(f, "  class s%zu when\n", i);
      }
    }
  }
}

int cli_cmd_graph(struct cli_ctx *ctx, int argc, char **argv)
{
  static const struct option opts[] = {
      {"format", required_argument, NULL, 'f'},
      {"param", required_argument, NULL, 'p'},
      {NULL, 0, NULL, 0},
  };
  struct cli_params params = {0};
  struct dsl_pipeline *p = NULL;
  const char *format = "dot";
  const char *path = NULL;
  int rc, c, n_pos = 0;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "-:", opts, NULL)) != -1) {
    if (c == 1) {  // "-" in optstring: operands come in order, whatever POSIXLY_CORRECT says
      path = path ? path : optarg;
      n_pos++;
    } else if (c == 'f') {
      format = optarg;
    } else if (c == 'p') {
      if (cli_params_add(&params, optarg) != 0) {
        rc = cli_usage_error(ctx, "--param needs NAME=VALUE, not '%s'", optarg);
        goto fail;
      }
    } else if (c == ':') {
      rc = cli_usage_error(ctx, "%s needs a value", argv[optind - 1]);
      goto fail;
    } else {
      rc = cli_usage_error(ctx, "unknown option '%s'", argv[optind - 1]);
      goto fail;
    }
  }
  for (; optind < argc; optind++) {  // operands after `--`
    path = path ? path : argv[optind];
    n_pos++;
  }
  if (strcmp(format, "dot") != 0 && strcmp(format, "mermaid") != 0) {
    rc = cli_usage_error(ctx, "--format must be dot or mermaid, not '%s'", format);
    goto fail;
  }
  if (n_pos != 1) {
    rc = cli_usage_error(ctx,
                         n_pos < 1 ? "missing the pipeline file" : "expected one pipeline file");
    goto fail;
  }
  rc = cli_pipeline_load(ctx, path, params.items, params.n, &p);
  if (rc != CLI_EXIT_OK) {
    goto fail;
  }
  if (strcmp(format, "dot") == 0) {
    cli__graph_dot(p, stdout);
  } else {
    cli__graph_mermaid(p, stdout);
  }
fail:
  dsl_pipeline_free(p);
  cli_params_free(&params);
  return rc;
}

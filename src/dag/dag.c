// dag.c: graph of step indexes with adjacency in both directions, a stable
// topological order (Kahn, smallest index first) and cycle extraction.
#include <stdlib.h>
#include <string.h>

#include "smflow/dag.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct dag_adj {
  size_t *v;
  size_t n, cap;
};

struct dag {
  size_t n;
  struct dag_adj *deps;        ///< deps[node] = what node needs
  struct dag_adj *dependents;  ///< dependents[dep] = who needs dep
  size_t *topo;                ///< after finalize
  size_t *pos;                 ///< pos[node] = index in topo
  bool finalized;
};

static void dag__push(struct dag_adj *a, size_t v)
{
  for (size_t i = 0; i < a->n; i++) {
    if (a->v[i] == v) {
      return;
    }
  }
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 4;
    a->v = smf_xrealloc(a->v, a->cap * sizeof(*a->v));
  }
  a->v[a->n++] = v;
}

struct dag *dag_new(size_t n)
{
  struct dag *g = smf_xcalloc(1, sizeof(*g));
  g->n = n;
  g->deps = smf_xcalloc(n ? n : 1, sizeof(*g->deps));
  g->dependents = smf_xcalloc(n ? n : 1, sizeof(*g->dependents));
  return g;
}

void dag_free(struct dag *g)
{
  if (g == NULL) {
    return;
  }
  for (size_t i = 0; i < g->n; i++) {
    free(g->deps[i].v);
    free(g->dependents[i].v);
  }
  free(g->deps);
  free(g->dependents);
  free(g->topo);
  free(g->pos);
  free(g);
}

void dag_add_edge(struct dag *g, size_t dep, size_t node)
{
  dag__push(&g->deps[node], dep);
  dag__push(&g->dependents[dep], node);
}

// Min-heap of ready node indexes, so the order is deterministic and follows
// the document where the graph leaves a choice.
static void dag__heap_push(size_t *h, size_t *n, size_t v)
{
  size_t i = (*n)++;
  h[i] = v;
  while (i > 0 && h[(i - 1) / 2] > h[i]) {
    size_t p = (i - 1) / 2, t = h[p];
    h[p] = h[i];
    h[i] = t;
    i = p;
  }
}

static size_t dag__heap_pop(size_t *h, size_t *n)
{
  size_t top = h[0];
  h[0] = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < *n && h[l] < h[m]) {
      m = l;
    }
    if (r < *n && h[r] < h[m]) {
      m = r;
    }
    if (m == i) {
      break;
    }
    size_t t = h[m];
    h[m] = h[i];
    h[i] = t;
    i = m;
  }
  return top;
}

// Find one cycle among the nodes Kahn's algorithm could not order (indeg > 0).
static void dag__find_cycle(const struct dag *g, const size_t *indeg, size_t **cycle,
                            size_t *cycle_len)
{
  size_t n = g->n;
  size_t start = 0;
  while (start < n && indeg[start] == 0) {
    start++;
  }
  // Walk backwards along dependencies that are themselves unordered; in a graph
  // where every remaining node has an unordered dependency, we must revisit a node.
  size_t *seen_at = smf_xmalloc(n * sizeof(*seen_at));
  for (size_t i = 0; i < n; i++) {
    seen_at[i] = (size_t)-1;
  }
  size_t *path = smf_xmalloc((n + 1) * sizeof(*path));
  size_t len = 0, cur = start;
  while (seen_at[cur] == (size_t)-1) {
    seen_at[cur] = len;
    path[len++] = cur;
    size_t next = cur;
    for (size_t i = 0; i < g->deps[cur].n; i++) {
      size_t d = g->deps[cur].v[i];
      if (indeg[d] > 0) {
        next = d;
        break;
      }
    }
    cur = next;
  }
  // path[seen_at[cur]..len) is the cycle, walked against the edges: reverse it
  // so that it reads in "needs" order forwards (a -> b means b needs a).
  size_t from = seen_at[cur], clen = len - from;
  size_t *c = smf_xmalloc((clen + 1) * sizeof(*c));
  for (size_t i = 0; i < clen; i++) {
    c[i] = path[len - 1 - i];
  }
  // Rotate so the smallest index leads, for stable messages.
  size_t minpos = 0;
  for (size_t i = 1; i < clen; i++) {
    if (c[i] < c[minpos]) {
      minpos = i;
    }
  }
  size_t *r = smf_xmalloc((clen + 1) * sizeof(*r));
  for (size_t i = 0; i < clen; i++) {
    r[i] = c[(minpos + i) % clen];
  }
  r[clen] = r[0];
  free(c);
  free(path);
  free(seen_at);
  *cycle = r;
  *cycle_len = clen + 1;
}

int dag_finalize(struct dag *g, size_t **cycle, size_t *cycle_len)
{
  size_t n = g->n;
  size_t *indeg = smf_xcalloc(n ? n : 1, sizeof(*indeg));
  size_t *heap = smf_xmalloc((n ? n : 1) * sizeof(*heap));
  size_t hn = 0, k = 0;
  free(g->topo);
  free(g->pos);
  g->topo = smf_xmalloc((n ? n : 1) * sizeof(*g->topo));
  g->pos = smf_xmalloc((n ? n : 1) * sizeof(*g->pos));
  for (size_t i = 0; i < n; i++) {
    indeg[i] = g->deps[i].n;
    if (indeg[i] == 0) {
      dag__heap_push(heap, &hn, i);
    }
  }
  while (hn > 0) {
    size_t v = dag__heap_pop(heap, &hn);
    g->pos[v] = k;
    g->topo[k++] = v;
    for (size_t i = 0; i < g->dependents[v].n; i++) {
      size_t w = g->dependents[v].v[i];
      if (--indeg[w] == 0) {
        dag__heap_push(heap, &hn, w);
      }
    }
  }
  free(heap);
  if (k < n) {
    if (cycle != NULL) {
      dag__find_cycle(g, indeg, cycle, cycle_len);
    }
    free(indeg);
    return SMF_EVALIDATE;
  }
  free(indeg);
  g->finalized = true;
  return 0;
}

size_t dag_size(const struct dag *g)
{
  return g->n;
}

const size_t *dag_topo(const struct dag *g)
{
  return g->topo;
}

const size_t *dag_deps(const struct dag *g, size_t node, size_t *n)
{
  *n = g->deps[node].n;
  return g->deps[node].v;
}

const size_t *dag_dependents(const struct dag *g, size_t node, size_t *n)
{
  *n = g->dependents[node].n;
  return g->dependents[node].v;
}

bool dag_is_upstream(const struct dag *g, size_t anc, size_t node)
{
  if (!g->finalized || anc == node) {
    return false;
  }
  if (g->pos[anc] > g->pos[node]) {
    return false;
  }
  // Iterative DFS backwards from node, pruned by topological position.
  size_t *stack = smf_xmalloc(g->n * sizeof(*stack));
  unsigned char *seen = smf_xcalloc(g->n, 1);
  size_t sp = 0;
  bool found = false;
  stack[sp++] = node;
  seen[node] = 1;
  while (sp > 0 && !found) {
    size_t v = stack[--sp];
    for (size_t i = 0; i < g->deps[v].n; i++) {
      size_t d = g->deps[v].v[i];
      if (d == anc) {
        found = true;
        break;
      }
      if (!seen[d] && g->pos[d] > g->pos[anc]) {
        seen[d] = 1;
        stack[sp++] = d;
      }
    }
  }
  free(stack);
  free(seen);
  return found;
}

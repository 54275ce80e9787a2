// ready.c: ready-set bookkeeping of one run over a finalized dag.
//
// Each node keeps the number of its dependencies that have not finished yet
// and two flags (some dependency blocked it / some dependency was skipped).
// When the count reaches zero the node is decided at once: READY, CANCELLED or
// SKIPPED (see dag.h). Settling a node visits its dependents once, so the work
// of a whole run is O(nodes + edges).
#include <stdlib.h>
#include <string.h>

#include "smflow/dag.h"
#include "smflow/error.h"
#include "smflow/util.h"

struct dag_run {
  const struct dag *g;
  size_t n;
  unsigned char *state;  ///< enum dag_state per node
  unsigned char *flags;  ///< DAG__F_* per node
  size_t *waiting;       ///< unfinished dependencies per PENDING node (valid after begin)
  size_t count[DAG_STATE__COUNT];
  bool begun;
  // Change lists handed to the caller; each node enters each list at most once per call.
  size_t *ready;
  size_t n_ready;
  size_t *settled;
  size_t n_settled;
  size_t *work;  ///< worklist of finished nodes whose dependents must be told
  size_t n_work;
};

enum {
  DAG__F_BLOCKED = 1,    ///< a dependency failed, was cancelled or is excluded
  DAG__F_SKIPPED = 2,    ///< a dependency was skipped
  DAG__F_PREMARKED = 4,  ///< SUCCEEDED by dag_run_premark
  DAG__F_MARK = 8,       ///< scratch mark of dag_run_only / dag_run_from
};

static const char *const dag__state_names[DAG_STATE__COUNT] = {
    "pending", "ready", "running", "succeeded", "failed", "skipped", "cancelled", "excluded",
};

const char *dag_state_name(enum dag_state s)
{
  return (unsigned)s < DAG_STATE__COUNT ? dag__state_names[s] : "unknown";
}

bool dag_state_is_final(enum dag_state s)
{
  return s == DAG_SUCCEEDED || s == DAG_FAILED || s == DAG_SKIPPED || s == DAG_CANCELLED ||
         s == DAG_EXCLUDED;
}

struct dag_run *dag_run_new(const struct dag *g)
{
  struct dag_run *r = smf_xcalloc(1, sizeof(*r));
  size_t n = dag_size(g), cap = n ? n : 1;
  r->g = g;
  r->n = n;
  r->state = smf_xcalloc(cap, 1);
  r->flags = smf_xcalloc(cap, 1);
  r->waiting = smf_xcalloc(cap, sizeof(*r->waiting));
  r->ready = smf_xmalloc(cap * sizeof(*r->ready));
  r->settled = smf_xmalloc(cap * sizeof(*r->settled));
  r->work = smf_xmalloc(cap * sizeof(*r->work));
  r->count[DAG_PENDING] = n;
  return r;
}

void dag_run_free(struct dag_run *r)
{
  if (r == NULL) {
    return;
  }
  free(r->state);
  free(r->flags);
  free(r->waiting);
  free(r->ready);
  free(r->settled);
  free(r->work);
  free(r);
}

static void dag__set(struct dag_run *r, size_t node, enum dag_state s)
{
  r->count[r->state[node]]--;
  r->count[s]++;
  r->state[node] = (unsigned char)s;
}

static void dag__changes_reset(struct dag_run *r)
{
  r->n_ready = 0;
  r->n_settled = 0;
  r->n_work = 0;
}

static void dag__changes_out(const struct dag_run *r, struct dag_changes *ch)
{
  if (ch != NULL) {
    ch->ready = r->ready;
    ch->n_ready = r->n_ready;
    ch->settled = r->settled;
    ch->n_settled = r->n_settled;
  }
}

// Every PENDING node not carrying DAG__F_MARK becomes EXCLUDED; marks are cleared.
static void dag__restrict_to_marked(struct dag_run *r)
{
  for (size_t i = 0; i < r->n; i++) {
    if (r->state[i] == DAG_PENDING && !(r->flags[i] & DAG__F_MARK)) {
      dag__set(r, i, DAG_EXCLUDED);
    }
    r->flags[i] &= (unsigned char)~DAG__F_MARK;
  }
}

int dag_run_only(struct dag_run *r, const size_t *nodes, size_t n)
{
  if (r->begun) {
    return SMF_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    if (nodes[i] >= r->n) {
      return SMF_EINVAL;
    }
  }
  for (size_t i = 0; i < n; i++) {
    r->flags[nodes[i]] |= DAG__F_MARK;
  }
  dag__restrict_to_marked(r);
  return 0;
}

int dag_run_from(struct dag_run *r, size_t node)
{
  if (r->begun || node >= r->n) {
    return SMF_EINVAL;
  }
  // Depth-first walk along dependents; the mark doubles as the visited set.
  size_t sp = 0;
  r->work[sp++] = node;
  r->flags[node] |= DAG__F_MARK;
  while (sp > 0) {
    size_t v = r->work[--sp], nd;
    const size_t *d = dag_dependents(r->g, v, &nd);
    for (size_t i = 0; i < nd; i++) {
      if (!(r->flags[d[i]] & DAG__F_MARK)) {
        r->flags[d[i]] |= DAG__F_MARK;
        r->work[sp++] = d[i];
      }
    }
  }
  dag__restrict_to_marked(r);
  return 0;
}

int dag_run_premark(struct dag_run *r, size_t node)
{
  if (r->begun || node >= r->n) {
    return SMF_EINVAL;
  }
  enum dag_state s = r->state[node];
  if (s != DAG_PENDING && s != DAG_EXCLUDED && s != DAG_SUCCEEDED) {
    return SMF_EINVAL;
  }
  dag__set(r, node, DAG_SUCCEEDED);
  r->flags[node] |= DAG__F_PREMARKED;
  return 0;
}

bool dag_run_is_premarked(const struct dag_run *r, size_t node)
{
  return node < r->n && (r->flags[node] & DAG__F_PREMARKED) != 0;
}

bool dag_run_find_unsatisfied(const struct dag_run *r, size_t *node, size_t *dep)
{
  const size_t *topo = dag_topo(r->g);
  for (size_t k = 0; k < r->n; k++) {
    size_t v = topo[k], nd;
    if (r->state[v] != DAG_PENDING) {
      continue;
    }
    const size_t *d = dag_deps(r->g, v, &nd);
    for (size_t i = 0; i < nd; i++) {
      if (r->state[d[i]] == DAG_EXCLUDED) {
        *node = v;
        *dep = d[i];
        return true;
      }
    }
  }
  return false;
}

// Fold the outcome of the finished dependency `dep` into the PENDING node `v`.
static void dag__absorb(struct dag_run *r, size_t v, size_t dep)
{
  switch ((enum dag_state)r->state[dep]) {
  case DAG_FAILED:
  case DAG_CANCELLED:
  case DAG_EXCLUDED:
    r->flags[v] |= DAG__F_BLOCKED;
    break;
  case DAG_SKIPPED:
    r->flags[v] |= DAG__F_SKIPPED;
    break;
  default:
    break;
  }
}

// All dependencies of the PENDING node `v` have finished: decide it.
static void dag__decide(struct dag_run *r, size_t v)
{
  if (r->flags[v] & DAG__F_BLOCKED) {
    dag__set(r, v, DAG_CANCELLED);
  } else if (r->flags[v] & DAG__F_SKIPPED) {
    dag__set(r, v, DAG_SKIPPED);
  } else {
    dag__set(r, v, DAG_READY);
    r->ready[r->n_ready++] = v;
    return;
  }
  r->settled[r->n_settled++] = v;
  r->work[r->n_work++] = v;
}

// Tell the dependents of every node on the worklist that it finished; nodes
// settled on the way join the worklist. Each node is pushed at most once.
static void dag__propagate(struct dag_run *r)
{
  while (r->n_work > 0) {
    size_t v = r->work[--r->n_work], nd;
    const size_t *d = dag_dependents(r->g, v, &nd);
    for (size_t i = 0; i < nd; i++) {
      size_t w = d[i];
      if (r->state[w] != DAG_PENDING) {
        continue;  // excluded, pre-marked, or cancelled by dag_run_cancel
      }
      dag__absorb(r, w, v);
      if (--r->waiting[w] == 0) {
        dag__decide(r, w);
      }
    }
  }
}

int dag_run_begin(struct dag_run *r, struct dag_changes *ch)
{
  if (r->begun) {
    return SMF_EINVAL;
  }
  r->begun = true;
  dag__changes_reset(r);
  const size_t *topo = dag_topo(r->g);
  // Count the unfinished dependencies of every node still to run, folding in
  // those already final (pre-marked or excluded).
  for (size_t i = 0; i < r->n; i++) {
    if (r->state[i] != DAG_PENDING) {
      continue;
    }
    size_t nd;
    const size_t *d = dag_deps(r->g, i, &nd);
    r->waiting[i] = 0;
    for (size_t j = 0; j < nd; j++) {
      if (dag_state_is_final(r->state[d[j]])) {
        dag__absorb(r, i, d[j]);
      } else {
        r->waiting[i]++;
      }
    }
  }
  // Decide in topological order so that the first ready nodes come out in it.
  for (size_t k = 0; k < r->n; k++) {
    size_t v = topo[k];
    if (r->state[v] == DAG_PENDING && r->waiting[v] == 0) {
      dag__decide(r, v);
      dag__propagate(r);
    }
  }
  dag__changes_out(r, ch);
  return 0;
}

int dag_run_start(struct dag_run *r, size_t node)
{
  if (!r->begun || node >= r->n || r->state[node] != DAG_READY) {
    return SMF_EINVAL;
  }
  dag__set(r, node, DAG_RUNNING);
  return 0;
}

int dag_run_done(struct dag_run *r, size_t node, enum dag_state result, struct dag_changes *ch)
{
  if (!r->begun || node >= r->n) {
    return SMF_EINVAL;
  }
  if (r->state[node] != DAG_READY && r->state[node] != DAG_RUNNING) {
    return SMF_EINVAL;
  }
  if (result != DAG_SUCCEEDED && result != DAG_FAILED && result != DAG_SKIPPED &&
      result != DAG_CANCELLED) {
    return SMF_EINVAL;
  }
  dag__changes_reset(r);
  dag__set(r, node, result);
  r->work[r->n_work++] = node;
  dag__propagate(r);
  dag__changes_out(r, ch);
  return 0;
}

int dag_run_cancel(struct dag_run *r, struct dag_changes *ch)
{
  dag__changes_reset(r);
  for (size_t i = 0; i < r->n; i++) {
    if (r->state[i] == DAG_PENDING || r->state[i] == DAG_READY) {
      dag__set(r, i, DAG_CANCELLED);
      r->settled[r->n_settled++] = i;
    }
  }
  dag__changes_out(r, ch);
  return 0;
}

enum dag_state dag_run_state(const struct dag_run *r, size_t node)
{
  return (enum dag_state)r->state[node];
}

size_t dag_run_count(const struct dag_run *r, enum dag_state s)
{
  return (unsigned)s < DAG_STATE__COUNT ? r->count[s] : 0;
}

bool dag_run_complete(const struct dag_run *r)
{
  return r->begun && r->count[DAG_PENDING] == 0 && r->count[DAG_READY] == 0 &&
         r->count[DAG_RUNNING] == 0;
}

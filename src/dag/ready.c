// ready.c: ready-set bookkeeping of one run over a finalized dag.
//
// Each node keeps the number of its dependencies that have not finished yet
// and a flag (some dependency was skipped). A dependency that fails or is
// cancelled cancels its PENDING dependents at once; otherwise a node is decided
// when the count reaches zero: READY or SKIPPED (see dag.h). Settling a node
// visits its dependents once, so the work of a whole run is O(nodes + edges).
// Consequences are followed depth first, each dependent fully before the next,
// in dag_dependents order: the order in which the engine reports them.
#include <stdint.h>
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
  size_t *cause;         ///< per settled node: the dependency that settled it, or SIZE_MAX
  size_t *pos;           ///< per node on the walk stack: next dependent to visit
  size_t count[DAG_STATE__COUNT];
  bool begun;
  // Change lists handed to the caller; each node enters each list at most once per call.
  size_t *ready;
  size_t n_ready;
  size_t *settled;
  size_t n_settled;
  size_t *changed;
  size_t n_changed;
  size_t *work;  ///< walk stack of finished nodes whose dependents must be told
  size_t n_work;
  bool selecting;  ///< dag_run_only / dag_run_from was called
};

enum {
  DAG__F_BLOCKED = 1,    ///< a dependency was final and blocking at begin
  DAG__F_SKIPPED = 2,    ///< a dependency was skipped
  DAG__F_PREMARKED = 4,  ///< SUCCEEDED by dag_run_premark
  DAG__F_MARK = 8,       ///< scratch mark of dag_run_only / dag_run_from
  DAG__F_SELECTED = 16,  ///< chosen by dag_run_only / dag_run_from
  /// Pre-marked, outside the selection, with a selected node upstream: it relays
  /// that node's completion to its dependents (see dag__relay_notify).
  DAG__F_RELAY = 32,
  DAG__F_RBLOCK = 64,  ///< a relay whose upstream failed or was cancelled
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
  r->cause = smf_xmalloc(cap * sizeof(*r->cause));
  r->pos = smf_xmalloc(cap * sizeof(*r->pos));
  r->changed = smf_xmalloc(cap * sizeof(*r->changed));
  for (size_t i = 0; i < n; i++) {
    r->cause[i] = SIZE_MAX;
  }
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
  free(r->cause);
  free(r->pos);
  free(r->changed);
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
  r->n_changed = 0;
  r->n_work = 0;
}

static void dag__changes_out(const struct dag_run *r, struct dag_changes *ch)
{
  if (ch != NULL) {
    ch->ready = r->ready;
    ch->n_ready = r->n_ready;
    ch->settled = r->settled;
    ch->n_settled = r->n_settled;
    ch->changed = r->changed;
    ch->n_changed = r->n_changed;
  }
}

// Nodes carrying DAG__F_MARK join the selection; every PENDING node outside it
// becomes EXCLUDED, and a selected node excluded by an earlier call comes back.
static void dag__select_marked(struct dag_run *r)
{
  r->selecting = true;
  for (size_t i = 0; i < r->n; i++) {
    if (r->flags[i] & DAG__F_MARK) {
      r->flags[i] = (unsigned char)((r->flags[i] & ~DAG__F_MARK) | DAG__F_SELECTED);
    }
    bool sel = (r->flags[i] & DAG__F_SELECTED) != 0;
    if (!sel && r->state[i] == DAG_PENDING) {
      dag__set(r, i, DAG_EXCLUDED);
    } else if (sel && r->state[i] == DAG_EXCLUDED) {
      dag__set(r, i, DAG_PENDING);
    }
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
  dag__select_marked(r);
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
  dag__select_marked(r);
  return 0;
}

static int dag__premark(struct dag_run *r, size_t node, enum dag_state as)
{
  if (r->begun || node >= r->n) {
    return SMF_EINVAL;
  }
  enum dag_state s = r->state[node];
  if (s != DAG_PENDING && s != DAG_EXCLUDED && s != DAG_SUCCEEDED && s != DAG_SKIPPED) {
    return SMF_EINVAL;
  }
  dag__set(r, node, as);
  r->flags[node] |= DAG__F_PREMARKED;
  return 0;
}

int dag_run_premark(struct dag_run *r, size_t node)
{
  return dag__premark(r, node, DAG_SUCCEEDED);
}

int dag_run_premark_skipped(struct dag_run *r, size_t node)
{
  return dag__premark(r, node, DAG_SKIPPED);
}

bool dag_run_is_premarked(const struct dag_run *r, size_t node)
{
  return node < r->n && (r->flags[node] & DAG__F_PREMARKED) != 0;
}

size_t dag_run_cause(const struct dag_run *r, size_t node)
{
  return node < r->n ? r->cause[node] : SIZE_MAX;
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

static bool dag__blocking(enum dag_state s)
{
  return s == DAG_FAILED || s == DAG_CANCELLED || s == DAG_EXCLUDED;
}

// Record a change for the caller.
static void dag__report(struct dag_run *r, size_t v)
{
  if (r->state[v] == DAG_READY) {
    r->ready[r->n_ready++] = v;
  } else {
    r->settled[r->n_settled++] = v;
  }
  r->changed[r->n_changed++] = v;
}

// Settle the PENDING node `v` as SKIPPED or CANCELLED because of `dep`, and
// put it on the walk stack so that its dependents hear of it.
static void dag__settle(struct dag_run *r, size_t v, enum dag_state s, size_t dep)
{
  dag__set(r, v, s);
  r->cause[v] = dep;
  dag__report(r, v);
  r->pos[v] = 0;
  r->work[r->n_work++] = v;
}

// Every dependency of the PENDING node `v` has finished, none blocking: READY,
// or SKIPPED because of its first skipped dependency (dag_deps order).
static void dag__decide(struct dag_run *r, size_t v)
{
  if (r->flags[v] & DAG__F_SKIPPED) {
    size_t nd;
    const size_t *d = dag_deps(r->g, v, &nd);
    for (size_t i = 0; i < nd; i++) {
      if (r->state[d[i]] == DAG_SKIPPED) {
        dag__settle(r, v, DAG_SKIPPED, d[i]);
        return;
      }
    }
  }
  dag__set(r, v, DAG_READY);
  dag__report(r, v);
}

// The PENDING node `w` hears that its dependency `dep` finished.
static void dag__notify(struct dag_run *r, size_t w, size_t dep)
{
  enum dag_state s = r->state[dep];
  if (r->flags[dep] & DAG__F_RBLOCK) {
    dag__settle(r, w, DAG_CANCELLED, r->cause[dep]);
    return;
  }
  if (dag__blocking(s)) {
    dag__settle(r, w, DAG_CANCELLED, dep);
    return;
  }
  if (s == DAG_SKIPPED) {
    r->flags[w] |= DAG__F_SKIPPED;
  }
  if (--r->waiting[w] == 0) {
    dag__decide(r, w);
  }
}

// The relay `w` hears that `dep` finished. Once every selected node upstream of
// it has finished, it tells its own dependents, as if it had just finished: a
// selected node downstream waits for all of them and sees their new outputs. A
// failure upstream is passed on (the dependents are cancelled naming it); a skip
// is not (the relay still has its earlier outputs).
static void dag__relay_notify(struct dag_run *r, size_t w, size_t dep)
{
  bool rblock = (r->flags[dep] & DAG__F_RBLOCK) != 0;
  if ((rblock || dag__blocking(r->state[dep])) && !(r->flags[w] & DAG__F_RBLOCK)) {
    r->flags[w] |= DAG__F_RBLOCK;
    r->cause[w] = rblock ? r->cause[dep] : dep;
  }
  if (--r->waiting[w] == 0) {
    r->pos[w] = 0;
    r->work[r->n_work++] = w;
  }
}

// Tell the dependents of the nodes on the walk stack that they finished, and
// follow what settles, depth first. Each node enters the stack at most once in
// a run (settled nodes; dag_run_done's node), so the stack holds at most n.
static void dag__walk(struct dag_run *r)
{
  while (r->n_work > 0) {
    size_t v = r->work[r->n_work - 1], nd;
    const size_t *d = dag_dependents(r->g, v, &nd);
    if (r->pos[v] == nd) {
      r->n_work--;
      continue;
    }
    size_t w = d[r->pos[v]++];
    if (r->state[w] == DAG_PENDING) {  // else excluded, pre-marked or already settled
      dag__notify(r, w, v);
    } else if (r->flags[w] & DAG__F_RELAY) {
      dag__relay_notify(r, w, v);
    }
  }
}

// Count the unfinished dependencies of the PENDING node `v`, folding in those
// already final (pre-marked or excluded).
static void dag__count_waiting(struct dag_run *r, size_t v)
{
  size_t nd;
  const size_t *d = dag_deps(r->g, v, &nd);
  r->waiting[v] = 0;
  for (size_t j = 0; j < nd; j++) {
    enum dag_state s = r->state[d[j]];
    if (!dag_state_is_final(s) || (r->flags[d[j]] & DAG__F_RELAY)) {
      r->waiting[v]++;
    } else if (dag__blocking(s) && !(r->flags[v] & DAG__F_BLOCKED)) {
      r->flags[v] |= DAG__F_BLOCKED;
      r->cause[v] = d[j];
    } else if (s == DAG_SKIPPED) {
      r->flags[v] |= DAG__F_SKIPPED;
    }
  }
}

// With a selection: find the relays, in topological order — pre-marked nodes
// outside the selection that have a PENDING node or a relay among their
// dependencies — and count what each waits for.
static void dag__find_relays(struct dag_run *r)
{
  if (!r->selecting) {
    return;
  }
  const size_t *topo = dag_topo(r->g);
  for (size_t k = 0; k < r->n; k++) {
    size_t v = topo[k], nd;
    if (!(r->flags[v] & DAG__F_PREMARKED) || (r->flags[v] & DAG__F_SELECTED)) {
      continue;
    }
    const size_t *d = dag_deps(r->g, v, &nd);
    r->waiting[v] = 0;
    for (size_t j = 0; j < nd; j++) {
      if (r->state[d[j]] == DAG_PENDING || (r->flags[d[j]] & DAG__F_RELAY)) {
        r->waiting[v]++;
      }
    }
    if (r->waiting[v] > 0) {
      r->flags[v] |= DAG__F_RELAY;
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
  dag__find_relays(r);
  for (size_t i = 0; i < r->n; i++) {
    if (r->state[i] == DAG_PENDING) {
      dag__count_waiting(r, i);
    }
  }
  // Decide in index order; what settles is followed at once.
  for (size_t v = 0; v < r->n; v++) {
    if (r->state[v] != DAG_PENDING) {
      continue;
    }
    if (r->flags[v] & DAG__F_BLOCKED) {
      dag__settle(r, v, DAG_CANCELLED, r->cause[v]);
    } else if (r->waiting[v] == 0) {
      dag__decide(r, v);
    }
    dag__walk(r);
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
  r->pos[node] = 0;
  r->work[r->n_work++] = node;
  dag__walk(r);
  dag__changes_out(r, ch);
  return 0;
}

int dag_run_cancel(struct dag_run *r, struct dag_changes *ch)
{
  dag__changes_reset(r);
  for (size_t i = 0; i < r->n; i++) {
    if (r->state[i] == DAG_PENDING || r->state[i] == DAG_READY) {
      dag__set(r, i, DAG_CANCELLED);
      dag__report(r, i);
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

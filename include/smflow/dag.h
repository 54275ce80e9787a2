// dag.h: the step graph — edges, topological order, cycle detection, ancestry,
// and the ready-set bookkeeping the engine drives a run with.
//
// Nodes are 0..n-1 (the pipeline's step indexes). An edge dep -> node means
// `node` needs `dep`. A struct dag is immutable after dag_finalize.
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct dag;

/// New graph of n nodes and no edges. Caller frees with dag_free.
struct dag *dag_new(size_t n);
void dag_free(struct dag *g);
/// Add the edge dep -> node (node needs dep). Duplicate edges are ignored.
void dag_add_edge(struct dag *g, size_t dep, size_t node);
/// Compute the topological order. Returns 0, or SMF_EVALIDATE when there is a
/// cycle: then *cycle (caller frees) holds its nodes in order, c0 -> c1 -> ... -> c0,
/// first node repeated at the end, and *cycle_len counts them with the repeat.
int dag_finalize(struct dag *g, size_t **cycle, size_t *cycle_len);

size_t dag_size(const struct dag *g);
/// Topological order (dependencies first; ties in index order). Borrowed; after finalize.
const size_t *dag_topo(const struct dag *g);
/// Direct dependencies / dependents of a node. Borrowed.
const size_t *dag_deps(const struct dag *g, size_t node, size_t *n);
const size_t *dag_dependents(const struct dag *g, size_t node, size_t *n);
/// true when `anc` is a (transitive) dependency of `node`. After finalize.
bool dag_is_upstream(const struct dag *g, size_t anc, size_t node);

// ---------------------------------------------------------------------------
// Ready-set bookkeeping of one run (src/dag/ready.c).
//
// A struct dag_run tracks the state of every node of a finalized dag while the
// engine drives a run: which nodes may start now, and what follows when one
// finishes. It keeps no authoritative state: the engine persists every change
// it is told about (struct dag_changes) before acting on it.
//
// Life cycle: dag_run_new; optionally select part of the graph (dag_run_only,
// dag_run_from) and pre-mark nodes as succeeded (dag_run_premark); then
// dag_run_begin once; then dag_run_start / dag_run_done as steps start and finish.
//
// Rules (the outcome does not depend on the order in which dependencies finish):
// - some dependency FAILED, CANCELLED or EXCLUDED   -> CANCELLED ("blocked": never
//   started), at once, even while other dependencies still run;
// - when the last dependency has finished and none blocked:
//   every dependency SUCCEEDED                      -> the node becomes READY;
//   otherwise some dependency SKIPPED               -> SKIPPED (SPEC §3: `when:` skips propagate).
// - with a selection (dag_run_only / dag_run_from), a pre-marked node outside it
//   that has selected nodes upstream (directly or through other such nodes)
//   counts as unfinished for its dependents until all of those have finished:
//   a selected node never starts before a selected node upstream of it. If one
//   of them failed or was cancelled, the dependents are CANCELLED and
//   dag_run_cause names that node.
// A failure never stops independent branches: their nodes keep running and finishing.
// Consequences of one change are followed depth first in dag_dependents order
// (a settled node's own dependents before its next sibling), and reported in
// that order. dag_run_begin visits nodes in index order.
//
// Cost: dag_run_begin plus all dag_run_done calls together are O(nodes + edges).

/// State of one node in a run.
enum dag_state {
  DAG_PENDING,    ///< waiting for dependencies
  DAG_READY,      ///< every dependency succeeded; may start
  DAG_RUNNING,    ///< started by the engine (including its retry waits)
  DAG_SUCCEEDED,  ///< finished with outputs (or pre-marked as such)
  DAG_FAILED,     ///< finished with a failure, after its retries
  DAG_SKIPPED,    ///< `when:` was false, or a dependency was skipped
  DAG_CANCELLED,  ///< not run: a dependency failed or was cancelled, or the run was cancelled
  DAG_EXCLUDED,   ///< outside this run (--only / --from) and not pre-marked
  DAG_STATE__COUNT
};

/// "pending", "ready", ... Static string.
const char *dag_state_name(enum dag_state s);
/// true for the final states (succeeded, failed, skipped, cancelled, excluded).
bool dag_state_is_final(enum dag_state s);

/// What one call changed, in the order it happened. The arrays are borrowed from
/// the run and valid until its next mutating call.
struct dag_changes {
  const size_t *ready;  ///< nodes that became READY
  size_t n_ready;
  const size_t *settled;  ///< nodes that became SKIPPED or CANCELLED as a consequence
  size_t n_settled;
  const size_t *changed;  ///< ready and settled together, in the order they changed
  size_t n_changed;
};

struct dag_run;

/// New run over `g`, which must be finalized and outlive the run (borrowed).
/// Every node is PENDING and part of the run. Caller frees with dag_run_free.
struct dag_run *dag_run_new(const struct dag *g);
void dag_run_free(struct dag_run *r);

/// Restrict the run to `nodes` (`--only`): every other node becomes EXCLUDED.
/// Selections add up (`--only a --only b --from c` runs a, b, c and what is
/// downstream of c): each call adds its nodes to what earlier calls kept.
/// Before dag_run_begin only; SMF_EINVAL otherwise or for a bad index.
int dag_run_only(struct dag_run *r, const size_t *nodes, size_t n);
/// Restrict the run to `node` and everything downstream of it (`--from`), or
/// add them to an earlier selection.
/// Same rules as dag_run_only.
int dag_run_from(struct dag_run *r, size_t node);
/// Mark a node SUCCEEDED before the run begins: an upstream step outside the
/// run whose outputs exist from an earlier run, or a step resume found finished.
/// Before dag_run_begin only; SMF_EINVAL otherwise.
int dag_run_premark(struct dag_run *r, size_t node);
/// Mark a node SKIPPED before the run begins (a step resume found skipped): its
/// skip propagates like one decided during the run. Same rules as dag_run_premark.
int dag_run_premark_skipped(struct dag_run *r, size_t node);
/// true if `node` was pre-marked (it is SUCCEEDED or SKIPPED but did not run in this run).
bool dag_run_is_premarked(const struct dag_run *r, size_t node);
/// For a node the run settled (SKIPPED or CANCELLED as a consequence): the
/// dependency that settled it — for CANCELLED the failed, cancelled or excluded
/// one, for SKIPPED the first skipped one in dag_deps order. SIZE_MAX for any
/// other node, and for nodes cancelled by dag_run_cancel.
size_t dag_run_cause(const struct dag_run *r, size_t node);
/// Find a node of the run that needs an EXCLUDED node (one that will be blocked
/// at begin). Returns true and sets *node and *dep for the first in topological
/// order, false if none. Lets the engine refuse `--only` with a clear message.
bool dag_run_find_unsatisfied(const struct dag_run *r, size_t *node, size_t *dep);

/// Start the run: settle what the restrictions and pre-marks decide and report
/// the first READY nodes (index order) in *ch. Once only; SMF_EINVAL after.
int dag_run_begin(struct dag_run *r, struct dag_changes *ch);
/// READY -> RUNNING. SMF_EINVAL from any other state.
int dag_run_start(struct dag_run *r, size_t node);
/// A READY or RUNNING node finished with `result` (SUCCEEDED, FAILED, SKIPPED or
/// CANCELLED). *ch receives the nodes that became READY and those settled as a
/// consequence. SMF_EINVAL for another state or result (nothing changes then).
int dag_run_done(struct dag_run *r, size_t node, enum dag_state result, struct dag_changes *ch);
/// Cancel what has not started: every PENDING and READY node becomes CANCELLED
/// (reported in ch->settled). RUNNING nodes are left to finish via dag_run_done.
int dag_run_cancel(struct dag_run *r, struct dag_changes *ch);

enum dag_state dag_run_state(const struct dag_run *r, size_t node);
/// Number of nodes now in state `s`. O(1).
size_t dag_run_count(const struct dag_run *r, enum dag_state s);
/// true when no node is PENDING, READY or RUNNING (after dag_run_begin). O(1).
bool dag_run_complete(const struct dag_run *r);

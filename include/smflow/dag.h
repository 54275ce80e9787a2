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

// test_dag.c: topological order, cycles, ancestry, and the ready-set bookkeeping of a run.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "smflow/dag.h"
#include "smflow/error.h"
#include "test.h"

TEST(diamond)
{
  struct dag *g = dag_new(4);
  dag_add_edge(g, 0, 1);
  dag_add_edge(g, 0, 2);
  dag_add_edge(g, 1, 3);
  dag_add_edge(g, 2, 3);
  ASSERT_EQ(dag_finalize(g, NULL, NULL), 0);
  const size_t *t = dag_topo(g);
  ASSERT_EQ(t[0], 0);
  ASSERT_EQ(t[3], 3);
  ASSERT(dag_is_upstream(g, 0, 3));
  ASSERT(!dag_is_upstream(g, 1, 2));
  ASSERT(!dag_is_upstream(g, 3, 0));
  dag_free(g);
}

TEST(cycle_reported_in_order)
{
  struct dag *g = dag_new(4);
  dag_add_edge(g, 0, 1);  // 1 needs 0
  dag_add_edge(g, 1, 2);  // 2 needs 1
  dag_add_edge(g, 2, 0);  // 0 needs 2
  dag_add_edge(g, 2, 3);
  size_t *cyc = NULL, len = 0;
  ASSERT_EQ(dag_finalize(g, &cyc, &len), SMF_EVALIDATE);
  ASSERT_EQ(len, 4);
  ASSERT_EQ(cyc[0], 0);
  ASSERT_EQ(cyc[1], 1);
  ASSERT_EQ(cyc[2], 2);
  ASSERT_EQ(cyc[3], 0);
  free(cyc);
  dag_free(g);
}

// ---- ready-set bookkeeping ----

static bool has(const size_t *v, size_t n, size_t x)
{
  for (size_t i = 0; i < n; i++) {
    if (v[i] == x) {
      return true;
    }
  }
  return false;
}

static struct dag *build(size_t n, const size_t (*edges)[2], size_t n_edges)
{
  struct dag *g = dag_new(n);
  for (size_t i = 0; i < n_edges; i++) {
    dag_add_edge(g, edges[i][0], edges[i][1]);
  }
  ASSERT_EQ(dag_finalize(g, NULL, NULL), 0);
  return g;
}

// Start a READY node and finish it; returns the changes.
static struct dag_changes finish(struct dag_run *r, size_t node, enum dag_state result)
{
  struct dag_changes ch;
  ASSERT_EQ(dag_run_start(r, node), 0);
  ASSERT_EQ(dag_run_state(r, node), DAG_RUNNING);
  ASSERT_EQ(dag_run_done(r, node, result, &ch), 0);
  ASSERT_EQ(dag_run_state(r, node), result);
  return ch;
}

TEST(run_diamond)
{
  static const size_t e[][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 3}};
  struct dag *g = build(4, e, 4);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT(!dag_run_complete(r));
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 0);
  ASSERT_EQ(ch.n_settled, 0);
  ASSERT_EQ(dag_run_count(r, DAG_READY), 1);
  ASSERT_EQ(dag_run_count(r, DAG_PENDING), 3);
  ch = finish(r, 0, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 2);
  ASSERT(has(ch.ready, ch.n_ready, 1) && has(ch.ready, ch.n_ready, 2));
  ch = finish(r, 2, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT_EQ(dag_run_state(r, 3), DAG_PENDING);
  ch = finish(r, 1, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 3);
  ASSERT(!dag_run_complete(r));
  finish(r, 3, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  ASSERT_EQ(dag_run_count(r, DAG_SUCCEEDED), 4);
  dag_run_free(r);
  dag_free(g);
}

TEST(run_fan_out_fan_in)
{
  // 0 -> 1..8 -> 9
  struct dag *g = dag_new(10);
  for (size_t i = 1; i <= 8; i++) {
    dag_add_edge(g, 0, i);
    dag_add_edge(g, i, 9);
  }
  ASSERT_EQ(dag_finalize(g, NULL, NULL), 0);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 1);
  ch = finish(r, 0, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 8);
  for (size_t i = 1; i <= 8; i++) {
    ASSERT(has(ch.ready, ch.n_ready, i));
    ASSERT_EQ(dag_run_start(r, i), 0);
  }
  ASSERT_EQ(dag_run_count(r, DAG_RUNNING), 8);
  for (size_t i = 8; i >= 1; i--) {
    ASSERT_EQ(dag_run_done(r, i, DAG_SUCCEEDED, &ch), 0);
    ASSERT_EQ(ch.n_ready, i == 1 ? 1 : 0);
  }
  ASSERT_EQ(ch.ready[0], 9);
  finish(r, 9, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_skip_propagates)
{
  // 0 -> 1 -> 2 -> 4, 0 -> 3; a skip may also be decided while READY (`when:` false).
  static const size_t e[][2] = {{0, 1}, {1, 2}, {2, 4}, {0, 3}};
  struct dag *g = build(5, e, 4);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ch = finish(r, 0, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 2);
  ASSERT_EQ(dag_run_done(r, 1, DAG_SKIPPED, &ch), 0);  // READY -> SKIPPED, never started
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT_EQ(ch.n_settled, 2);
  ASSERT(has(ch.settled, ch.n_settled, 2) && has(ch.settled, ch.n_settled, 4));
  ASSERT_EQ(dag_run_state(r, 2), DAG_SKIPPED);
  ASSERT_EQ(dag_run_state(r, 4), DAG_SKIPPED);
  ASSERT(!dag_run_complete(r));
  finish(r, 3, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  ASSERT_EQ(dag_run_count(r, DAG_SKIPPED), 3);
  ASSERT_EQ(dag_run_count(r, DAG_SUCCEEDED), 2);
  dag_run_free(r);
  dag_free(g);
}

TEST(run_failure_blocks_dependants_only)
{
  // 0 -> 1 -> 2, 0 -> 3 -> 4, {2, 4} -> 5, 6 independent.
  static const size_t e[][2] = {{0, 1}, {1, 2}, {0, 3}, {3, 4}, {2, 5}, {4, 5}};
  struct dag *g = build(7, e, 6);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 2);
  ASSERT_EQ(ch.ready[0], 0);
  ASSERT_EQ(ch.ready[1], 6);
  ch = finish(r, 0, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 2);
  ch = finish(r, 1, DAG_FAILED);
  ASSERT_EQ(ch.n_settled, 2);  // at once, although 5 still waits for 4
  ASSERT_EQ(ch.settled[0], 2);
  ASSERT_EQ(ch.settled[1], 5);
  ASSERT_EQ(dag_run_state(r, 2), DAG_CANCELLED);
  ASSERT_EQ(dag_run_state(r, 5), DAG_CANCELLED);
  ASSERT_EQ(dag_run_cause(r, 2), 1);
  ASSERT_EQ(dag_run_cause(r, 5), 2);
  ch = finish(r, 3, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 4);
  ch = finish(r, 4, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT_EQ(ch.n_settled, 0);
  ASSERT(!dag_run_complete(r));
  finish(r, 6, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  ASSERT_EQ(dag_run_count(r, DAG_FAILED), 1);
  ASSERT_EQ(dag_run_count(r, DAG_CANCELLED), 2);
  ASSERT_EQ(dag_run_count(r, DAG_SUCCEEDED), 4);
  dag_run_free(r);
  dag_free(g);
}

TEST(run_failure_wins_over_skip)
{
  // 2 needs 0 and 1; whichever order they end in, a failure beats a skip.
  static const size_t e[][2] = {{0, 2}, {1, 2}};
  for (int order = 0; order < 2; order++) {
    struct dag *g = build(3, e, 2);
    struct dag_run *r = dag_run_new(g);
    struct dag_changes ch;
    ASSERT_EQ(dag_run_begin(r, &ch), 0);
    ASSERT_EQ(ch.n_ready, 2);
    size_t skip = order ? 1 : 0, fail = order ? 0 : 1;
    ch = finish(r, skip, DAG_SKIPPED);
    ASSERT_EQ(ch.n_settled, 0);
    ch = finish(r, fail, DAG_FAILED);
    ASSERT_EQ(ch.n_settled, 1);
    ASSERT_EQ(dag_run_state(r, 2), DAG_CANCELLED);
    ASSERT(dag_run_complete(r));
    dag_run_free(r);
    dag_free(g);
  }
}

TEST(run_bad_transitions)
{
  static const size_t e[][2] = {{0, 1}};
  struct dag *g = build(2, e, 1);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_start(r, 0), SMF_EINVAL);  // before begin
  ASSERT_EQ(dag_run_done(r, 0, DAG_SUCCEEDED, &ch), SMF_EINVAL);
  ASSERT_EQ(dag_run_premark(r, 5), SMF_EINVAL);
  ASSERT_EQ(dag_run_from(r, 9), SMF_EINVAL);
  size_t bad = 7;
  ASSERT_EQ(dag_run_only(r, &bad, 1), SMF_EINVAL);
  ASSERT_EQ(dag_run_state(r, 0), DAG_PENDING);  // a refused call changes nothing
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(dag_run_begin(r, &ch), SMF_EINVAL);
  ASSERT_EQ(dag_run_premark(r, 1), SMF_EINVAL);
  ASSERT_EQ(dag_run_from(r, 0), SMF_EINVAL);
  ASSERT_EQ(dag_run_start(r, 1), SMF_EINVAL);  // pending
  ASSERT_EQ(dag_run_done(r, 1, DAG_SUCCEEDED, &ch), SMF_EINVAL);
  ASSERT_EQ(dag_run_done(r, 0, DAG_PENDING, &ch), SMF_EINVAL);
  ASSERT_EQ(dag_run_done(r, 0, DAG_EXCLUDED, &ch), SMF_EINVAL);
  ASSERT_EQ(dag_run_state(r, 0), DAG_READY);
  ASSERT_EQ(dag_run_start(r, 0), 0);
  ASSERT_EQ(dag_run_start(r, 0), SMF_EINVAL);  // already running
  ASSERT_EQ(dag_run_done(r, 0, DAG_SUCCEEDED, &ch), 0);
  ASSERT_EQ(dag_run_done(r, 0, DAG_FAILED, &ch), SMF_EINVAL);  // already final
  ASSERT_EQ(dag_run_state(r, 0), DAG_SUCCEEDED);
  ASSERT_STREQ(dag_state_name(DAG_CANCELLED), "cancelled");
  ASSERT_STREQ(dag_state_name(DAG_STATE__COUNT), "unknown");
  dag_run_free(r);
  dag_free(g);
}

// code(0) -> train(1) -> evaluate(2) -> register(3)
static const size_t chain4[][2] = {{0, 1}, {1, 2}, {2, 3}};

TEST(run_only_with_premarked_upstream)
{
  struct dag *g = build(4, chain4, 3);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  size_t only = 2, node = 99, dep = 99;
  ASSERT_EQ(dag_run_only(r, &only, 1), 0);
  ASSERT_EQ(dag_run_state(r, 0), DAG_EXCLUDED);
  ASSERT_EQ(dag_run_state(r, 3), DAG_EXCLUDED);
  ASSERT(dag_run_find_unsatisfied(r, &node, &dep));
  ASSERT_EQ(node, 2);
  ASSERT_EQ(dep, 1);
  ASSERT_EQ(dag_run_premark(r, 1), 0);  // train has outputs from an earlier run
  ASSERT(!dag_run_find_unsatisfied(r, &node, &dep));
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 2);
  ch = finish(r, 2, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 0);  // register is outside the run
  ASSERT(dag_run_complete(r));
  ASSERT(dag_run_is_premarked(r, 1));
  ASSERT(!dag_run_is_premarked(r, 2));
  ASSERT_EQ(dag_run_count(r, DAG_EXCLUDED), 2);
  ASSERT_EQ(dag_run_count(r, DAG_SUCCEEDED), 2);
  dag_run_free(r);
  dag_free(g);
}

// a(0), b(1), c(2), d(3) needs {a,b,c}, g(4) needs d; a, b, c, d from an earlier run.
static const size_t relay_e[][2] = {{0, 3}, {1, 3}, {2, 3}, {3, 4}};

static struct dag_run *relay_run(struct dag *g)
{
  struct dag_run *r = dag_run_new(g);
  size_t only[] = {0, 4};
  ASSERT_EQ(dag_run_only(r, only, 2), 0);
  for (size_t i = 1; i <= 3; i++) {
    ASSERT_EQ(dag_run_premark(r, i), 0);
  }
  return r;
}

TEST(run_only_waits_through_unselected)
{
  // `--only a --only g`: g must wait for a although d between them is not selected.
  struct dag *g = build(5, relay_e, 4);
  struct dag_run *r = relay_run(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 0);
  ASSERT_EQ(dag_run_state(r, 4), DAG_PENDING);
  ch = finish(r, 0, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 4);
  ch = finish(r, 4, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_only_failure_through_unselected)
{
  struct dag *g = build(5, relay_e, 4);
  struct dag_run *r = relay_run(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ch = finish(r, 0, DAG_FAILED);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT_EQ(ch.n_settled, 1);
  ASSERT_EQ(ch.settled[0], 4);
  ASSERT_EQ(dag_run_state(r, 4), DAG_CANCELLED);
  ASSERT_EQ(dag_run_cause(r, 4), 0);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_only_unsatisfied)
{
  // Without outputs upstream, the selected step is blocked at begin.
  struct dag *g = build(4, chain4, 3);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  size_t only[] = {1, 2};
  ASSERT_EQ(dag_run_only(r, only, 2), 0);
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT_EQ(ch.n_settled, 2);
  ASSERT_EQ(ch.settled[0], 1);
  ASSERT_EQ(ch.settled[1], 2);
  ASSERT_EQ(dag_run_state(r, 2), DAG_CANCELLED);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_from_downstream)
{
  // 0 -> 1 -> 2, 0 -> 3, {1, 3} -> 4, 5 independent.
  static const size_t e[][2] = {{0, 1}, {1, 2}, {0, 3}, {1, 4}, {3, 4}};
  struct dag *g = build(6, e, 5);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  size_t node, dep;
  ASSERT_EQ(dag_run_from(r, 1), 0);
  ASSERT_EQ(dag_run_count(r, DAG_EXCLUDED), 3);  // 0, 3, 5
  ASSERT_EQ(dag_run_state(r, 5), DAG_EXCLUDED);
  ASSERT(dag_run_find_unsatisfied(r, &node, &dep));
  ASSERT_EQ(node, 1);
  ASSERT_EQ(dep, 0);
  ASSERT_EQ(dag_run_premark(r, 0), 0);
  ASSERT_EQ(dag_run_premark(r, 3), 0);
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 1);
  ASSERT_EQ(ch.ready[0], 1);
  ch = finish(r, 1, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_ready, 2);
  ASSERT(has(ch.ready, 2, 2) && has(ch.ready, 2, 4));
  finish(r, 2, DAG_SUCCEEDED);
  finish(r, 4, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);

  // Selections add up: --only 5 then --from 1 keep 1, 2, 4 and 5; in the
  // other order too.
  for (int order = 0; order < 2; order++) {
    r = dag_run_new(g);
    size_t only = 5;
    if (order == 0) {
      ASSERT_EQ(dag_run_only(r, &only, 1), 0);
      ASSERT_EQ(dag_run_count(r, DAG_EXCLUDED), 5);
      ASSERT_EQ(dag_run_from(r, 1), 0);
    } else {
      ASSERT_EQ(dag_run_from(r, 1), 0);
      ASSERT_EQ(dag_run_only(r, &only, 1), 0);
    }
    ASSERT_EQ(dag_run_count(r, DAG_EXCLUDED), 2);
    ASSERT_EQ(dag_run_state(r, 0), DAG_EXCLUDED);
    ASSERT_EQ(dag_run_state(r, 3), DAG_EXCLUDED);
    ASSERT_EQ(dag_run_state(r, 2), DAG_PENDING);
    ASSERT_EQ(dag_run_state(r, 5), DAG_PENDING);
    dag_run_free(r);
  }
  dag_free(g);
}

TEST(run_cancel)
{
  static const size_t e[][2] = {{0, 1}, {2, 3}};
  struct dag *g = build(4, e, 2);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 2);
  ASSERT_EQ(dag_run_start(r, 0), 0);
  ASSERT_EQ(dag_run_cancel(r, &ch), 0);
  ASSERT_EQ(ch.n_settled, 3);
  ASSERT_EQ(dag_run_state(r, 2), DAG_CANCELLED);
  ASSERT_EQ(dag_run_state(r, 0), DAG_RUNNING);
  ASSERT(!dag_run_complete(r));
  ASSERT_EQ(dag_run_done(r, 0, DAG_SUCCEEDED, &ch), 0);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_empty)
{
  struct dag *g = dag_new(0);
  ASSERT_EQ(dag_finalize(g, NULL, NULL), 0);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 0);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

TEST(run_consequences_depth_first)
{
  // 0 -> 1 -> 3, 0 -> 2, 1 -> 2, 4 -> 5: 0's failure cancels 1, then 1's
  // dependents (3, 2) before 0's next dependent, as a recursive walk would.
  static const size_t e[][2] = {{0, 1}, {1, 3}, {0, 2}, {1, 2}, {4, 5}};
  struct dag *g = build(6, e, 5);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_ready, 2);
  ch = finish(r, 0, DAG_FAILED);
  ASSERT_EQ(ch.n_changed, 3);
  ASSERT_EQ(ch.changed[0], 1);
  ASSERT_EQ(ch.changed[1], 3);
  ASSERT_EQ(ch.changed[2], 2);
  ASSERT_EQ(dag_run_cause(r, 1), 0);
  ASSERT_EQ(dag_run_cause(r, 3), 1);
  ASSERT_EQ(dag_run_cause(r, 2), 1);
  ASSERT_EQ(dag_run_cause(r, 4), SIZE_MAX);
  ch = finish(r, 4, DAG_SUCCEEDED);
  ASSERT_EQ(ch.n_changed, 1);
  ASSERT_EQ(ch.changed[0], 5);
  dag_run_free(r);
  dag_free(g);
}

TEST(run_resume_premarks)
{
  // 2 needs 1 and 0 (both skipped earlier); 4 needs 3 (succeeded earlier);
  // 5 needs 1 and 4; 6 needs 5 and 7 (succeeded earlier); 8 needs 9 (succeeded
  // earlier) and 10 is free: ready in index order (8 before 10), not topological.
  static const size_t e[][2] = {{1, 2}, {0, 2}, {3, 4}, {1, 5}, {4, 5}, {5, 6}, {7, 6}, {9, 8}};
  struct dag *g = build(11, e, 8);
  struct dag_run *r = dag_run_new(g);
  struct dag_changes ch;
  ASSERT_EQ(dag_run_premark_skipped(r, 0), 0);
  ASSERT_EQ(dag_run_premark_skipped(r, 1), 0);
  ASSERT_EQ(dag_run_premark(r, 3), 0);
  ASSERT_EQ(dag_run_premark(r, 7), 0);
  ASSERT_EQ(dag_run_premark(r, 9), 0);
  ASSERT(dag_run_is_premarked(r, 0) && dag_run_is_premarked(r, 3));
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  ASSERT_EQ(ch.n_changed, 4);
  ASSERT_EQ(ch.changed[0], 2);
  ASSERT_EQ(ch.changed[1], 4);
  ASSERT_EQ(ch.changed[2], 8);
  ASSERT_EQ(ch.changed[3], 10);
  ASSERT_EQ(ch.n_ready, 3);
  ASSERT_EQ(ch.ready[0], 4);
  ASSERT_EQ(ch.ready[1], 8);
  ASSERT_EQ(ch.ready[2], 10);
  ASSERT_EQ(dag_run_state(r, 2), DAG_SKIPPED);
  ASSERT_EQ(dag_run_cause(r, 2), 1);  // dag_deps order: the edge 1 -> 2 came first
  ASSERT_EQ(dag_run_state(r, 5), DAG_PENDING);
  ch = finish(r, 4, DAG_SUCCEEDED);  // 5 decided now: skipped, because of 1
  ASSERT_EQ(ch.n_changed, 2);
  ASSERT_EQ(ch.changed[0], 5);
  ASSERT_EQ(ch.changed[1], 6);
  ASSERT_EQ(dag_run_cause(r, 5), 1);
  ASSERT_EQ(dag_run_cause(r, 6), 5);
  ASSERT_EQ(dag_run_state(r, 6), DAG_SKIPPED);
  finish(r, 8, DAG_SUCCEEDED);
  finish(r, 10, DAG_SUCCEEDED);
  ASSERT(dag_run_complete(r));
  dag_run_free(r);
  dag_free(g);
}

// xorshift64*: a fixed seed makes the random graph and schedule repeatable.
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static size_t rnd(size_t bound)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (size_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 33) % bound;
}

static bool is_dep(const struct dag *g, size_t dep, size_t v)
{
  size_t nd;
  const size_t *d = dag_deps(g, v, &nd);
  return has(d, nd, dep);
}

// Checks a node just reported by the run against its dependencies' states.
static void check_reported(const struct dag *g, struct dag_run *r, size_t v, unsigned char *seen)
{
  size_t nd;
  const size_t *d = dag_deps(g, v, &nd);
  bool skipped = false;
  ASSERT(!seen[v]);  // reported once
  seen[v] = 1;
  if (dag_run_state(r, v) == DAG_CANCELLED) {  // at once, by a failed or cancelled dep
    size_t c = dag_run_cause(r, v);
    ASSERT(c != SIZE_MAX && is_dep(g, c, v));
    ASSERT(dag_run_state(r, c) == DAG_FAILED || dag_run_state(r, c) == DAG_CANCELLED);
    return;
  }
  for (size_t i = 0; i < nd; i++) {
    enum dag_state s = dag_run_state(r, d[i]);
    ASSERT(dag_state_is_final(s));                  // not decided before all its deps finished
    ASSERT(s != DAG_FAILED && s != DAG_CANCELLED);  // else it would have been cancelled
    skipped |= s == DAG_SKIPPED;
  }
  ASSERT_EQ(dag_run_state(r, v), skipped ? DAG_SKIPPED : DAG_READY);
  if (skipped) {
    ASSERT(dag_run_state(r, dag_run_cause(r, v)) == DAG_SKIPPED);
  }
}

static void absorb(const struct dag *g, struct dag_run *r, const struct dag_changes *ch,
                   unsigned char *seen, size_t *pool, size_t *n_pool)
{
  for (size_t i = 0; i < ch->n_ready; i++) {
    check_reported(g, r, ch->ready[i], seen);
    pool[(*n_pool)++] = ch->ready[i];
  }
  for (size_t i = 0; i < ch->n_settled; i++) {
    check_reported(g, r, ch->settled[i], seen);
  }
  ASSERT_EQ(ch->n_changed, ch->n_ready + ch->n_settled);
}

static size_t take(size_t *v, size_t *n)
{
  size_t k = rnd(*n), x = v[k];
  v[k] = v[--(*n)];
  return x;
}

TEST(run_random_10000)
{
  enum { N = 10000, PAR = 16 };
  size_t *perm = malloc(N * sizeof(*perm));
  for (size_t i = 0; i < N; i++) {
    perm[i] = i;
  }
  for (size_t i = N - 1; i > 0; i--) {
    size_t j = rnd(i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  // Edges only go forward in `perm`, so the graph is acyclic; node numbers are shuffled.
  struct dag *g = dag_new(N);
  size_t n_edges = 0;
  for (size_t k = 1; k < N; k++) {
    size_t m = rnd(5);
    for (size_t j = 0; j < m; j++) {
      dag_add_edge(g, perm[rnd(k)], perm[k]);
      n_edges++;
    }
  }
  ASSERT(n_edges > 15000);
  ASSERT_EQ(dag_finalize(g, NULL, NULL), 0);
  struct dag_run *r = dag_run_new(g);
  unsigned char *seen = calloc(N, 1);
  size_t *pool = malloc(N * sizeof(*pool)), n_pool = 0;
  size_t running[PAR], n_running = 0, finished = 0, n_settled = 0;
  size_t by_us[DAG_STATE__COUNT] = {0};
  struct dag_changes ch;
  ASSERT_EQ(dag_run_begin(r, &ch), 0);
  n_settled += ch.n_settled;
  absorb(g, r, &ch, seen, pool, &n_pool);
  while (n_pool > 0 || n_running > 0) {
    while (n_running < PAR && n_pool > 0) {
      size_t v = take(pool, &n_pool);
      ASSERT_EQ(dag_run_start(r, v), 0);
      running[n_running++] = v;
    }
    size_t v = take(running, &n_running), p = rnd(1000);
    enum dag_state res = p < 5 ? DAG_FAILED : p < 20 ? DAG_SKIPPED : DAG_SUCCEEDED;
    ASSERT_EQ(dag_run_done(r, v, res, &ch), 0);
    finished++;
    by_us[res]++;
    n_settled += ch.n_settled;
    absorb(g, r, &ch, seen, pool, &n_pool);
  }
  ASSERT(dag_run_complete(r));
  size_t total = 0;
  for (int s = 0; s < DAG_STATE__COUNT; s++) {
    total += dag_run_count(r, (enum dag_state)s);
  }
  ASSERT_EQ(total, N);
  for (size_t i = 0; i < N; i++) {
    ASSERT(seen[i]);  // every node was reported once, and it ended final
    ASSERT(dag_state_is_final(dag_run_state(r, i)));
  }
  fprintf(stderr, "   %zu edges; succeeded %zu failed %zu skipped %zu cancelled %zu\n", n_edges,
          dag_run_count(r, DAG_SUCCEEDED), dag_run_count(r, DAG_FAILED),
          dag_run_count(r, DAG_SKIPPED), dag_run_count(r, DAG_CANCELLED));
  // Every node ended exactly once: by our hand, or settled by the run.
  ASSERT_EQ(finished + n_settled, N);
  ASSERT_EQ(dag_run_count(r, DAG_SUCCEEDED), by_us[DAG_SUCCEEDED]);
  ASSERT_EQ(dag_run_count(r, DAG_FAILED), by_us[DAG_FAILED]);
  ASSERT(dag_run_count(r, DAG_FAILED) > 0 && dag_run_count(r, DAG_CANCELLED) > 0);
  ASSERT(dag_run_count(r, DAG_SUCCEEDED) > 0);
  free(pool);
  free(seen);
  free(perm);
  dag_run_free(r);
  dag_free(g);
}

int main(void)
{
  RUN_TEST(diamond);
  RUN_TEST(cycle_reported_in_order);
  RUN_TEST(run_diamond);
  RUN_TEST(run_fan_out_fan_in);
  RUN_TEST(run_skip_propagates);
  RUN_TEST(run_failure_blocks_dependants_only);
  RUN_TEST(run_failure_wins_over_skip);
  RUN_TEST(run_bad_transitions);
  RUN_TEST(run_only_with_premarked_upstream);
  RUN_TEST(run_only_unsatisfied);
  RUN_TEST(run_only_waits_through_unselected);
  RUN_TEST(run_only_failure_through_unselected);
  RUN_TEST(run_from_downstream);
  RUN_TEST(run_cancel);
  RUN_TEST(run_consequences_depth_first);
  RUN_TEST(run_resume_premarks);
  RUN_TEST(run_empty);
  RUN_TEST(run_random_10000);
  return TEST_REPORT();
}

// test_dag.c: topological order, cycles, ancestry.
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

int main(void)
{
  RUN_TEST(diamond);
  RUN_TEST(cycle_reported_in_order);
  return TEST_REPORT();
}

// test_dsl.c: the pipeline loader — scalar typing, marks, anchors and merge keys,
// param overrides, defaults merge, builders, JSON output, file errors.
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smflow/dsl.h"
#include "test.h"

static struct dsl_pipeline *load_ok(const char *text)
{
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load_buffer("t.yaml", text, strlen(text), NULL, 0, &p, &d);
  if (rc != 0) {
    dsl_diags_print(&d, stderr);
  }
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(d.n, 0);
  dsl_diags_free(&d);
  return p;
}

// Load expecting failure; returns all diagnostics joined by newlines (caller frees).
static char *load_err(const char *text, const struct dsl_param_override *ov, size_t n_ov)
{
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  int rc = dsl_load_buffer("t.yaml", text, strlen(text), ov, n_ov, &p, &d);
  ASSERT(rc != 0);
  ASSERT(p == NULL);
  ASSERT(d.n > 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  dsl_diags_print(&d, f);
  fclose(f);
  dsl_diags_free(&d);
  return buf;
}

#define HEAD "smflow: 1\nname: t\n"
#define ONE_STEP "steps:\n  a: {run: x}\n"

static const struct dsl_node *param(const struct dsl_pipeline *p, const char *name)
{
  for (size_t i = 0; i < p->n_params; i++) {
    if (strcmp(p->params[i].name, name) == 0) {
      return p->params[i].value;
    }
  }
  return NULL;
}

TEST(scalar_typing)
{
  struct dsl_pipeline *p = load_ok(HEAD
      "x-v:\n"
      "  n1: ~\n  n2: null\n  n3: NULL\n  n4: Null\n  n5:\n"
      "  b1: true\n  b2: False\n  b3: TRUE\n"
      "  i1: 42\n  i2: -7\n  i3: 0o17\n  i4: 0x1F\n  i5: +3\n"
      "  f1: 1e-05\n  f2: .inf\n  f3: -.Inf\n  f4: .nan\n  f5: 1.5\n  f6: 1.10\n  f7: .5\n"
      "  s1: yes\n  s2: no\n  s3: on\n  s4: off\n  s5: \"42\"\n  s6: '0x1F'\n  s7: |\n    block\n"
      "  s8: 0x\n  s9: 1e\n  s10: !!str 12\n"
      "  e1: \"$${x}\"\n  e2: \"a $$${x}\"\n  e3: \"a ${x} b\"\n" ONE_STEP);
  // Ignored x- keys stay in the tree: a place to test typing without schema rules.
  const struct dsl_node *ps = dsl_map_get(p->root, "x-v");
  ASSERT(ps != NULL);
  const char *nulls[] = {"n1", "n2", "n3", "n4", "n5"};
  for (size_t i = 0; i < 5; i++) {
    ASSERT_EQ(dsl_map_get(ps, nulls[i])->type, DSL_NULL);
  }
  ASSERT(dsl_map_get(ps, "b1")->u.b == true);
  ASSERT(dsl_map_get(ps, "b2")->u.b == false);
  ASSERT(dsl_map_get(ps, "b3")->u.b == true);
  ASSERT_EQ(dsl_map_get(ps, "i1")->u.i, 42);
  ASSERT_EQ(dsl_map_get(ps, "i2")->u.i, -7);
  ASSERT_EQ(dsl_map_get(ps, "i3")->u.i, 15);
  ASSERT_EQ(dsl_map_get(ps, "i4")->u.i, 31);
  ASSERT_EQ(dsl_map_get(ps, "i5")->u.i, 3);
  ASSERT_EQ(dsl_map_get(ps, "i4")->type, DSL_INT);
  ASSERT_EQ(dsl_map_get(ps, "f1")->type, DSL_FLOAT);
  ASSERT(dsl_map_get(ps, "f1")->u.f == 1e-05);
  ASSERT(isinf(dsl_map_get(ps, "f2")->u.f) && dsl_map_get(ps, "f2")->u.f > 0);
  ASSERT(isinf(dsl_map_get(ps, "f3")->u.f) && dsl_map_get(ps, "f3")->u.f < 0);
  ASSERT(isnan(dsl_map_get(ps, "f4")->u.f));
  ASSERT(dsl_map_get(ps, "f5")->u.f == 1.5);
  ASSERT_STREQ(dsl_map_get(ps, "f6")->text, "1.10");
  ASSERT(dsl_map_get(ps, "f7")->u.f == 0.5);
  const char *strs[] = {"s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"};
  const char *vals[] = {"yes", "no", "on", "off", "42", "0x1F", "block\n", "0x", "1e", "12"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(strs); i++) {
    const struct dsl_node *n = dsl_map_get(ps, strs[i]);
    ASSERT_EQ(n->type, DSL_STR);
    ASSERT_STREQ(n->u.str.s, vals[i]);
  }
  ASSERT(dsl_map_get(ps, "s5")->quoted);
  ASSERT(!dsl_map_get(ps, "e1")->has_expr);  // `$${` is a literal `${`
  ASSERT(!dsl_map_get(ps, "e2")->has_expr);  // `$` then the escape `$${`
  ASSERT(dsl_map_get(ps, "e3")->has_expr);
  ASSERT(!dsl_map_get(ps, "s1")->quoted);
  dsl_pipeline_free(p);
}

TEST(marks)
{
  struct dsl_pipeline *p = load_ok(HEAD "steps:\n  train:\n    run:   \"echo hi\"\n"
                                        "    timeout: 10m\n");
  ASSERT_EQ(p->n_steps, 1);
  const struct dsl_step *s = &p->steps[0];
  ASSERT_EQ(s->mark.line, 4);
  ASSERT_EQ(s->mark.col, 3);
  ASSERT_EQ(s->spec->mark.line, 5);
  ASSERT_EQ(s->spec->mark.col, 12);  // the opening quote
  const struct dsl_node *steps = dsl_map_get(p->root, "steps");
  const struct dsl_node *train = dsl_map_get(steps, "train");
  ASSERT_EQ(train->mark.line, 5);
  ASSERT_EQ(train->mark.col, 5);
  ASSERT_STREQ(train->u.map.pairs[1].key, "timeout");
  ASSERT_EQ(train->u.map.pairs[1].key_mark.line, 6);
  ASSERT_EQ(train->u.map.pairs[1].key_mark.col, 5);
  ASSERT_EQ(train->u.map.pairs[1].value->mark.col, 14);
  ASSERT_EQ(s->timeout_ms, 600000);
  dsl_pipeline_free(p);
}

TEST(anchors_and_merge_keys)
{
  struct dsl_pipeline *p = load_ok(HEAD
      "x-a: &a {entry_point: a.py, instance_type: local, volume_size: 10}\n"
      "x-b: &b {entry_point: b.py, volume_size: 20, max_run: 1h}\n"
      "steps:\n"
      "  one:\n    fit:\n      <<: [*a, *b]\n      volume_size: 30\n"
      "  two:\n    fit:\n      <<: *b\n      instance_type: ml.m5.large\n"
      "  three:\n    fit: *a\n");
  const struct dsl_node *one = p->steps[0].spec;
  ASSERT_STREQ(dsl_map_str(one, "entry_point", NULL), "a.py");  // earlier source wins
  ASSERT_EQ(dsl_map_int(one, "volume_size", 0), 30);            // explicit key wins
  ASSERT_STREQ(dsl_map_str(one, "max_run", NULL), "1h");
  ASSERT_STREQ(dsl_map_str(one, "instance_type", NULL), "local");
  ASSERT(dsl_map_get(one, "<<") == NULL);
  const struct dsl_node *two = p->steps[1].spec;
  ASSERT_STREQ(dsl_map_str(two, "entry_point", NULL), "b.py");
  ASSERT_STREQ(dsl_map_str(two, "instance_type", NULL), "ml.m5.large");
  ASSERT_STREQ(dsl_map_str(p->steps[2].spec, "entry_point", NULL), "a.py");
  // x- keys are kept in the tree but ignored by validation.
  ASSERT(dsl_map_get(p->root, "x-a") != NULL);
  dsl_pipeline_free(p);
}

TEST(alias_bomb)
{
  struct smf_buf b = SMF_BUF_INIT;
  smf_buf_puts(&b, HEAD "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
  for (int i = 1; i < 10; i++) {
    smf_buf_printf(&b, "x%d: &a%d [", i, i);
    for (int k = 0; k < 9; k++) {
      smf_buf_printf(&b, "%s*a%d", k ? ", " : "", i - 1);
    }
    smf_buf_puts(&b, "]\n");
  }
  smf_buf_puts(&b, ONE_STEP);
  char *msg = load_err(b.data, NULL, 0);
  ASSERT_CONTAINS(msg, "alias bomb");
  free(msg);
  smf_buf_free(&b);
}

TEST(param_overrides)
{
  const char *text = HEAD "params:\n  epochs: 10\n  lr: 0.1\n  big: false\n  opt: adam\n" ONE_STEP;
  struct dsl_param_override ov[] = {
      {"epochs", "0x10"}, {"lr", "3"}, {"big", "true"}, {"opt", "1.10"}};
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  ASSERT_EQ(dsl_load_buffer("t.yaml", text, strlen(text), ov, 4, &p, &d), 0);
  ASSERT_EQ(param(p, "epochs")->type, DSL_INT);
  ASSERT_EQ(param(p, "epochs")->u.i, 16);
  ASSERT_EQ(param(p, "lr")->type, DSL_FLOAT);
  ASSERT(param(p, "lr")->u.f == 3.0);
  ASSERT_EQ(param(p, "big")->type, DSL_BOOL);
  ASSERT(param(p, "big")->u.b);
  ASSERT_EQ(param(p, "opt")->type, DSL_STR);
  ASSERT_STREQ(param(p, "opt")->u.str.s, "1.10");
  ASSERT(p->params[0].overridden);
  dsl_pipeline_free(p);
  dsl_diags_free(&d);

  struct dsl_param_override bad[] = {{"epochs", "ten"}, {"lr", "fast"}, {"big", "yes"},
                                     {"epoch", "1"}};
  char *msg = load_err(text, bad, 4);
  ASSERT_CONTAINS(msg, "t.yaml: --param epochs=ten: expected an integer");
  ASSERT_CONTAINS(msg, "--param lr=fast: expected a number");
  ASSERT_CONTAINS(msg, "--param big=yes: expected a boolean");
  ASSERT_CONTAINS(msg, "--param epoch: unknown param (did you mean 'epochs'?)");
  free(msg);
}

TEST(defaults_merge)
{
  struct dsl_pipeline *p = load_ok(HEAD "hooks: h.lua\n"
      "defaults:\n"
      "  retry: {max_attempts: 3, backoff: 30s, max_backoff: 10m}\n"
      "  timeout: 3h\n  cache: 7d\n  hooks: {on_failure: report}\n"
      "steps:\n"
      "  a:\n    run: x\n    retry: {on: [Throttling, CapacityError]}\n    timeout: 90\n"
      "  b:\n    needs: [a]\n    when: steps.a.ok\n    run: y\n    cache: false\n"
      "    hooks: {before: tune}\n");
  const struct dsl_step *a = &p->steps[0], *b = &p->steps[1];
  ASSERT_EQ(a->retry.max_attempts, 3);
  ASSERT_EQ(a->retry.backoff_ms, 30000);
  ASSERT_EQ(a->retry.max_backoff_ms, 600000);
  ASSERT_EQ(a->retry.on_mask, (1u << SMF_CLASS_THROTTLING) | (1u << SMF_CLASS_CAPACITY));
  ASSERT_EQ(a->timeout_ms, 90000);
  ASSERT_EQ(a->cache, DSL_CACHE_TTL);
  ASSERT_EQ(a->cache_ttl_ms, 7 * 86400000LL);
  ASSERT_STREQ(a->hook_on_failure, "report");
  ASSERT(a->hook_before == NULL);
  ASSERT_EQ(b->retry.on_mask, 0);
  ASSERT_EQ(b->timeout_ms, 3 * 3600000LL);
  ASSERT_EQ(b->cache, DSL_CACHE_OFF);
  ASSERT_STREQ(b->hook_before, "tune");
  ASSERT_STREQ(b->hook_on_failure, "report");
  ASSERT_EQ(b->n_needs, 1);
  ASSERT_EQ(b->need_idx[0], 0);
  ASSERT_STREQ(b->needs[0], "a");
  ASSERT_STREQ(b->when->u.str.s, "steps.a.ok");
  ASSERT(a->when == NULL);
  dsl_pipeline_free(p);
  p = load_ok(HEAD "steps:\n  a:\n    when: false\n    run: x\n");
  ASSERT_STREQ(p->steps[0].when->u.str.s, "false");
  ASSERT_EQ(p->steps[0].when->mark.line, 5);
  ASSERT(dsl_pipeline_step(p, "a") == &p->steps[0]);
  ASSERT(dsl_pipeline_step(p, "c") == NULL);
  dsl_pipeline_free(p);
}

TEST(strmap_values_are_text)
{
  struct dsl_pipeline *p = load_ok(HEAD "steps:\n  t:\n    fit:\n      entry_point: t.py\n"
      "      instance_type: local\n      environment: {A: 1.10, B: 007, C: true, D: x}\n"
      "      tags: {n: 12}\n      hyperparameters: {lr: 1e-05, n: 10, opt: adam}\n");
  char *env = dsl_node_to_json(dsl_map_get(p->steps[0].spec, "environment"));
  ASSERT_STREQ(env, "{\"A\":\"1.10\",\"B\":\"007\",\"C\":\"true\",\"D\":\"x\"}");
  free(env);
  char *tags = dsl_node_to_json(dsl_map_get(p->steps[0].spec, "tags"));
  ASSERT_STREQ(tags, "{\"n\":\"12\"}");
  free(tags);
  char *hp = dsl_node_to_json(dsl_map_get(p->steps[0].spec, "hyperparameters"));
  ASSERT_STREQ(hp, "{\"lr\":1e-05,\"n\":10,\"opt\":\"adam\"}");
  free(hp);
  dsl_pipeline_free(p);
}

TEST(builders_and_json)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct dsl_node *seq = dsl_node_new(&a, DSL_SEQ);
  for (int i = 0; i < 100; i++) {
    dsl_seq_push(&a, seq, dsl_node_int(&a, i));
  }
  ASSERT_EQ(seq->u.seq.n, 100);
  for (int i = 0; i < 100; i++) {
    ASSERT_EQ(seq->u.seq.items[i]->u.i, i);
  }
  struct dsl_node *m = dsl_node_new(&a, DSL_MAP);
  dsl_map_set(&a, m, "f", dsl_node_float(&a, 0.1));
  dsl_map_set(&a, m, "s", dsl_node_str(&a, "q\"\\\n\xc3\xa9", 6));
  dsl_map_set(&a, m, "b", dsl_node_bool(&a, true));
  dsl_map_set(&a, m, "n", dsl_node_new(&a, DSL_NULL));
  dsl_map_set(&a, m, "f", dsl_node_float(&a, 100.0));  // replaces
  ASSERT_EQ(m->u.map.n, 4);
  char *j = dsl_node_to_json(m);
  ASSERT_STREQ(j, "{\"f\":100.0,\"s\":\"q\\\"\\\\\\n\xc3\xa9\",\"b\":true,\"n\":null}");
  free(j);
  j = dsl_node_to_json_flags(m, DSL_JSON_PYTHON);
  ASSERT_STREQ(j, "{\"f\": 100.0, \"s\": \"q\\\"\\\\\\n\\u00e9\", \"b\": true, \"n\": null}");
  free(j);
  // Floats as Python's repr() writes them.
  const double fv[] = {0.1, 1e-05, 1e16, 123456789.5, -2.5, 1e-4, 0.0001234, 3.0};
  const char *fs[] = {"0.1", "1e-05", "1e+16", "123456789.5", "-2.5", "0.0001", "0.0001234", "3.0"};
  for (size_t i = 0; i < SMF_ARRAY_LEN(fv); i++) {
    char *t = dsl_node_to_json(dsl_node_float(&a, fv[i]));
    ASSERT_STREQ(t, fs[i]);
    free(t);
  }
  char *t = dsl_node_to_json_flags(dsl_node_str(&a, "\xf0\x9f\x98\x80", 4), DSL_JSON_PYTHON);
  ASSERT_STREQ(t, "\"\\ud83d\\ude00\"");
  free(t);
  // Clone and merge.
  struct dsl_node *base = dsl_node_new(&a, DSL_MAP);
  struct dsl_node *inner = dsl_node_new(&a, DSL_MAP);
  dsl_map_set(&a, inner, "x", dsl_node_int(&a, 1));
  dsl_map_set(&a, inner, "y", dsl_node_int(&a, 2));
  dsl_map_set(&a, base, "in", inner);
  dsl_map_set(&a, base, "k", dsl_node_str(&a, "base", 4));
  struct dsl_node *over = dsl_node_new(&a, DSL_MAP);
  struct dsl_node *inner2 = dsl_node_new(&a, DSL_MAP);
  dsl_map_set(&a, inner2, "y", dsl_node_int(&a, 3));
  dsl_map_set(&a, inner2, "z", dsl_node_new(&a, DSL_SEQ));
  dsl_map_set(&a, over, "in", inner2);
  dsl_map_set(&a, over, "extra", dsl_node_bool(&a, false));
  struct dsl_node *mg = dsl_node_merge(&a, base, over);
  j = dsl_node_to_json(mg);
  ASSERT_STREQ(j, "{\"in\":{\"x\":1,\"y\":3,\"z\":[]},\"k\":\"base\",\"extra\":false}");
  free(j);
  struct dsl_node *cl = dsl_node_clone(&a, mg);
  dsl_map_set(&a, (struct dsl_node *)dsl_map_get(cl, "in"), "x", dsl_node_int(&a, 9));
  dsl_seq_push(&a, (struct dsl_node *)dsl_map_get(dsl_map_get(cl, "in"), "z"), dsl_node_int(&a, 1));
  j = dsl_node_to_json(mg);  // the original is untouched
  ASSERT_STREQ(j, "{\"in\":{\"x\":1,\"y\":3,\"z\":[]},\"k\":\"base\",\"extra\":false}");
  free(j);
  j = dsl_node_to_json(cl);
  ASSERT_STREQ(j, "{\"in\":{\"x\":9,\"y\":3,\"z\":[1]},\"k\":\"base\",\"extra\":false}");
  free(j);
  smf_arena_free(&a);
}

TEST(spec_validate_resolved)
{
  struct smf_arena a = SMF_ARENA_INIT;
  struct dsl_node *spec = dsl_node_new(&a, DSL_MAP);
  dsl_map_set(&a, spec, "entry_point", dsl_node_str(&a, "t.py", 4));
  dsl_map_set(&a, spec, "instance_type", dsl_node_str(&a, "${params.it}", 12));
  dsl_map_set(&a, spec, "instance_count", dsl_node_str(&a, "${params.n}", 11));
  struct dsl_diags d = {0};
  ASSERT_EQ(dsl_spec_validate(DSL_KIND_FIT, spec, false, "p.yaml", &d), 0);
  ASSERT_EQ(d.n, 0);
  ASSERT_EQ(dsl_spec_validate(DSL_KIND_FIT, spec, true, "p.yaml", &d), SMF_EVALIDATE);
  ASSERT_EQ(d.n, 2);
  dsl_diags_sort(&d);
  ASSERT_CONTAINS(d.items[0].message, "instance_count: expected an integer, got a string");
  ASSERT_CONTAINS(d.items[1].message, "expected an instance type");
  dsl_diags_free(&d);
  // After interpolation: right types pass; a hook adding an unknown key does not.
  dsl_map_set(&a, spec, "instance_type", dsl_node_str(&a, "ml.m5.large", 11));
  dsl_map_set(&a, spec, "instance_count", dsl_node_int(&a, 2));
  ASSERT_EQ(dsl_spec_validate(DSL_KIND_FIT, spec, true, "p.yaml", &d), 0);
  dsl_map_set(&a, spec, "hyperparameterz", dsl_node_new(&a, DSL_MAP));
  ASSERT_EQ(dsl_spec_validate_step(DSL_KIND_FIT, spec, true, false, "train", "p.yaml", &d),
            SMF_EVALIDATE);
  ASSERT_STREQ(d.items[0].message,
               "step 'train': unknown key 'hyperparameterz' (did you mean 'hyperparameters'?)");
  ASSERT_EQ(d.items[0].line, 0);
  dsl_diags_free(&d);
  smf_arena_free(&a);
}

TEST(file_errors)
{
  char dir[] = "/tmp/smf-dsl-XXXXXX";
  ASSERT(mkdtemp(dir) != NULL);
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  char *missing = smf_xasprintf("%s/missing.yaml", dir);
  ASSERT_EQ(dsl_load(missing, NULL, 0, &p, &d), SMF_ENOENT);
  ASSERT_EQ(d.n, 1);
  ASSERT_CONTAINS(d.items[0].message, "cannot read the pipeline file");
  dsl_diags_free(&d);
  ASSERT(dsl_load(dir, NULL, 0, &p, &d) != 0);
  ASSERT_CONTAINS(d.items[0].message, "is a directory");
  dsl_diags_free(&d);
  char *empty = smf_xasprintf("%s/empty.yaml", dir);
  FILE *f = fopen(empty, "w");
  fclose(f);
  ASSERT_EQ(dsl_load(empty, NULL, 0, &p, &d), SMF_EVALIDATE);
  ASSERT_EQ(d.n, 1);
  ASSERT_EQ(d.items[0].line, 1);
  ASSERT_CONTAINS(d.items[0].message, "the file is empty");
  dsl_diags_free(&d);
  // A good file: sha256 of its bytes, absolute dir.
  const char *text = HEAD ONE_STEP;
  char *good = smf_xasprintf("%s/good.yaml", dir);
  f = fopen(good, "w");
  fputs(text, f);
  fclose(f);
  ASSERT_EQ(dsl_load(good, NULL, 0, &p, &d), 0);
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
  char hex[65];
  for (unsigned i = 0; i < 32; i++) {
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  }
  char got[65];
  dsl_pipeline_sha256(p, got);
  ASSERT_STREQ(got, hex);
  ASSERT_STREQ(p->dir, dir);
  ASSERT_STREQ(p->name, "t");
  ASSERT_EQ(p->version, 1);
  dsl_pipeline_free(p);
  unlink(good);
  unlink(empty);
  rmdir(dir);
  free(good);
  free(empty);
  free(missing);
}

TEST(error_messages)
{
  char *msg = load_err(HEAD "steps:\n  train:\n    fit:\n      entry_point: t.py\n"
                            "      instance_typ: ml.m5.xlarge\n", NULL, 0);
  ASSERT_STREQ(msg,
               "t.yaml:6:7: step 'train': missing required key 'instance_type'\n"
               "t.yaml:7:7: step 'train': unknown key 'instance_typ' (did you mean "
               "'instance_type'?)\n");
  free(msg);
  msg = load_err(HEAD "steps:\n  a: {needs: [c], run: x}\n  b: {needs: [a], run: x}\n"
                      "  c: {needs: [b], run: x}\n", NULL, 0);
  ASSERT_STREQ(msg, "t.yaml:4:3: dependency cycle: a -> b -> c -> a\n");
  free(msg);
}

TEST(default_name_and_order)
{
  const char *text = "smflow: 1\nvars:\n  z: 1\n  a: 2\n  m: \"${vars.z}\"\n" ONE_STEP;
  struct dsl_diags d = {0};
  struct dsl_pipeline *p = NULL;
  ASSERT_EQ(dsl_load_buffer("dir/my_flow.v2.yaml", text, strlen(text), NULL, 0, &p, &d), 0);
  ASSERT_STREQ(p->name, "my-flow");
  ASSERT_EQ(p->n_vars, 3);
  ASSERT_STREQ(p->vars[0].name, "z");
  ASSERT_STREQ(p->vars[1].name, "a");
  ASSERT_STREQ(p->vars[2].name, "m");
  ASSERT(p->vars[2].value->has_expr);
  ASSERT(p->target == NULL);
  dsl_pipeline_free(p);
  dsl_diags_free(&d);
}

int main(void)
{
  RUN_TEST(scalar_typing);
  RUN_TEST(marks);
  RUN_TEST(anchors_and_merge_keys);
  RUN_TEST(alias_bomb);
  RUN_TEST(param_overrides);
  RUN_TEST(defaults_merge);
  RUN_TEST(strmap_values_are_text);
  RUN_TEST(builders_and_json);
  RUN_TEST(spec_validate_resolved);
  RUN_TEST(file_errors);
  RUN_TEST(error_messages);
  RUN_TEST(default_name_and_order);
  return TEST_REPORT();
}

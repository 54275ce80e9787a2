// test_lxlib.c: the `smflow` Lua library (log, fail, json, uri, time) and the
// helpers shipped in lua/smflow/*.lua, all exercised through the sandbox.
#include "lx_test_util.h"

struct log_rec {
  char lines[8][256];
  char steps[8][64];
  int n;
};

static void log_cb(void *ud, const char *step_id, const char *msg)
{
  struct log_rec *r = ud;
  if (r->n < 8) {
    snprintf(r->lines[r->n], sizeof(r->lines[0]), "%s", msg);
    snprintf(r->steps[r->n], sizeof(r->steps[0]), "%s", step_id != NULL ? step_id : "-");
    r->n++;
  }
}

TEST(library_log_and_fail)
{
  struct lx *x = sandbox();
  struct log_rec rec = {0};
  lx_set_log_fn(x, log_cb, &rec);
  lx_set_current_step(x, "train");
  struct smf_error err = SMF_ERROR_INIT;
  ASSERT_EQ(eval(x, "smflow.log('epochs', params.epochs, true)", &err)->type, DSL_NULL);
  lx_set_current_step(x, NULL);
  ASSERT_EQ(eval(x, "print('a', 1.5)", &err)->type, DSL_NULL);
  ASSERT_EQ(rec.n, 2);
  ASSERT_STREQ(rec.lines[0], "epochs 10 true");
  ASSERT_STREQ(rec.steps[0], "train");
  ASSERT_STREQ(rec.lines[1], "a\t1.5");
  ASSERT_STREQ(rec.steps[1], "-");
  lx_set_log_fn(x, NULL, NULL);
  ASSERT(eval(x, "smflow.fail('accuracy too low')", &err) == NULL);
  ASSERT_CONTAINS(err.message,
                  "p.yaml:1:1: in ${smflow.fail('accuracy too low')}: accuracy too low");
  ASSERT_EQ(err.klass, SMF_CLASS_HOOK);
  ASSERT(eval(x, "error('plain')", &err) == NULL);
  ASSERT_EQ(err.klass, SMF_CLASS_NONE);
  // A deliberate failure can be caught inside Lua (unlike the caps).
  ASSERT_STREQ(eval_str(x, "tostring(select(2, pcall(smflow.fail, 'caught')))"), "caught");
  lx_free(x);
}

TEST(library_json)
{
  struct lx *x = sandbox();
  ASSERT_STREQ(eval_str(x,
                        "smflow.json.encode({b = 1, a = {1, 2, {}}, c = smflow.json.null, "
                        "d = '\xc3\xa9', e = 0.9, f = 3.0, g = false, [5] = 'five'})"),
               "{\"5\":\"five\",\"a\":[1,2,{}],\"b\":1,\"c\":null,\"d\":\"\xc3\xa9\",\"e\":0.9,"
               "\"f\":3.0,\"g\":false}");
  ASSERT_STREQ(eval_str(x,
                        "smflow.json.encode('x\"y') .. smflow.json.encode(12) .. "
                        "smflow.json.encode(nil)"),
               "\"x\\\"y\"12null");
  ASSERT_STREQ(eval_str(x,
                        "(function() local v = smflow.json.decode('{\"a\":[1,2.5,null,"
                        "{\"b\":true}],\"s\":\"\\\\u00e9\"}') return math.type(v.a[1]) .. "
                        "math.type(v.a[2]) .. tostring(v.a[3] == smflow.json.null) .. "
                        "tostring(v.a[4].b) .. v.s .. #v.a end)()"),
               "integerfloattruetrue\xc3\xa9"
               "4");
  ASSERT_STREQ(eval_str(x, "smflow.json.encode(smflow.json.decode('{\"z\":1,\"a\":[]}'))"),
               "{\"a\":{},\"z\":1}");
  ASSERT_CONTAINS(eval_err(x, "smflow.json.decode('{\"a\":')"), "smflow.json.decode: ");
  ASSERT_CONTAINS(eval_err(x, "smflow.json.encode({f = print})"),
                  "a function value has no JSON form");
  ASSERT_CONTAINS(eval_err(x, "smflow.json.encode(0/0)"), "NaN");
  ASSERT_CONTAINS(eval_err(x, "smflow.json.encode({'\\xff'})"), "not valid UTF-8");
  ASSERT_CONTAINS(eval_err(x, "smflow.json.encode({[true] = 1})"), "a boolean key");
  ASSERT_CONTAINS(
      eval_err(x, "(function() local t = {} t[1] = t return smflow.json.encode(t) end)()"),
      "nested more than");
  lx_free(x);
}

TEST(library_uri_and_time)
{
  struct lx *x = sandbox();
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('s3://b/', '/models/', 'x.tar.gz')"),
               "s3://b/models/x.tar.gz");
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('s3://b', 'p/')"), "s3://b/p/");
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('s3://', 'b', 'k')"), "s3://b/k");
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('/a//', '', '//b', 'c')"), "/a/b/c");
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('file:///tmp', 'x')"), "file:///tmp/x");
  ASSERT_STREQ(eval_str(x, "smflow.uri.join('rel')"), "rel");
  ASSERT_CONTAINS(eval_err(x, "smflow.uri.join('a', {})"), "bad argument #2 to 'join'");
  ASSERT_STREQ(eval_str(x,
                        "(function() local u = smflow.uri.parse('s3://bkt/a/b.tar.gz') "
                        "return u.scheme .. '|' .. u.bucket .. '|' .. u.key end)()"),
               "s3|bkt|a/b.tar.gz");
  ASSERT_STREQ(eval_str(x,
                        "(function() local u = smflow.uri.parse('s3://bkt') "
                        "return u.bucket .. '|' .. u.key end)()"),
               "bkt|");
  ASSERT_STREQ(eval_str(x,
                        "(function() local u = smflow.uri.parse('file:///tmp/m') "
                        "return u.scheme .. '|' .. u.host .. '|' .. u.path end)()"),
               "file||/tmp/m");
  ASSERT_STREQ(eval_str(x,
                        "(function() local u = smflow.uri.parse('http://h:8080/p?q') "
                        "return u.host .. '|' .. u.path end)()"),
               "h:8080|/p?q");
  ASSERT_STREQ(eval_str(x,
                        "(function() local u = smflow.uri.parse('models/x') "
                        "return u.scheme .. '|' .. u.path end)()"),
               "file|models/x");
  ASSERT_CONTAINS(eval_err(x, "smflow.uri.parse('s3:///k')"), "has no bucket");
  ASSERT_CONTAINS(eval_err(x, "smflow.uri.parse('1x://a')"), "no valid scheme");
  ASSERT_STREQ(eval_str(x, "smflow.time.format('%Y-%m-%d %H:%M:%S', 0)"), "1970-01-01 00:00:00");
  ASSERT_STREQ(eval_str(x, "smflow.time.format('model-%Y%m%d-%H%M%S', 1795307760)"),
               "model-20261122-003600");
  ASSERT_STREQ(eval_str(x, "tostring(#smflow.time.format('%Y') == 4)"), "true");
  lx_free(x);
}

// ---- Lua helpers shipped in lua/smflow ----

TEST(helpers_versioned_semver_webhook)
{
  struct lx *x = sandbox();
  ASSERT_STREQ(eval_str(x, "require('smflow.versioned').name(nil, 1795307760)"),
               "model-20261122-003600");
  ASSERT_STREQ(eval_str(x, "require('smflow.versioned').path('s3://b/models/', 'clf', 0)"),
               "s3://b/models/clf-19700101-000000/");
  ASSERT_STREQ(eval_str(x,
                        "(function() local p, t = require('smflow.versioned').parse("
                        "'s3://b/m/model-20261122-003600/') return p .. ' ' .. t end)()"),
               "model 1795307760");
  ASSERT_STREQ(eval_str(x, "tostring(require('smflow.versioned').parse('model-2026'))"), "nil");
  ASSERT_STREQ(eval_str(x,
                        "require('smflow.versioned').latest({'model-20250101-000000', "
                        "'model-20261122-003600', 'other-20991231-000000', 'junk'}, 'model')"),
               "model-20261122-003600");
  ASSERT_STREQ(eval_str(x,
                        "(function() local s = require 'smflow.semver' return "
                        "s.bump('1.4.2', 'minor') .. ' ' .. s.bump('1.4.2', 'major') .. ' ' .. "
                        "s.bump('v1.4.2', 'patch') .. ' ' .. s.bump('2.0.0-rc.1', 'major') .. "
                        "' ' .. s.bump('1.2.3-beta', 'patch') end)()"),
               "1.5.0 2.0.0 1.4.3 2.0.0 1.2.3");
  ASSERT_STREQ(eval_str(x,
                        "(function() local s = require 'smflow.semver' local r = {} "
                        "local pairs_ = {{'1.0.0', '2.0.0'}, {'1.0.0-rc.1', '1.0.0'}, "
                        "{'1.0.0-alpha', '1.0.0-alpha.1'}, {'1.0.0-alpha.1', '1.0.0-alpha.beta'}, "
                        "{'1.0.0-beta.2', '1.0.0-beta.11'}, {'1.0.0+b1', '1.0.0+b2'}, "
                        "{'1.10.0', '1.9.0'}} "
                        "for _, p in ipairs(pairs_) do r[#r+1] = s.compare(p[1], p[2]) end "
                        "return table.concat(r, ',') end)()"),
               "-1,-1,-1,-1,-1,0,1");
  ASSERT_STREQ(eval_str(x,
                        "(function() local s = require 'smflow.semver' "
                        "local v = s.parse('1.2.3-rc.1+sha.5') return tostring(v) .. ' ' .. "
                        "v.pre[2] .. ' ' .. tostring(s.parse('1.2.3') > v) .. ' ' .. "
                        "tostring(s.parse('01.2.3')) .. ' ' .. tostring(s.parse('1.2')) end)()"),
               "1.2.3-rc.1+sha.5 1 true nil nil");
  ASSERT_CONTAINS(eval_err(x, "require('smflow.semver').bump('x', 'patch')"),
                  "'x' is not MAJOR.MINOR.PATCH");
  ASSERT_CONTAINS(eval_err(x, "require('smflow.semver').bump('1.0.0', 'micro')"), "part must be");
  ASSERT_STREQ(eval_str(x,
                        "require('smflow.webhook').payload({id = 'r-1', name = 'churn', "
                        "status = 'failed', steps = {train = {state = 'failed'}, "
                        "code = {state = 'succeeded'}}})"),
               "{\"blocks\":[{\"text\":{\"text\":\":x: *churn* run `r-1` failed (failed: train)\","
               "\"type\":\"mrkdwn\"},\"type\":\"section\"},{\"elements\":[{\"text\":\"run r-1\","
               "\"type\":\"mrkdwn\"}],\"type\":\"context\"}],\"text\":\":x: *churn* run `r-1` "
               "failed (failed: train)\"}");
  ASSERT_STREQ(eval_str(x,
                        "require('smflow.webhook').text({name = 'a<b'}, {id = 'fit', "
                        "state = 'failed', error = {class = 'CapacityError', message = 'no "
                        "ml.p3 & co'}})"),
               ":x: *a&lt;b* step `fit` failed: CapacityError: no ml.p3 &amp; co");
  lx_free(x);
}

int main(void)
{
  RUN_TEST(library_log_and_fail);
  RUN_TEST(library_json);
  RUN_TEST(library_uri_and_time);
  RUN_TEST(helpers_versioned_semver_webhook);
  smf_arena_free(&A);
  return TEST_REPORT();
}

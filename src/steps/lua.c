// lua.c: the `lua` step kind — a hooks-file function run as a coroutine on the
// event loop (SPEC §3-4). `lua: NAME` or `lua: {function: NAME, args: TABLE}`;
// the function receives (step, args) and its returned table becomes the outputs.
// The coroutine and what it waits for are steps/luaco.c's; timeout and cancel
// stop it there.
//
// Intent: {attempt, function}. A lua step is at-least-once: on resume after a
// crash an attempt that had started is reported lost and runs again as a new
// attempt (a coroutine does not survive its process).
#include <jansson.h>
#include <stdlib.h>

#include "smflow/step.h"
#include "steps/kinds.h"
#include "steps/luaco.h"

struct lua_step {
  struct step_ctx *ctx;
  struct step_luaco *run;
  uv_timer_t *lost_timer;  ///< resume: reports the attempt lost
};

static const char *lua__fn(const struct dsl_node *spec)
{
  return spec->type == DSL_STR ? spec->u.str.s : dsl_map_str(spec, "function", NULL);
}

static char *lua_intent(struct step_ctx *ctx)
{
  json_t *j = json_pack("{s:i, s:s}", "attempt", ctx->attempt, "function",
                        lua__fn(ctx->spec) ? lua__fn(ctx->spec) : "");
  char *t = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return t;
}

static void lua__done(void *data, int status, const struct smf_error *err,
                      const struct dsl_node *result)
{
  struct lua_step *l = data;
  step_ctx_done(l->ctx, status, err, result);
}

static int lua_start(struct step_ctx *ctx, struct smf_error *err)
{
  struct lua_step *l = smf_xcalloc(1, sizeof(*l));
  l->ctx = ctx;
  struct step_luaco_config cfg = {.loop = ctx->loop,
                                  .x = step_ctx_lx(ctx),
                                  .step_id = ctx->step_id,
                                  .target_name = step_ctx_target_name(ctx),
                                  .region = step_ctx_region(ctx),
                                  .target = ctx->target,
                                  .done = lua__done,
                                  .data = l};
  const struct dsl_node *args[2] = {step_ctx_describe(ctx, ctx->arena),
                                    dsl_map_get(ctx->spec, "args")};
  int rc = step_luaco_start(&cfg, lua__fn(ctx->spec), args, 2, &l->run, err);
  if (rc != 0) {
    free(l);
    return rc;
  }
  ctx->kind_data = l;
  return 0;
}

static void lua__lost_cb(uv_timer_t *t)
{
  struct lua_step *l = t->data;
  struct smf_error err = SMF_ERROR_INIT;
  SMF_ERR_SET(&err, SMF_ENOENT, "a lua step's coroutine ends with its smflow process");
  step_ctx_done(l->ctx, SMF_ENOENT, &err, NULL);
}

// A coroutine does not survive its process: report the attempt lost (a new one starts).
static int lua_resume(struct step_ctx *ctx, const char *intent_json, struct smf_error *err)
{
  (void)intent_json;
  (void)err;
  struct lua_step *l = smf_xcalloc(1, sizeof(*l));
  l->ctx = ctx;
  l->lost_timer = smf_xcalloc(1, sizeof(*l->lost_timer));
  uv_timer_init(ctx->loop, l->lost_timer);
  l->lost_timer->data = l;
  uv_timer_start(l->lost_timer, lua__lost_cb, 0, 0);
  ctx->kind_data = l;
  return 0;
}

static void lua_cancel(struct step_ctx *ctx, int reason, bool kill_now)
{
  (void)kill_now;
  struct lua_step *l = ctx->kind_data;
  if (l != NULL && l->run != NULL) {
    step_luaco_cancel(l->run, reason);
  }
}

static void lua__timer_closed(uv_handle_t *h)
{
  free(h);
}

static void lua_free(struct step_ctx *ctx)
{
  struct lua_step *l = ctx->kind_data;
  if (l == NULL) {
    return;
  }
  ctx->kind_data = NULL;
  step_luaco_close(l->run);
  if (l->lost_timer != NULL) {
    uv_close((uv_handle_t *)l->lost_timer, lua__timer_closed);
  }
  free(l);
}

const struct step_kind step_kind_lua = {
    .name = "lua",
    .kind = DSL_KIND_LUA,
    .intent = lua_intent,
    .start = lua_start,
    .resume = lua_resume,
    .cancel = lua_cancel,
    .free = lua_free,
};

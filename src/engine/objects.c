// objects.c: the store objects a step wrote, on a run whose state database
// leaves their syncs to its end (a local run, state.h): recorded in the same
// commit as the step's result, and checked by resume before it skips a
// succeeded step.
//
// A commit of such a run is not synced and the kernel may write the log
// before an object it names, so a power loss can leave a succeeded step whose
// model.tar.gz is missing or short. The store notes every object it renames
// into place (state_object_written, on the thread pool); whenever an attempt
// completes, the objects noted since the last completion are handed to every
// step with an attempt in flight — the writer is among them, since its writes
// end before its attempt does; concurrent steps may get an object of another
// (resume then runs them again, never too few). A succeeded step records its
// list; resume stats each record (exists, same size) and runs again a step
// whose object is gone or short, and every step downstream of it.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/eng_int.h"
#include "smflow/log.h"

void eng_objects_claim(struct eng *e)
{
  struct state_object *v = NULL;
  size_t n = 0;
  state_objects_take(e->st, &v, &n);
  for (size_t k = 0; n > 0 && k < e->n; k++) {
    struct eng_step *s = &e->steps[k];
    if (!s->active) {
      continue;
    }
    s->objs = smf_xrealloc(s->objs, (s->n_objs + n) * sizeof(*s->objs));
    for (size_t i = 0; i < n; i++) {
      s->objs[s->n_objs++] =
          (struct state_object){.path = smf_xstrdup(v[i].path), .size = v[i].size};
    }
  }
  state_objects_free(v, n);
}

void eng_objects_drop(struct eng_step *s)
{
  state_objects_free(s->objs, s->n_objs);
  s->objs = NULL;
  s->n_objs = 0;
}

void eng_objects_record(struct eng_step *s)
{
  struct eng *e = s->eng;
  struct smf_error err = SMF_ERROR_INIT;
  // Replaced even by an empty list: a step run again may have written nothing.
  if (!e->fatal && state_objects_deferred(e->st) &&
      state_step_objects_put(e->st, e->run_id, s->def->id, s->objs, s->n_objs, &err) != 0) {
    eng_fatal(e, &err);
  }
  eng_objects_drop(s);
}

// Why the record's object cannot be trusted (a static string plus *size), or NULL.
static const char *eng__object_problem(const struct state_object *o, uint64_t *size)
{
  struct stat sb;
  if (stat(o->path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    return "is missing";
  }
  *size = (uint64_t)sb.st_size;
  return *size == o->size ? NULL : "is short";
}

// A finished step runs again: it is pending, with what is left of its budget.
static int eng__rerun(struct eng *e, struct eng_step *s, const char *why, struct smf_error *err)
{
  s->state = STEP_PENDING;
  e->finished--;
  free(s->outputs_json);
  s->outputs_json = NULL;
  s->finished_ms = 0;
  free(s->err_message);
  s->err_message = smf_xstrdup(why);
  s->err_class = SMF_CLASS_NONE;
  eng_step_persist(s);
  return state_step_budget_failures(e->st, e->run_id, s->def->id, &s->failures, err);
}

// Steps downstream of one that runs again run again too (their inputs change).
static int eng__rerun_downstream(struct eng *e, struct smf_error *err)
{
  bool changed = true;
  int rc = 0;
  while (changed && rc == 0) {
    changed = false;
    for (size_t k = 0; k < e->n && rc == 0; k++) {
      struct eng_step *s = &e->steps[k];
      if (!s->selected || (s->state != STEP_SUCCEEDED && s->state != STEP_SKIPPED)) {
        continue;
      }
      for (size_t i = 0; i < s->def->n_needs; i++) {
        const struct dsl_step *d = dsl_pipeline_step(e->p, s->def->needs[i]);
        const struct eng_step *up = d ? &e->steps[d->index] : NULL;
        if (up && up->selected && up->state == STEP_PENDING && up->rerun) {
          smf_log_step(SMF_LOG_WARN, s->def->id, "runs again: upstream step '%s' runs again",
                       up->def->id);
          char why[160];
          snprintf(why, sizeof(why), "upstream step '%s' runs again", up->def->id);
          s->rerun = true;
          rc = eng__rerun(e, s, why, err);
          changed = true;
          break;
        }
      }
    }
  }
  return rc;
}

bool eng_objects_intact(struct eng *e, const char *run_id, const char *step_id, char *why,
                        size_t cap)
{
  struct state_object *v = NULL;
  size_t n = 0;
  struct smf_error err = SMF_ERROR_INIT;
  bool ok = state_step_objects_list(e->st, run_id, &v, &n, &err) == 0;
  for (size_t i = 0; ok && i < n; i++) {
    uint64_t size = 0;
    const char *problem = strcmp(v[i].step_id, step_id) == 0 ? eng__object_problem(&v[i], &size)
                                                             : NULL;
    if (problem != NULL) {
      snprintf(why, cap, "store object %s %s", v[i].path, problem);
      ok = false;
    }
  }
  state_objects_free(v, n);
  return ok;
}

int eng_objects_check(struct eng *e, struct smf_error *err)
{
  struct state_object *v = NULL;
  size_t n = 0;
  int rc = state_step_objects_list(e->st, e->run_id, &v, &n, err);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const struct dsl_step *d = dsl_pipeline_step(e->p, v[i].step_id);
    struct eng_step *s = d ? &e->steps[d->index] : NULL;
    uint64_t size = 0;
    const char *problem = NULL;
    if (s == NULL || !s->selected || s->state != STEP_SUCCEEDED ||
        (problem = eng__object_problem(&v[i], &size)) == NULL) {
      continue;
    }
    char why[1024];
    if (strcmp(problem, "is short") == 0) {
      snprintf(why, sizeof(why), "store object %s has %llu bytes, not %llu", v[i].path,
               (unsigned long long)size, (unsigned long long)v[i].size);
    } else {
      snprintf(why, sizeof(why), "store object %s is missing", v[i].path);
    }
    smf_log_step(SMF_LOG_WARN, s->def->id,
                 "runs again: %s (written before the machine stopped, never synced)", why);
    s->rerun = true;
    rc = eng__rerun(e, s, why, err);
  }
  state_objects_free(v, n);
  return rc == 0 ? eng__rerun_downstream(e, err) : rc;
}

// schema.c: the state database's schema — the ordered migrations, and the
// newest schema a new database gets at once (as a ready-made file image,
// generated from this script at build time: dbimage_main.c).
//
// Plain strings, no SQLite: the build's image generator links this file alone.
#include "state/registry_sql.h"
#include "state/schema.h"

#define SCHEMA__COUNT(a) (sizeof(a) / sizeof((a)[0]))

// Unchanged since the first version: the same text in migration 1 and in the
// newest schema (schema__newest).
#define STATE__ATTEMPTS_EVENTS                                                          \
  "CREATE TABLE attempts ("                                                             \
  "  run_id TEXT NOT NULL,"                                                             \
  "  step_id TEXT NOT NULL,"                                                            \
  "  attempt INTEGER NOT NULL,"                                                         \
  "  intent_json TEXT NOT NULL,"                                                        \
  "  intent_at INTEGER NOT NULL,"                                                       \
  "  result TEXT,"                                                                      \
  "  result_json TEXT,"                                                                 \
  "  result_at INTEGER,"                                                                \
  "  PRIMARY KEY (run_id, step_id, attempt));"                                          \
  "CREATE TABLE events ("                                                               \
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"                                            \
  "  run_id TEXT NOT NULL,"                                                             \
  "  step_id TEXT,"                                                                     \
  "  at INTEGER NOT NULL,"                                                              \
  "  type TEXT NOT NULL,"                                                               \
  "  detail_json TEXT);"                                                                \
  "CREATE INDEX events_by_run ON events(run_id, seq);"

// Ordered migrations: entry i brings the schema from user_version i to i+1.
// Never edit a released entry; append a new one (and change schema__newest,
// a new database's schema, to match).
static const char *const schema__migrations[] = {
    // 1: runs, steps, attempts, events.
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  pipeline_path TEXT NOT NULL,"
    "  pipeline_sha256 TEXT NOT NULL,"
    "  name TEXT,"
    "  target TEXT,"
    "  params_json TEXT,"
    "  vars_json TEXT,"
    "  globals_json TEXT,"
    "  status TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  exit_code INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE steps ("
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  id TEXT NOT NULL,"
    "  kind TEXT,"
    "  state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  outputs_json TEXT,"
    "  error_class TEXT,"
    "  error_message TEXT,"
    "  remote_name TEXT,"
    "  seq INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, id));"
    STATE__ATTEMPTS_EVENTS,
    // 2: engine options of a run (--only/--from/--max-parallel), so resume runs
    // the same selection; lookup of a step's last success for --only/--from.
    "ALTER TABLE runs ADD COLUMN options_json TEXT;"
    "CREATE INDEX steps_by_id ON steps(id, state);",
    // 3: the local model registry and the local endpoints (src/state/registry.c).
    STATE__MIGRATION_REGISTRY,
    // 4: the step cache (src/state/cache.c): reusable results by cache key, and
    // on a step served from it, where its outputs came from.
    "CREATE TABLE step_cache ("
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  outputs_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, step_id));"
    "CREATE INDEX step_cache_by_key ON step_cache(key, created_at);"
    "ALTER TABLE steps ADD COLUMN cached_from TEXT;",
    // 5: the store objects a succeeded step wrote, recorded with its result on
    // a run whose commits are synced at its end only (objsync.c): resume
    // checks that they reached the disk before it skips the step.
    "CREATE TABLE step_objects ("
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, step_id, path));",
};

// A new database's schema: what the migrations above leave, created at once
// (tests/unit/test_state.c compares the two). The migrations' ALTER TABLEs are
// the costly part of opening a new database: after each, SQLite checks and
// parses the whole schema again; this script only parses each statement once.
// A new migration changes this script too.
static const char schema__newest[] =
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  pipeline_path TEXT NOT NULL,"
    "  pipeline_sha256 TEXT NOT NULL,"
    "  name TEXT,"
    "  target TEXT,"
    "  params_json TEXT,"
    "  vars_json TEXT,"
    "  globals_json TEXT,"
    "  status TEXT NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  exit_code INTEGER NOT NULL DEFAULT -1,"
    "  options_json TEXT);"
    "CREATE TABLE steps ("
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  id TEXT NOT NULL,"
    "  kind TEXT,"
    "  state TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  outputs_json TEXT,"
    "  error_class TEXT,"
    "  error_message TEXT,"
    "  remote_name TEXT,"
    "  seq INTEGER NOT NULL,"
    "  cached_from TEXT,"
    "  PRIMARY KEY (run_id, id));"
    STATE__ATTEMPTS_EVENTS
    "CREATE INDEX steps_by_id ON steps(id, state);"
    STATE__MIGRATION_REGISTRY
    "CREATE TABLE step_cache ("
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  outputs_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, step_id));"
    "CREATE INDEX step_cache_by_key ON step_cache(key, created_at);"
    "CREATE TABLE step_objects ("
    "  run_id TEXT NOT NULL,"
    "  step_id TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, step_id, path));";

int state__schema_version(void)
{
  return (int)SCHEMA__COUNT(schema__migrations);
}

const char *state__migration(int from)
{
  return from >= 0 && from < state__schema_version() ? schema__migrations[from] : NULL;
}

const char *state__schema_script(void)
{
  return schema__newest;
}

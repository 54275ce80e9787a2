// schema.h: the state database's schema (schema.c) and a new database's file
// image built from it (generated at build time by smflow-dbimage, see
// dbimage_main.c). Static data: nothing here is owned by a caller.
#pragma once

#include <stddef.h>

/// The newest schema version: the number of migrations (PRAGMA user_version).
int state__schema_version(void);
/// The script that brings the schema from version `from` to from + 1; NULL
/// when there is none.
const char *state__migration(int from);
/// The newest schema at once: what every migration in order leaves
/// (tests/unit/test_state.c compares the two).
const char *state__schema_script(void);

/// A new state.db with the newest schema, in WAL mode, with user_version set:
/// the bytes of the file (generated at build time; state_image.c).
extern const unsigned char state__image[];
/// Its size in bytes (a whole number of pages).
extern const size_t state__image_size;

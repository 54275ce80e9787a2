// archive_int.h: internals shared by archive_pack.c, archive_extract.c and
// archive_async.c. Not a public header.
#pragma once

#include <stdbool.h>

/// True for path components that packing never descends into (see archive.h).
bool smf__archive_excluded(const char *name);

/// Lexically check that symlink target `target`, stored at `link_path` (a
/// relative path inside some tree), stays inside that tree. Absolute targets
/// never do.
bool smf__archive_link_inside(const char *link_path, const char *target);

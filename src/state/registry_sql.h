// registry_sql.h: the schema of the local model registry and endpoints
// (migration 3 of state.c). Kept beside registry.c, which reads and writes it.
#pragma once

#define STATE__MIGRATION_REGISTRY                                                  \
  "CREATE TABLE model_package_groups ("                                            \
  "  name TEXT PRIMARY KEY,"                                                       \
  "  description TEXT,"                                                            \
  "  created_at INTEGER NOT NULL);"                                                \
  "CREATE TABLE model_packages ("                                                  \
  "  grp TEXT NOT NULL REFERENCES model_package_groups(name),"                     \
  "  version INTEGER NOT NULL,"                                                    \
  "  arn TEXT NOT NULL,"                                                           \
  "  approval TEXT NOT NULL,"                                                      \
  "  model_data TEXT,"                                                             \
  "  image_uri TEXT,"                                                              \
  "  description TEXT,"                                                            \
  "  metrics_uri TEXT,"                                                            \
  "  metadata_json TEXT,"                                                          \
  "  created_at INTEGER NOT NULL,"                                                 \
  "  updated_at INTEGER NOT NULL,"                                                 \
  "  PRIMARY KEY (grp, version));"                                                 \
  "CREATE TABLE endpoints ("                                                       \
  "  name TEXT PRIMARY KEY,"                                                       \
  "  url TEXT,"                                                                    \
  "  pid INTEGER,"                                                                 \
  "  start_time INTEGER,"                                                          \
  "  model_name TEXT,"                                                             \
  "  model_data TEXT,"                                                             \
  "  config_name TEXT,"                                                            \
  "  spec_json TEXT,"                                                              \
  "  created_at INTEGER NOT NULL,"                                                 \
  "  updated_at INTEGER NOT NULL);"

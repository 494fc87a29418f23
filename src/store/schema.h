/* schema.h — the catalog schema as numbered migrations (docs/catalog.md). */
#ifndef DQR_STORE_SCHEMA_H
#define DQR_STORE_SCHEMA_H

#include <stddef.h>

/* Migration i+1 is list[i]; *n gets their count. SQL is portable between
 * backends except {{PK}}, the auto-numbered primary key type (never reusing
 * an id), and {{only:NAME}}...{{end}}, a part run only on the backend named
 * NAME (store_backend's name: "sqlite" or "postgresql"). */
const char *const *store_migrations(size_t *n);

#endif

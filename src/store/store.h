/* store.h — the catalog: one SQL interface over interchangeable backends.
 *
 * Callers (the gateway) write portable SQL with `?` placeholders and read
 * rows through a callback; the backend (SQLite now, PostgreSQL later) hides
 * its driver, its placeholder syntax and its connection handling. The schema
 * lives here too, as numbered migrations applied in order at open, so every
 * backend and every node of a deployment agree on one version.
 *
 * A store is shared by every thread of the process: each call is atomic, and
 * store_tx runs a function inside one transaction.
 */
#ifndef DQR_STORE_H
#define DQR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/error.h"

typedef struct store store;

typedef enum store_type { STORE_NULL, STORE_INT, STORE_TEXT, STORE_BLOB } store_type;

/* One parameter or column value. Text is NUL-terminated UTF-8 (n unused for
 * parameters); a blob is n bytes. Values handed to a row callback are valid
 * only during the call. */
typedef struct store_val {
    store_type type;
    int64_t i;
    const char *s;
    size_t n;
} store_val;

#define STORE_I(x) ((store_val){STORE_INT, (int64_t)(x), NULL, 0})
#define STORE_S(x) store_text(x)
static inline store_val store_text(const char *s)
{
    return (store_val){s ? STORE_TEXT : STORE_NULL, 0, s, 0};
}
#define STORE_B(p, len) ((store_val){STORE_BLOB, 0, (const char *)(p), (len)})

/* Called once per result row; return non-zero to stop reading rows. */
typedef int (*store_row_fn)(void *ctx, int ncols, const char *const *names, const store_val *cols);

/* Open the catalog named by url: "sqlite:PATH" or a bare PATH (SQLite;
 * created if missing). Applies pending migrations. Returns NULL with err
 * filled (an unsupported scheme such as postgresql: says so). */
store *store_open(const char *url, dqr_error *err);
/* Like store_open, but applies migrations only up to version (1..the
 * current one): builds a catalog as an earlier dqr left it, so the tests of
 * upgrades can fill it and open it again with store_open. A catalog already
 * at or past version is opened as it is: `dqr backup` opens one at the
 * version store_check reports, so it never migrates a catalog that a
 * running, maybe older, dqr serve uses. Not for the gateway. */
store *store_open_at_version(const char *url, int version, dqr_error *err);
void store_close(store *s);

/* Whether the catalog at url can be opened, without changing it: connects
 * (an SQLite file that does not exist yet is fine: *version 0) and reads
 * its schema version into *version. Fails, as store_open would, when the
 * catalog is unreachable or newer than this dqr. */
dqr_status store_check(const char *url, int *version, dqr_error *err);

/* A consistent snapshot of the open catalog into the new file dest, taken
 * online (other threads and processes keep reading and writing): SQLite's
 * backup API into an SQLite file; for PostgreSQL, pg_dump's custom format
 * (one REPEATABLE READ snapshot; the pg_dump binary must be installed). */
dqr_status store_backup(store *s, const char *dest, dqr_error *err);

/* Load a snapshot made by store_backup (of the same backend) into the
 * catalog at url. Refused with DQR_E_CONFLICT when that catalog already
 * holds tables, unless replace is set (then they are replaced). The next
 * store_open migrates it if the snapshot is older than this dqr. */
dqr_status store_restore(const char *url, const char *src, bool replace, dqr_error *err);

/* The backend's name ("sqlite") and the schema version after open. */
const char *store_backend(const store *s);
int store_schema_version(const store *s);

/* Run one statement with nargs parameters; rows go to fn (may be NULL). A
 * unique-constraint violation fails with DQR_E_CONFLICT. *changes (may be
 * NULL) gets the number of rows inserted, updated or deleted. */
dqr_status store_exec(store *s, const char *sql, const store_val *args, int nargs, store_row_fn fn, void *ctx,
                      int64_t *changes, dqr_error *err);

/* Run fn inside one transaction: committed if fn returns DQR_OK, rolled back
 * otherwise (fn's status is returned). Other threads wait meanwhile. */
typedef dqr_status (*store_tx_fn)(void *ctx, store *s, dqr_error *err);
dqr_status store_tx(store *s, store_tx_fn fn, void *ctx, dqr_error *err);

/* Convenience for single-value queries: the first column of the first row
 * as an integer (*out untouched and DQR_E_NOTFOUND when there is no row). */
dqr_status store_int(store *s, const char *sql, const store_val *args, int nargs, int64_t *out, dqr_error *err);

#endif

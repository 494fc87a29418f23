/* backend.h — what a catalog backend provides to store.c. One struct of
 * functions per driver; store.c adds locking, migrations and helpers. */
#ifndef DQR_STORE_BACKEND_H
#define DQR_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_driver {
    const char *name;
    /* Open the database at target (the url without its scheme). */
    void *(*open)(const char *target, dqr_error *err);
    void (*close)(void *db);
    dqr_status (*exec)(void *db, const char *sql, const store_val *args, int nargs, store_row_fn fn, void *ctx,
                       int64_t *changes, dqr_error *err);
    /* The dialect: auto-numbered primary key, 64-bit integer column type
     * (the schema's INTEGER), and how a writing transaction begins. */
    const char *serial_pk, *int_type, *begin_sql;
    /* A consistent copy of the open catalog db (reached by target) into the
     * new file dest, while other processes keep writing; and the reverse:
     * the copy src loaded into the catalog at target, which must be empty
     * unless replace is set. */
    dqr_status (*backup)(void *db, const char *target, const char *dest, dqr_error *err);
    dqr_status (*restore)(const char *target, const char *src, bool replace, dqr_error *err);
} store_driver;

extern const store_driver store_sqlite_driver, store_postgres_driver;

#endif

/* test_store.c — the catalog interface on SQLite (migrations, statements,
 * conflicts, transactions, reopening) and the PHI vault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "store/vault.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dqr-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static store *open_in(const char *name)
{
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s/%s", dir, name);
    dqr_error err = {0};
    store *s = store_open(url, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.message);
    return s;
}

static void test_migrations_and_reopen(void **state)
{
    (void)state;
    store *s = open_in("a.db");
    assert_non_null(s);
    assert_string_equal(store_backend(s), "sqlite");
    assert_true(store_schema_version(s) >= 1);
    int v = store_schema_version(s);
    dqr_error err = {0};
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES (?, ?)",
                                (store_val[]){STORE_S("k"), STORE_S("v1")}, 2, NULL, NULL, NULL, &err),
                     DQR_OK);
    store_close(s);
    s = open_in("a.db"); /* a second open applies nothing and keeps the rows */
    assert_non_null(s);
    assert_int_equal(store_schema_version(s), v);
    int64_t n = 0;
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM schema_version", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, v);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings WHERE value = 'v1'", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 1);
    store_close(s);
}

static int collect(void *ctx, int n, const char *const *names, const store_val *cols)
{
    char *out = ctx;
    for (int i = 0; i < n; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "%s=%s;", names[i],
                 cols[i].type == STORE_TEXT ? cols[i].s : cols[i].type == STORE_NULL ? "null" : "int");
        strcat(out, cell);
    }
    return 0;
}

static void test_exec_rows_conflict_changes(void **state)
{
    (void)state;
    store *s = open_in("b.db");
    dqr_error err = {0};
    int64_t changes = -1;
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES ('a', 'x'), ('b', NULL)", NULL, 0, NULL,
                                NULL, &changes, &err),
                     DQR_OK);
    assert_int_equal(changes, 2);
    char out[256] = "";
    assert_int_equal(store_exec(s, "SELECT key, value FROM settings ORDER BY key", NULL, 0, collect, out, NULL, &err),
                     DQR_OK);
    assert_string_equal(out, "key=a;value=x;key=b;value=null;");
    assert_int_equal(store_exec(s, "INSERT INTO settings(key, value) VALUES ('a', 'y')", NULL, 0, NULL, NULL, NULL,
                                &err),
                     DQR_E_CONFLICT);
    assert_int_equal(store_exec(s, "SELECT nope FROM settings", NULL, 0, NULL, NULL, NULL, &err), DQR_E_IO);
    assert_non_null(strstr(err.message, "nope"));
    int64_t v = 0;
    assert_int_equal(store_int(s, "SELECT 1 FROM settings WHERE key = 'zz'", NULL, 0, &v, &err), DQR_E_NOTFOUND);
    store_close(s);
}

static dqr_status insert_then_fail(void *ctx, store *s, dqr_error *err)
{
    (void)ctx;
    store_exec(s, "INSERT INTO settings(key, value) VALUES ('t', 'x')", NULL, 0, NULL, NULL, NULL, err);
    return dqr_error_set(err, DQR_E_USAGE, "changed my mind");
}

static dqr_status insert_ok(void *ctx, store *s, dqr_error *err)
{
    (void)ctx;
    return store_exec(s, "INSERT INTO settings(key, value) VALUES ('t', 'y')", NULL, 0, NULL, NULL, NULL, err);
}

static void test_transactions(void **state)
{
    (void)state;
    store *s = open_in("c.db");
    dqr_error err = {0};
    int64_t n = -1;
    assert_int_equal(store_tx(s, insert_then_fail, NULL, &err), DQR_E_USAGE);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 0); /* rolled back */
    assert_int_equal(store_tx(s, insert_ok, NULL, &err), DQR_OK);
    assert_int_equal(store_int(s, "SELECT COUNT(*) FROM settings", NULL, 0, &n, &err), DQR_OK);
    assert_int_equal(n, 1);
    store_close(s);
}

static void test_postgres_unreachable(void **state)
{
    (void)state;
    dqr_error err = {0};
    assert_null(store_open("postgresql://nobody@127.0.0.1:1/dqr?connect_timeout=2", &err));
    assert_int_equal(err.code, DQR_E_IO);
    assert_non_null(strstr(err.message, "PostgreSQL catalog"));
}

static void test_vault(void **state)
{
    (void)state;
    char key[128];
    snprintf(key, sizeof key, "%s/keys/sub/vault.key", dir);
    dqr_error err = {0};
    store_vault *v = store_vault_open(key, &err);
    assert_non_null(v);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *phi = "DQRC_NAME^CANARY";
    char *a = store_vault_seal(v, phi, strlen(phi)), *b = store_vault_seal(v, phi, strlen(phi));
    assert_non_null(a);
    assert_null(strstr(a, "DQRC"));
    assert_string_not_equal(a, b); /* fresh nonce each time */
    char *plain = NULL;
    size_t n = 0;
    assert_int_equal(store_vault_unseal(v, a, &plain, &n, &err), DQR_OK);
    assert_string_equal(plain, phi);
    assert_int_equal(n, strlen(phi));
    free(plain);
    a[10] = a[10] == 'A' ? 'B' : 'A'; /* altered text is refused */
    assert_int_equal(store_vault_unseal(v, a, &plain, &n, &err), DQR_E_PARSE);
    store_vault_close(v);
    v = store_vault_open(key, &err); /* same key on reopen */
    assert_int_equal(store_vault_unseal(v, b, &plain, &n, &err), DQR_OK);
    free(plain);
    store_vault_close(v);
    chmod(key, 0644);
    assert_null(store_vault_open(key, &err));
    assert_non_null(strstr(err.message, "chmod 600"));
    free(a), free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_and_reopen), cmocka_unit_test(test_exec_rows_conflict_changes),
        cmocka_unit_test(test_transactions),          cmocka_unit_test(test_postgres_unreachable),
        cmocka_unit_test(test_vault),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

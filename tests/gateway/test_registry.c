/* test_registry.c — the pseudonym registry of returning patients
 * (gateway/import/registry.h) on a real SQLite catalog and vault: the
 * lookup key, binding at the first archived instance, the label checks of
 * an enforcing project, and nothing of the patient in clear in the row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/import/registry.h"

typedef struct fixture {
    gw g;
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char url[128], key[128];
    dqr_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/dqr-registry-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(url, sizeof url, "sqlite:%s/catalog.db", f->dir);
    snprintf(key, sizeof key, "%s/keys/vault.key", f->dir);
    f->g.db = store_open(url, &err);
    assert_non_null(f->g.db);
    f->g.vault = store_vault_open(key, &err);
    assert_non_null(f->g.vault);
    assert_int_equal(store_exec(f->g.db,
                                "INSERT INTO projects(id, name, dqr_enabled, created, updated, returning_patients) "
                                "VALUES ('P1', 'P1', 1, 0, 0, 'enforce'), ('P2', 'P2', 1, 0, 0, 'propose')",
                                NULL, 0, NULL, NULL, NULL, &err),
                     DQR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    store_vault_close(f->g.vault);
    store_close(f->g.db);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void test_key(void **state)
{
    gw *g = &((fixture *)*state)->g;
    char a[65], b[65], c[65], d[65], e[65];
    gw_registry_key(g, "P1", "HOSP", "12345", a);
    gw_registry_key(g, "P1", "HOSP", "12345", b);
    assert_int_equal(strlen(a), 64);
    assert_string_equal(a, b); /* the same patient, the same key */
    gw_registry_key(g, "P2", "HOSP", "12345", c);
    assert_string_not_equal(a, c); /* another project: unrelated */
    gw_registry_key(g, "P1", "HOSP1", "2345", d);
    assert_string_not_equal(a, d); /* the fields are kept apart */
    gw_registry_key(g, "P1", NULL, "12345", e);
    assert_string_not_equal(a, e); /* the issuer counts */
    gw_registry_key(g, "P1", "HOSP", "", e);
    assert_string_equal(e, ""); /* no PatientID: never registered */
    assert_null(strstr(a, "12345"));
}

/* A job of project for subject whose first instance carries pid. */
static void first_instance(gw *g, gw_job *j, const char *project, const char *subject, const char *pid)
{
    memset(j, 0, sizeof *j);
    pthread_mutex_init(&j->lock, NULL);
    j->id = 1;
    snprintf(j->project, sizeof j->project, "%s", project);
    snprintf(j->subject, sizeof j->subject, "%s", subject);
    dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_text(ds, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, pid, NULL, NULL);
    gw_registry_session_start(g, j, ds);
    dcm_dataset_free(ds);
}

static void done(gw_job *j)
{
    free(j->reg_sealed);
    pthread_mutex_destroy(&j->lock);
}

static void test_bind_and_check(void **state)
{
    gw *g = &((fixture *)*state)->g;
    gw_job j;
    char key[65], known[65], msg[300];
    gw_registry_key(g, "P1", "", "PAT-ONE-12345", key);
    assert_false(gw_registry_conflict(g, "P1", key, "S009", known, msg, sizeof msg)); /* unknown yet */
    first_instance(g, &j, "P1", "S001", "PAT-ONE-12345");
    assert_string_equal(j.reg_refusal, "");
    gw_registry_bind(g, &j); /* the first archived instance */
    done(&j);
    assert_true(gw_registry_conflict(g, "P1", key, "S009", known, msg, sizeof msg));
    assert_string_equal(known, "S001");
    assert_non_null(strstr(msg, "known as subject S001"));
    assert_false(gw_registry_conflict(g, "P1", key, "S001", known, msg, sizeof msg));
    char other[65];
    gw_registry_key(g, "P1", "", "PAT-TWO-67890", other);
    assert_true(gw_registry_conflict(g, "P1", other, "S001", known, msg, sizeof msg));
    assert_non_null(strstr(msg, "another patient"));
    /* the receiver refuses a second session under another label ... */
    first_instance(g, &j, "P1", "S009", "PAT-ONE-12345");
    assert_non_null(strstr(j.reg_refusal, "known as subject S001"));
    gw_registry_bind(g, &j); /* ... and a refused session binds nothing */
    done(&j);
    /* ... but a project that only proposes does not */
    first_instance(g, &j, "P2", "X1", "PAT-ONE-12345");
    gw_registry_bind(g, &j);
    done(&j);
    first_instance(g, &j, "P2", "X2", "PAT-ONE-12345");
    assert_string_equal(j.reg_refusal, "");
    gw_registry_bind(g, &j);
    done(&j);
    int64_t n = 0;
    assert_int_equal(store_int(g->db, "SELECT COUNT(*) FROM subject_registry WHERE subject IN ('S001', 'X1')", NULL,
                               0, &n, NULL),
                     DQR_OK);
    assert_int_equal(n, 2); /* the first label stays */
    assert_int_equal(store_int(g->db,
                               "SELECT COUNT(*) FROM subject_registry WHERE orig_enc LIKE '%PAT-ONE%' OR "
                               "patient_key LIKE '%PAT-ONE%'",
                               NULL, 0, &n, NULL),
                     DQR_OK);
    assert_int_equal(n, 0); /* nothing of the patient in clear */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_and_check, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

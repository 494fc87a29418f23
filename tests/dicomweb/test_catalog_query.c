/* test_catalog_query.c — the archive's study / series / instance searches
 * (src/gateway/archive/catalog_query.c) on a catalog of known rows: each
 * case is a level, matching keys and the UIDs expected, in order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gateway/archive/catalog_query.h"

/* project, study, series, sop, date, time, name, modality */
static const char *const ROWS[][8] = {
    {"P1", "1.1", "1.1.1", "1.1.1.1", "20200315", "101500", "DOE^JOHN", "CT"},
    {"P1", "1.1", "1.1.1", "1.1.1.2", "20200315", "101500", "DOE^JOHN", "CT"},
    {"P1", "1.1", "1.1.2", "1.1.2.1", "20200315", "101500", "DOE^JOHN", "MR"},
    {"P1", "1.2", "1.2.1", "1.2.1.1", "20210101", "235959", "ROE^JANE", "US"},
    {"P2", "2.1", "2.1.1", "2.1.1.1", NULL, NULL, "S%_1", "CT"},
};

typedef struct found {
    char uids[16][65];
    size_t n;
    int uid_index;
} found;

static int keep(void *ctx, const gw_cq_row *row)
{
    found *f = ctx;
    const char *v = row->value[f->uid_index];
    if (f->n < 16)
        snprintf(f->uids[f->n++], 65, "%s", v ? v : "");
    return 0;
}

static int index_of(uint32_t tag)
{
    size_t n;
    const gw_cq_attr *a = gw_cq_attrs(&n);
    for (size_t i = 0; i < n; i++)
        if (a[i].tag == tag)
            return (int)i;
    return -1;
}

static int setup(void **state)
{
    static gw g;
    char url[64];
    snprintf(url, sizeof url, "sqlite:/tmp/dqr-cq-%d.db", (int)getpid());
    dqr_error err = {0};
    memset(&g, 0, sizeof g);
    g.db = store_open(url, &err);
    assert_non_null(g.db);
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        const char *const *r = ROWS[i];
        assert_int_equal(store_exec(g.db,
                                    "INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, "
                                    "study_uid, study_date, study_time, patient_name, modality, path, bytes, updated) "
                                    "VALUES (?, 'S', ?, ?, ?, ?, ?, ?, ?, ?, 'x', 1, 0)",
                                    (store_val[]){STORE_S(r[0]), STORE_S(r[1]), STORE_S(r[2]), STORE_S(r[3]),
                                                  STORE_S(r[1]), STORE_S(r[4]), STORE_S(r[5]), STORE_S(r[6]),
                                                  STORE_S(r[7])},
                                    9, NULL, NULL, NULL, &err),
                         DQR_OK);
    }
    assert_int_equal(store_exec(g.db, "INSERT INTO users(id, username, pw_hash, role, created) VALUES (7, 'u', 'x', 'user', 0)",
                                NULL, 0, NULL, NULL, NULL, &err),
                     DQR_OK);
    assert_int_equal(store_exec(g.db, "INSERT INTO grants(user_id, kind, target) VALUES (7, 'project', 'P2')", NULL, 0,
                                NULL, NULL, NULL, &err),
                     DQR_OK);
    *state = &g;
    return 0;
}

static int teardown(void **state)
{
    gw *g = *state;
    store_close(g->db);
    for (int i = 0; i < 3; i++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/dqr-cq-%d.db%s", (int)getpid(), (const char *[]){"", "-wal", "-shm"}[i]);
        unlink(path);
    }
    return 0;
}

typedef struct qcase {
    const char *what;
    gw_cq_level level;
    bool admin;
    const char *keys[4][2]; /* keyword, value */
    const char *expect;     /* the UIDs of the level, space-separated, in order */
} qcase;

static const qcase CASES[] = {
    {"every study", GW_CQ_STUDY, true, {{NULL}}, "2.1 1.1 1.2"},
    {"a user sees its granted project only", GW_CQ_STUDY, false, {{NULL}}, "2.1"},
    {"PN wildcard, any case", GW_CQ_STUDY, true, {{"PatientName", "doe*"}}, "1.1"},
    {"PN with ?", GW_CQ_STUDY, true, {{"PatientName", "?OE^JANE"}}, "1.2"},
    {"% and _ are no wildcards", GW_CQ_STUDY, true, {{"PatientName", "S%_1"}}, "2.1"},
    {"% literal does not match others", GW_CQ_STUDY, true, {{"PatientName", "S%"}}, ""},
    {"date range", GW_CQ_STUDY, true, {{"StudyDate", "20200101-20201231"}}, "1.1"},
    {"open date range; empty dates in none", GW_CQ_STUDY, true, {{"StudyDate", "-20251231"}}, "1.1 1.2"},
    {"time range ending at a minute", GW_CQ_STUDY, true, {{"StudyTime", "2300-2359"}}, "1.2"},
    {"exact time to the minute", GW_CQ_STUDY, true, {{"StudyTime", "1015"}}, "1.1"},
    {"UID list with commas", GW_CQ_STUDY, true, {{"StudyInstanceUID", "1.2,2.1"}}, "2.1 1.2"},
    {"UID list with backslashes", GW_CQ_STUDY, true, {{"StudyInstanceUID", "1.1\\1.2"}}, "1.1 1.2"},
    {"ModalitiesInStudy", GW_CQ_STUDY, true, {{"ModalitiesInStudy", "MR"}}, "1.1"},
    {"ModalitiesInStudy list", GW_CQ_STUDY, true, {{"ModalitiesInStudy", "US,MR"}}, "1.1 1.2"},
    {"series of a modality", GW_CQ_SERIES, true, {{"Modality", "CT"}}, "1.1.1 2.1.1"},
    {"series of studies with MR", GW_CQ_SERIES, true, {{"ModalitiesInStudy", "MR"}}, "1.1.1 1.1.2"},
    {"instances of a study", GW_CQ_INSTANCE, true, {{"StudyInstanceUID", "1.1"}}, "1.1.1.1 1.1.1.2 1.1.2.1"},
    {"universal * matches all", GW_CQ_STUDY, true, {{"PatientName", "*"}}, "2.1 1.1 1.2"},
};

static void test_cases(void **state)
{
    gw *g = *state;
    static const uint32_t uid_tag[] = {DCM_TAG(0x0020, 0x000D), DCM_TAG(0x0020, 0x000E), DCM_TAG(0x0008, 0x0018)};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const qcase *c = &CASES[i];
        gw_cq q = {.level = c->level, .admin = c->admin, .user = 7};
        for (size_t k = 0; k < 4 && c->keys[k][0]; k++) {
            uint32_t tag = 0;
            size_t n;
            const gw_cq_attr *a = gw_cq_attrs(&n);
            for (size_t j = 0; j < n; j++)
                if (strcmp(a[j].keyword, c->keys[k][0]) == 0)
                    tag = a[j].tag;
            q.match[q.nmatch++] = (gw_cq_match){gw_cq_attr_of(tag), c->keys[k][1]};
        }
        found f = {.uid_index = index_of(uid_tag[c->level])};
        dqr_error err = {0};
        assert_int_equal(gw_cq_run(g, &q, keep, &f, &err), DQR_OK);
        char got[512] = "";
        for (size_t k = 0; k < f.n; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "", f.uids[k]);
        if (strcmp(got, c->expect) != 0)
            fail_msg("%s: got '%s', expected '%s'", c->what, got, c->expect);
    }
}

static void test_counts_and_paging(void **state)
{
    gw *g = *state;
    gw_cq q = {.level = GW_CQ_STUDY, .admin = true, .limit = 1, .offset = 1};
    found f = {.uid_index = index_of(DCM_TAG(0x0020, 0x000D))};
    assert_int_equal(gw_cq_run(g, &q, keep, &f, NULL), DQR_OK);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.uids[0], "1.1"); /* the second by date: undated 2.1 sorts first */
}

static int counts(void *ctx, const gw_cq_row *row)
{
    char *out = ctx;
    snprintf(out, 64, "%s %s %s", row->value[index_of(DCM_TAG(0x0008, 0x0061))],
             row->value[index_of(DCM_TAG(0x0020, 0x1206))], row->value[index_of(DCM_TAG(0x0020, 0x1208))]);
    return 0;
}

static void test_study_values(void **state)
{
    gw *g = *state;
    gw_cq q = {.level = GW_CQ_STUDY, .admin = true, .study = "1.1"};
    char out[64] = "";
    assert_int_equal(gw_cq_run(g, &q, counts, out, NULL), DQR_OK);
    assert_string_equal(out, "CT\\MR 2 3"); /* modalities, series, instances */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_counts_and_paging),
        cmocka_unit_test(test_study_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

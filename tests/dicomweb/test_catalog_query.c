/* test_catalog_query.c — the archive's patient / study / series / instance
 * searches (src/gateway/archive/catalog_query.c, the one matcher of QIDO-RS
 * and the C-FIND SCP) on a catalog of known rows: each case is a level, an
 * asker (a user, an administrator or a DICOM client and a C-MOVE
 * destination), matching keys and the UIDs (PatientIDs) expected, in order. */
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
                                    "study_uid, study_date, study_time, patient_name, patient_id, modality, path, bytes, "
                                    "updated) VALUES (?, 'S', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'x', 1, 0)",
                                    (store_val[]){STORE_S(r[0]), STORE_S(r[1]), STORE_S(r[2]), STORE_S(r[3]),
                                                  STORE_S(r[1]), STORE_S(r[4]), STORE_S(r[5]), STORE_S(r[6]),
                                                  STORE_S(r[6]), STORE_S(r[7])},
                                    10, NULL, NULL, NULL, &err),
                         DQR_OK);
    }
    assert_int_equal(store_exec(g.db, "INSERT INTO users(id, username, pw_hash, role, created) VALUES (7, 'u', 'x', 'user', 0)",
                                NULL, 0, NULL, NULL, NULL, &err),
                     DQR_OK);
    assert_int_equal(store_exec(g.db, "INSERT INTO grants(user_id, kind, target) VALUES (7, 'project', 'P2')", NULL, 0,
                                NULL, NULL, NULL, &err),
                     DQR_OK);
    static const char *const more[] = { /* DICOM clients 3 (P1) and 4 (P2) */
        "INSERT INTO projects(id, name, created, updated) VALUES ('P1', 'P1', 0, 0), ('P2', 'P2', 0, 0)",
        "INSERT INTO dicom_clients(id, aet, host, port, created, updated) VALUES (3, 'C3', 'h', 1, 0, 0), "
        "(4, 'C4', 'h', 1, 0, 0)",
        "INSERT INTO dicom_client_projects(client_id, project) VALUES (3, 'P1'), (4, 'P2')",
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        assert_int_equal(store_exec(g.db, more[i], NULL, 0, NULL, NULL, NULL, &err), DQR_OK);
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
    int64_t client, dest; /* a DICOM client asks (and a C-MOVE's destination receives) */
    const char *keys[4][2]; /* keyword, value */
    const char *expect;     /* the UIDs of the level, space-separated, in order */
} qcase;

static const qcase CASES[] = {
    {"every study", GW_CQ_STUDY, true, 0, 0, {{NULL}}, "2.1 1.1 1.2"},
    {"a user sees its granted project only", GW_CQ_STUDY, false, 0, 0, {{NULL}}, "2.1"},
    {"every patient, once per project and PatientID", GW_CQ_PATIENT, true, 0, 0, {{NULL}}, "DOE^JOHN ROE^JANE S%_1"},
    {"a patient by name", GW_CQ_PATIENT, true, 0, 0, {{"PatientName", "doe*"}}, "DOE^JOHN"},
    {"a patient's studies (Patient Root)", GW_CQ_STUDY, true, 0, 0, {{"PatientID", "ROE^JANE"}}, "1.2"},
    {"a DICOM client sees its projects only", GW_CQ_STUDY, false, 3, 0, {{NULL}}, "1.1 1.2"},
    {"a client's patients", GW_CQ_PATIENT, false, 4, 0, {{NULL}}, "S%_1"},
    {"a client, even by UID, never another project", GW_CQ_STUDY, false, 3, 0, {{"StudyInstanceUID", "2.1"}}, ""},
    {"a C-MOVE: what both client and destination see", GW_CQ_INSTANCE, false, 3, 4, {{NULL}}, ""},
    {"a C-MOVE to a destination of the same project", GW_CQ_INSTANCE, false, 4, 4, {{NULL}}, "2.1.1.1"},
    {"PN wildcard, any case", GW_CQ_STUDY, true, 0, 0, {{"PatientName", "doe*"}}, "1.1"},
    {"PN with ?", GW_CQ_STUDY, true, 0, 0, {{"PatientName", "?OE^JANE"}}, "1.2"},
    {"% and _ are no wildcards", GW_CQ_STUDY, true, 0, 0, {{"PatientName", "S%_1"}}, "2.1"},
    {"% literal does not match others", GW_CQ_STUDY, true, 0, 0, {{"PatientName", "S%"}}, ""},
    {"date range", GW_CQ_STUDY, true, 0, 0, {{"StudyDate", "20200101-20201231"}}, "1.1"},
    {"open date range; empty dates in none", GW_CQ_STUDY, true, 0, 0, {{"StudyDate", "-20251231"}}, "1.1 1.2"},
    {"time range ending at a minute", GW_CQ_STUDY, true, 0, 0, {{"StudyTime", "2300-2359"}}, "1.2"},
    {"exact time to the minute", GW_CQ_STUDY, true, 0, 0, {{"StudyTime", "1015"}}, "1.1"},
    {"UID list with commas", GW_CQ_STUDY, true, 0, 0, {{"StudyInstanceUID", "1.2,2.1"}}, "2.1 1.2"},
    {"UID list with backslashes", GW_CQ_STUDY, true, 0, 0, {{"StudyInstanceUID", "1.1\\1.2"}}, "1.1 1.2"},
    {"ModalitiesInStudy", GW_CQ_STUDY, true, 0, 0, {{"ModalitiesInStudy", "MR"}}, "1.1"},
    {"ModalitiesInStudy list", GW_CQ_STUDY, true, 0, 0, {{"ModalitiesInStudy", "US,MR"}}, "1.1 1.2"},
    {"series of a modality", GW_CQ_SERIES, true, 0, 0, {{"Modality", "CT"}}, "1.1.1 2.1.1"},
    {"series of studies with MR", GW_CQ_SERIES, true, 0, 0, {{"ModalitiesInStudy", "MR"}}, "1.1.1 1.1.2"},
    {"instances of a study", GW_CQ_INSTANCE, true, 0, 0, {{"StudyInstanceUID", "1.1"}}, "1.1.1.1 1.1.1.2 1.1.2.1"},
    {"universal * matches all", GW_CQ_STUDY, true, 0, 0, {{"PatientName", "*"}}, "2.1 1.1 1.2"},
};

static gw_cq case_query(const qcase *c)
{
    gw_cq q = {.level = c->level, .admin = c->admin, .user = 7, .client = c->client, .dest = c->dest};
    for (size_t k = 0; k < 4 && c->keys[k][0]; k++) {
        uint32_t tag = 0;
        size_t n;
        const gw_cq_attr *a = gw_cq_attrs(&n);
        for (size_t j = 0; j < n; j++)
            if (strcmp(a[j].keyword, c->keys[k][0]) == 0)
                tag = a[j].tag;
        q.match[q.nmatch++] = (gw_cq_match){gw_cq_attr_of(tag), c->keys[k][1]};
    }
    return q;
}

static void test_cases(void **state)
{
    gw *g = *state;
    static const uint32_t uid_tag[] = {DCM_TAG(0x0010, 0x0020), DCM_TAG(0x0020, 0x000D), DCM_TAG(0x0020, 0x000E), DCM_TAG(0x0008, 0x0018)};
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const qcase *c = &CASES[i];
        gw_cq q = case_query(c);
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

/* Each study row as "uid:modalities:series:instances", space-separated. */
static int study_rows(void *ctx, const gw_cq_row *row)
{
    char *out = ctx;
    const char *v[4];
    static const uint32_t tags[] = {DCM_TAG(0x0020, 0x000D), DCM_TAG(0x0008, 0x0061), DCM_TAG(0x0020, 0x1206),
                                    DCM_TAG(0x0020, 0x1208)};
    for (size_t i = 0; i < 4; i++)
        v[i] = row->value[index_of(tags[i])] ? row->value[index_of(tags[i])] : "-";
    size_t len = strlen(out);
    snprintf(out + len, 512 - len, "%s%s:%s:%s:%s", len ? " " : "", v[0], v[1], v[2], v[3]);
    return 0;
}

static void study_page(gw *g, const qcase *c, int64_t limit, int64_t offset, char out[512])
{
    gw_cq q = case_query(c);
    q.limit = limit, q.offset = offset;
    *out = '\0';
    dqr_error err = {0};
    assert_int_equal(gw_cq_run(g, &q, study_rows, out, &err), DQR_OK);
}

/* A study search with a limit picks its page of studies first and
 * aggregates only those: each page must be the same rows, with the same
 * values, as that slice of the search without a limit. */
static void test_pages_are_slices(void **state)
{
    gw *g = *state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const qcase *c = &CASES[i];
        if (c->level != GW_CQ_STUDY)
            continue;
        char all[512], page[512], want[512] = "";
        study_page(g, c, 0, 0, all);
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(strcpy(want, all), " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            study_page(g, c, 1, (int64_t)n++, page);
            if (strcmp(page, t) != 0)
                fail_msg("%s: row %zu of a page of 1 is '%s', of the whole search '%s'", c->what, n - 1, page, t);
        }
        study_page(g, c, 1, (int64_t)n, page);
        if (*page)
            fail_msg("%s: a page past the end holds '%s'", c->what, page);
        study_page(g, c, 100, 0, page);
        if (strcmp(page, all) != 0)
            fail_msg("%s: a page of 100 is '%s', the whole search '%s'", c->what, page, all);
    }
}

static int counts(void *ctx, const gw_cq_row *row)
{
    char *out = ctx;
    snprintf(out, 64, "%s %s %s", row->value[index_of(DCM_TAG(0x0008, 0x0061))],
             row->value[index_of(DCM_TAG(0x0020, 0x1206))], row->value[index_of(DCM_TAG(0x0020, 0x1208))]);
    return 0;
}

static int patient_counts(void *ctx, const gw_cq_row *row)
{
    char *out = ctx;
    snprintf(out, 64, "%s %s %s %s", row->value[index_of(DCM_TAG(0x0020, 0x1200))],
             row->value[index_of(DCM_TAG(0x0020, 0x1202))], row->value[index_of(DCM_TAG(0x0020, 0x1204))],
             row->value[index_of(DCM_TAG(0x0020, 0x000D))] ? "study" : "no study");
    return 0;
}

static void test_patient_values(void **state)
{
    gw *g = *state;
    gw_cq q = {.level = GW_CQ_PATIENT, .admin = true, .nmatch = 1};
    q.match[0] = (gw_cq_match){gw_cq_attr_of(DCM_TAG(0x0010, 0x0020)), "DOE^JOHN"};
    char out[64] = "";
    assert_int_equal(gw_cq_run(g, &q, patient_counts, out, NULL), DQR_OK);
    assert_string_equal(out, "1 2 3 no study"); /* studies, series, instances; no study attribute */
}

static void test_study_values(void **state)
{
    gw *g = *state;
    gw_cq q = {.level = GW_CQ_STUDY, .admin = true, .study = "1.1"};
    char out[64] = "";
    assert_int_equal(gw_cq_run(g, &q, counts, out, NULL), DQR_OK);
    assert_string_equal(out, "CT\\MR 2 3"); /* modalities, series, instances */
}

/* The first instance's path, SOP Instance UID and Patient's Name. */
static int first_instance(void *ctx, const gw_cq_row *row)
{
    char *out = ctx;
    const char *sop = row->value[index_of(DCM_TAG(0x0008, 0x0018))], *pn = row->value[index_of(DCM_TAG(0x0010, 0x0010))];
    snprintf(out, 128, "%s %s %s", row->path ? "path" : "no path", sop ? sop : "-", pn ? pn : "-");
    return 1;
}

/* Only the wanted attributes are read (what WADO-RS needs of 1,000
 * instances), the rows and the path as without. */
static void test_wanted_attributes(void **state)
{
    gw *g = *state;
    static const uint32_t want[] = {DCM_TAG(0x0008, 0x0018)};
    gw_cq q = {.level = GW_CQ_INSTANCE, .admin = true, .study = "1.1"};
    char all[128] = "", some[128] = "";
    assert_int_equal(gw_cq_run(g, &q, first_instance, all, NULL), DQR_OK);
    q.want = want, q.nwant = 1;
    assert_int_equal(gw_cq_run(g, &q, first_instance, some, NULL), DQR_OK);
    assert_string_equal(all, "path 1.1.1.1 DOE^JOHN");
    assert_string_equal(some, "path 1.1.1.1 -");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_counts_and_paging),
        cmocka_unit_test(test_pages_are_slices),
        cmocka_unit_test(test_study_values),
        cmocka_unit_test(test_patient_values),
        cmocka_unit_test(test_wanted_attributes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

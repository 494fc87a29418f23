/* test_gateway.c — the gateway's pure parts: settings (defaults, file,
 * environment, errors naming the key), availability schedules, PACS
 * descriptions and query identifiers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/api/imports.h"
#include "gateway/import/quirks.h"
#include "gateway/internal.h"
#include "gateway/pacs/pacs.h"
#include "gateway/pacs/query.h"
#include "gateway/pacs/query_lists.h"
#include "gateway/pacs/schedule.h"
#include "gateway/pacs/tz.h"
#include "gateway/accounts/audit.h"
#include "web/multipart.h"

static json_t *js(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    return v;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_config_layers(void **state)
{
    (void)state;
    gw_config c;
    dqr_error err = {0};
    unsetenv("DQR_HTTP_PORT"), unsetenv("DQR_DATA_DIR"), unsetenv("DQR_VAULT_KEY_FILE");
    setenv("HOME", "/tmp/dqr-home", 1);
    unsetenv("XDG_CONFIG_HOME");
    assert_int_equal(gw_config_load(&c, NULL, &err), DQR_OK);
    assert_int_equal(c.http_port, 8080);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.aet, "DQR");
    assert_int_equal(c.dicom_port, 11112);
    assert_string_equal(c.catalog, "sqlite:./var/catalog.db");
    assert_string_equal(c.vault_key_file, "/tmp/dqr-home/.config/dqr/vault.key");
    gw_config_free(&c);

    write_file("/tmp/dqr-test-config.json", "{\"http_port\": 9000, \"data_dir\": \"/tmp/d\", \"_comment\": \"x\"}");
    setenv("DQR_HTTP_PORT", "9100", 1); /* the environment wins over the file */
    assert_int_equal(gw_config_load(&c, "/tmp/dqr-test-config.json", &err), DQR_OK);
    assert_int_equal(c.http_port, 9100);
    assert_string_equal(c.data_dir, "/tmp/d");
    assert_string_equal(c.log_file, "/tmp/d/logs/dqr.log");
    gw_config_free(&c);
    unsetenv("DQR_HTTP_PORT");
}

static void expect_config_error(const char *text, const char *needle)
{
    gw_config c;
    dqr_error err = {0};
    write_file("/tmp/dqr-test-config.json", text);
    assert_int_equal(gw_config_load(&c, "/tmp/dqr-test-config.json", &err), DQR_E_USAGE);
    if (!strstr(err.message, needle))
        fail_msg("'%s' not in '%s'", needle, err.message);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("{\"htp_port\": 1}", "unknown key 'htp_port'");
    expect_config_error("{\"http_port\": \"80\"}", "http_port must be an integer");
    expect_config_error("{\"http_port\": 70000}", "http_port must be an integer from 0 to 65535");
    expect_config_error("{\n  \"aet\": \"A\",\n  oops\n}", "dqr-test-config.json:3:");
    expect_config_error("{\"data_dir\": \"/tmp/x\", \"vault_key_file\": \"/tmp/x/k\"}", "outside data_dir");
    expect_config_error("{\"aet\": \"WAY_TOO_LONG_AE_TITLE\"}", "aet must be 1 to 16");
    gw_config c;
    dqr_error err = {0};
    setenv("DQR_QUERY_TIMEOUT", "soon", 1);
    assert_int_equal(gw_config_load(&c, NULL, &err), DQR_E_USAGE);
    assert_non_null(strstr(err.message, "DQR_QUERY_TIMEOUT"));
    unsetenv("DQR_QUERY_TIMEOUT");
}

static void expect_schedule_error(const char *text, const char *needle)
{
    gw_schedule s;
    char msg[256];
    json_t *v = js(text);
    assert_false(gw_schedule_parse(v, &s, msg, sizeof msg));
    if (!strstr(msg, needle))
        fail_msg("'%s' not in '%s'", needle, msg);
    json_decref(v);
}

static void test_schedule(void **state)
{
    (void)state;
    gw_schedule s;
    char msg[256] = "";
    gw_schedule_default(&s, "UTC");
    for (int d = 0; d < 7; d++) {
        assert_int_equal(s.n[d], 1);
        assert_non_null(gw_schedule_at(&s, d, 0));
        assert_non_null(gw_schedule_at(&s, d, 1439));
    }
    json_t *v = js("{\"timezone\": \"Europe/Berlin\", \"days\": {\"mon\": [{\"start\": \"13:00\", \"end\": \"24:00\", "
                   "\"threads\": 3}, {\"start\": \"08:00\", \"end\": \"12:00\", \"utilization\": 10}]}}");
    assert_true(gw_schedule_parse(v, &s, msg, sizeof msg));
    json_decref(v);
    assert_string_equal(s.timezone, "Europe/Berlin");
    assert_int_equal(s.n[0], 2);
    assert_int_equal(s.day[0][0].start, 8 * 60); /* sorted by start */
    assert_int_equal(s.day[0][0].utilization, 10);
    assert_int_equal(s.day[0][0].threads, 1);
    assert_int_equal(s.day[0][1].threads, 3);
    assert_int_equal(s.n[1], 0); /* days left out are closed */
    assert_null(gw_schedule_at(&s, 0, 12 * 60 + 30));
    assert_int_equal(gw_schedule_at(&s, 0, 23 * 60 + 59)->threads, 3);
    json_t *out = gw_schedule_json(&s);
    char *text = json_dumps(out, JSON_COMPACT);
    assert_non_null(strstr(text, "\"mon\":[{\"start\":\"08:00\",\"end\":\"12:00\",\"threads\":1,\"utilization\":10}"));
    free(text);
    json_decref(out);

    expect_schedule_error("{\"days\": {\"tue\": [{\"start\": \"08:00\", \"end\": \"12:00\"}, {\"start\": \"11:30\", "
                          "\"end\": \"13:00\"}]}}",
                          "tue: intervals 08:00-12:00 and 11:30-13:00 overlap");
    expect_schedule_error("{\"days\": {\"wed\": [{\"start\": \"12:00\", \"end\": \"08:00\"}]}}", "not after start");
    expect_schedule_error("{\"days\": {\"thu\": [{\"start\": \"8am\", \"end\": \"12:00\"}]}}", "HH:MM");
    expect_schedule_error("{\"days\": {\"fri\": [{\"start\": \"08:00\", \"end\": \"12:00\", \"threads\": 0}]}}",
                          "threads is 1 to 64");
    expect_schedule_error("{\"days\": {\"fri\": [{\"start\": \"08:00\", \"end\": \"12:00\", \"utilization\": 101}]}}",
                          "utilization 1 to 100");
    expect_schedule_error("{\"days\": {\"someday\": []}}", "unknown day");
    expect_schedule_error("{\"timezone\": \"Mars/Olympus\", \"days\": {}}", "unknown time zone");
    expect_schedule_error("{\"timezone\": \"../../etc/passwd\", \"days\": {}}", "unknown time zone");
}

static void expect_pacs(const char *text, const char *needle)
{
    char msg[256] = "";
    json_t *v = js(text);
    bool ok = gw_pacs_check(v, msg, sizeof msg);
    json_decref(v);
    if (!needle)
        assert_true(ok);
    else if (ok || !strstr(msg, needle))
        fail_msg("'%s' not in '%s'", needle, msg);
}

static void test_pacs_check(void **state)
{
    (void)state;
    expect_pacs("{\"label\": \"main\", \"aet\": \"PACS\", \"host\": \"10.0.0.5\", \"port\": 104}", NULL);
    expect_pacs("{\"aet\": \"PACS\", \"host\": \"h\", \"port\": 104}", "'label' is required");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\\\\B\", \"host\": \"h\", \"port\": 104}", "'aet'");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 0}", "'port'");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"retrieve\": \"push\"}", "'retrieve'");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"protocol\": \"dicomweb\"}", "'url'");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"queryable\": \"yes\"}",
                "'queryable' must be true or false");
}

/* PACS that misbehave: the retry policy's range, the labels of several
 * studies found for one search, and what is named as short. */
static void test_quirks(void **state)
{
    (void)state;
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"retry_attempts\": 3, "
                "\"retry_backoff_seconds\": 0}",
                NULL);
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"retry_attempts\": 21}",
                "'retry_attempts'");
    expect_pacs("{\"label\": \"m\", \"aet\": \"A\", \"host\": \"h\", \"port\": 1, \"retry_backoff_seconds\": \"2\"}",
                "'retry_backoff_seconds'");

    char label[80];
    json_t *m = json_pack("{s:s}", "StudyDate", "20200102");
    gw_match_session("S01", "S01_MR", m, 0, 1, label, sizeof label);
    assert_string_equal(label, "S01_MR");
    gw_match_session("S01", "S01_MR", m, 1, 2, label, sizeof label);
    assert_string_equal(label, "S01_MR_2");
    gw_match_session("S01", "", m, 0, 2, label, sizeof label);
    assert_string_equal(label, "S01_20200102_1");
    json_decref(m);

    gw_job j;
    memset(&j, 0, sizeof j);
    gw_series_want w[3] = {{.uid = "1.1", .number = "1", .modality = "CT", .expected = 4},
                           {.uid = "1.2", .number = "2", .modality = "CT", .expected = 5},
                           {.uid = "1.3", .number = "3", .modality = "SR", .expected = -1}};
    atomic_store(&w[0].arrived, 4);
    atomic_store(&w[1].arrived, 2);
    atomic_store(&w[2].arrived, 0); /* unknown count: never short */
    j.want = w, j.nwant = 3;
    size_t idx[3];
    assert_int_equal(gw_short_series(&j, idx, 3), 1);
    assert_int_equal(idx[0], 1);
    char text[300];
    gw_missing_text(&j, text, sizeof text);
    assert_string_equal(text, "3 of 9 instances the PACS counted did not arrive: series 2 (CT) 2 of 5");
    json_t *miss = gw_missing_json(&j);
    char *dump = json_dumps(miss, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(dump, "[{\"arrived\":2,\"expected\":5,\"modality\":\"CT\",\"series_number\":\"2\"}]");
    free(dump);
    json_decref(miss);
    atomic_store(&w[1].arrived, 5);
    assert_int_equal(gw_short_series(&j, idx, 3), 0);
    assert_null(gw_missing_json(&j));
}

static char *element(const dcm_dataset *id, uint32_t tag, char *buf, size_t n)
{
    return dcm_dataset_get_string(id, tag, buf, n);
}

static void test_query_identifier(void **state)
{
    (void)state;
    dqr_error err = {0};
    json_t *keys = js("{\"PatientName\": \"DOE*\", \"StudyDate\": \"20200101-20201231\", \"Modality\": \"MR\"}");
    dcm_dataset *id = gw_query_identifier("STUDY", keys, &err);
    assert_non_null(id);
    char buf[64];
    assert_string_equal(element(id, DCM_TAG(0x0010, 0x0010), buf, sizeof buf), "DOE*");
    assert_string_equal(element(id, DCM_TAG(0x0008, 0x0061), buf, sizeof buf), "MR"); /* ModalitiesInStudy */
    assert_null(dcm_dataset_get(id, DCM_TAG(0x0008, 0x0060)));
    assert_non_null(dcm_dataset_get(id, DCM_TAG(0x0020, 0x000D))); /* return key added */
    assert_string_equal(element(id, DCM_TAG(0x0008, 0x0052), buf, sizeof buf), "STUDY");
    dcm_dataset_free(id);
    json_decref(keys);

    keys = js("{\"NoSuchKeyword\": \"x\"}");
    assert_null(gw_query_identifier("STUDY", keys, &err));
    assert_non_null(strstr(err.message, "NoSuchKeyword"));
    json_decref(keys);
    assert_null(gw_query_identifier("IMAGE", NULL, &err));
    assert_null(gw_query_identifier("SERIES", NULL, &err));
    assert_non_null(strstr(err.message, "StudyInstanceUID"));
    keys = js("{\"StudyInstanceUID\": \"1.2.3\"}");
    id = gw_query_identifier("SERIES", keys, &err);
    assert_non_null(id);
    assert_non_null(dcm_dataset_get(id, DCM_TAG(0x0020, 0x1209))); /* NumberOfSeriesRelatedInstances */
    dcm_dataset_free(id);
    json_decref(keys);
}

/* Value lists: which searches are combined, the lists they make, and each
 * answer back to the searches whose values it carries (query_lists.h). */
static void test_query_lists(void **state)
{
    (void)state;
    const char *keys[] = {
        "{\"AccessionNumber\": \"A1\"}",                       /* 0: list of accessions */
        "{\"AccessionNumber\": \"A2 \"}",                      /* 1 */
        "{\"AccessionNumber\": \"A1\"}",                       /* 2: the same value again */
        "{\"AccessionNumber\": \"A*\"}",                       /* 3: a wildcard: alone */
        "{\"PatientID\": \"P1\", \"StudyDate\": \"20200101\"}", /* 4: list of patients x dates */
        "{\"PatientID\": \"P2\", \"StudyDate\": \"20200202\"}", /* 5 */
        "{\"PatientID\": \"P3\", \"StudyDate\": \"20200101-20200301\"}", /* 6: a range: alone */
        "{\"PatientName\": \"DOE^J\"}",                        /* 7: not a list key: alone */
        "{\"PatientBirthDate\": \"19700101\"}",                /* 8: the only one of its keys: alone */
    };
    enum { N = sizeof keys / sizeof keys[0] };
    gw_query_job jobs[N] = {0};
    for (size_t i = 0; i < N; i++)
        jobs[i].keys = js(keys[i]);
    size_t nl = 0;
    gw_query_list *l = gw_query_lists(jobs, N, &nl);
    assert_int_equal(nl, 2);
    assert_int_equal(l[0].n, 3);
    assert_int_equal(l[0].members[0], 0);
    assert_int_equal(l[0].members[2], 2);
    assert_string_equal(json_string_value(json_object_get(l[0].job.keys, "AccessionNumber")), "A1\\A2 ");
    assert_int_equal(l[1].n, 2);
    assert_string_equal(json_string_value(json_object_get(l[1].job.keys, "PatientID")), "P1\\P2");
    assert_string_equal(json_string_value(json_object_get(l[1].job.keys, "StudyDate")), "20200101\\20200202");

    /* the PACS's answers: padded, a third study of A1, one of another accession, and the cross product's
     * P1 on P2's date, which belongs to no row */
    l[0].job.result.results = js("[{\"AccessionNumber\": \"A1\", \"StudyInstanceUID\": \"1.1\"},"
                                 " {\"AccessionNumber\": \"A2\", \"StudyInstanceUID\": \"1.2\"},"
                                 " {\"AccessionNumber\": \" A1 \", \"StudyInstanceUID\": \"1.3\"},"
                                 " {\"AccessionNumber\": \"A12\", \"StudyInstanceUID\": \"1.4\"}]");
    l[1].job.result.results = js("[{\"PatientID\": \"P1\", \"StudyDate\": \"20200101\", \"StudyInstanceUID\": \"2.1\"},"
                                 " {\"PatientID\": \"P1\", \"StudyDate\": \"20200202\", \"StudyInstanceUID\": \"2.2\"},"
                                 " {\"PatientID\": \"P2\", \"StudyInstanceUID\": \"2.3\"}]");
    gw_query_lists_share(&l[0], jobs, 100);
    gw_query_lists_share(&l[1], jobs, 100);
    assert_int_equal(json_array_size(jobs[0].result.results), 2); /* 1.1 and 1.3, not A12's */
    assert_string_equal(json_string_value(json_object_get(json_array_get(jobs[0].result.results, 1),
                                                          "StudyInstanceUID")), "1.3");
    assert_int_equal(json_array_size(jobs[1].result.results), 1);
    assert_int_equal(json_array_size(jobs[2].result.results), 2);
    assert_int_equal(json_array_size(jobs[4].result.results), 1); /* 2.1 only */
    assert_null(jobs[5].result.results);                          /* no StudyDate in its answer: asked alone */
    for (size_t i = 3; i < N; i++)
        if (i != 4)
            assert_null(jobs[i].result.results);
    gw_query_lists_free(l, nl);

    /* cut short by the PACS, failed, or more than max for a search: nothing shared */
    for (int mode = 0; mode < 3; mode++) {
        for (size_t i = 0; i < N; i++)
            json_decref(jobs[i].result.results), jobs[i].result.results = NULL;
        l = gw_query_lists(jobs, 3, &nl);
        assert_int_equal(nl, 1);
        l[0].job.result.results = js("[{\"AccessionNumber\": \"A1\"}, {\"AccessionNumber\": \"A1\"},"
                                     " {\"AccessionNumber\": \"A2\"}]");
        l[0].job.result.truncated = mode == 0;
        l[0].job.status = mode == 1 ? DQR_E_IO : DQR_OK;
        gw_query_lists_share(&l[0], jobs, mode == 2 ? 1 : 100);
        assert_null(jobs[0].result.results);
        if (mode == 2)
            assert_int_equal(json_array_size(jobs[1].result.results), 1);
        else
            assert_null(jobs[1].result.results);
        gw_query_lists_free(l, nl);
    }

    /* more than a list holds: several lists */
    gw_query_job many[GW_QUERY_LIST_ROWS + 3] = {0};
    for (size_t i = 0; i < GW_QUERY_LIST_ROWS + 3; i++) {
        char k[64];
        snprintf(k, sizeof k, "{\"AccessionNumber\": \"B%zu\"}", i);
        many[i].keys = js(k);
    }
    l = gw_query_lists(many, GW_QUERY_LIST_ROWS + 3, &nl);
    assert_int_equal(nl, 2);
    assert_int_equal(l[0].n, GW_QUERY_LIST_ROWS);
    assert_int_equal(l[1].n, 3);
    gw_query_lists_free(l, nl);
    for (size_t i = 0; i < GW_QUERY_LIST_ROWS + 3; i++)
        json_decref((json_t *)many[i].keys);
    for (size_t i = 0; i < N; i++) {
        json_decref((json_t *)jobs[i].keys);
        json_decref(jobs[i].result.results);
    }
}

static void test_receivers(void **state)
{
    (void)state;
    gw_config c = {.aet = "DQR", .dicom_addr = "127.0.0.1", .dicom_port = 11112, .receivers = "B@11113, C@10.0.0.2:104"};
    gw_receiver rx[GW_MAX_RECEIVERS];
    char msg[200];
    assert_int_equal(gw_config_receivers(&c, rx, msg, sizeof msg), 3);
    assert_string_equal(rx[0].aet, "DQR");
    assert_int_equal(rx[1].port, 11113);
    assert_string_equal(rx[1].addr, "127.0.0.1");
    assert_string_equal(rx[2].aet, "C");
    assert_string_equal(rx[2].addr, "10.0.0.2");
    assert_int_equal(rx[2].port, 104);
    /* a TLS receiver: options after the address (readable files: these exist everywhere) */
    c.receivers = "T@10.0.0.3:2762;tls_cert=/etc/passwd;tls_key=/etc/passwd;tls_ca=/etc/hostname, P@11114";
    assert_int_equal(gw_config_receivers(&c, rx, msg, sizeof msg), 3);
    assert_string_equal(rx[1].aet, "T");
    assert_string_equal(rx[1].addr, "10.0.0.3");
    assert_int_equal(rx[1].port, 2762);
    assert_string_equal(rx[1].tls_cert, "/etc/passwd");
    assert_string_equal(rx[1].tls_key, "/etc/passwd");
    assert_string_equal(rx[1].tls_ca, "/etc/hostname");
    assert_string_equal(rx[2].tls_cert, "");
    assert_string_equal(rx[0].tls_cert, "");
    const char *bad[] = {"B", "B@", "B@x", "@104", "B@1:70000", "DQR@104", "WAY_TOO_LONG_AE_TITLE@1",
                         "B@1;tls_cert=/etc/passwd", "B@1;tls_key=/etc/passwd", "B@1;tls_ca=/etc/passwd",
                         "B@1;tls_cert=;tls_key=/etc/passwd", "B@1;color=blue",
                         "B@1;tls_cert=/nonexistent/x.crt;tls_key=/etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.receivers = (char *)bad[i];
        if (gw_config_receivers(&c, rx, msg, sizeof msg) != -1)
            fail_msg("'%s' was accepted", bad[i]);
    }
    /* the main receiver's dicom_tls_*: the key alone is refused */
    c.receivers = "";
    c.dicom_tls_key = "/etc/passwd";
    assert_int_equal(gw_config_receivers(&c, rx, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "dicom_tls_cert and dicom_tls_key"));
}

typedef struct got_parts {
    char text[512];
} got_parts;

static int got_part(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len)
{
    got_parts *g = ctx;
    size_t n = strlen(g->text);
    snprintf(g->text + n, sizeof g->text - n, "[%.*s|%.*s]", (int)hlen, headers, (int)len, (const char *)body);
    return 0;
}

static void test_multipart(void **state)
{
    (void)state;
    const char *body = "--b1\r\nContent-Type: application/dicom\r\n\r\nDICM-one\r\n--b1\r\n"
                       "Content-Type: application/dicom\r\n\r\n\r\n--b2 is not the boundary\r\n--b1--\r\n";
    const char *want = "[Content-Type: application/dicom|DICM-one]"
                       "[Content-Type: application/dicom|\r\n--b2 is not the boundary]";
    size_t n = strlen(body);
    for (size_t step = 1; step <= n; step++) { /* every way of cutting the answer into pieces */
        got_parts g = {""};
        http_multipart m;
        http_multipart_init(&m, got_part, &g);
        for (size_t at = 0; at < n; at += step)
            assert_int_equal(http_multipart_feed(&m, (const uint8_t *)body + at, at + step > n ? n - at : step), 0);
        assert_true(http_multipart_finish(&m));
        if (strcmp(g.text, want) != 0)
            fail_msg("step %zu: %s", step, g.text);
    }
    http_multipart m;
    got_parts g = {""};
    http_multipart_init(&m, got_part, &g);
    char junk[5000];
    memset(junk, 'x', sizeof junk);
    assert_int_not_equal(http_multipart_feed(&m, (const uint8_t *)junk, sizeof junk), 0); /* not multipart */
    assert_false(http_multipart_finish(&m));
}

static void test_time_zones(void **state)
{
    (void)state;
    long off = 1;
    assert_true(gw_tz_offset("UTC", 0, &off));
    assert_int_equal(off, 0);
    assert_true(gw_tz_offset("Europe/Berlin", 1768478400, &off)); /* 2026-01-15 12:00Z: CET */
    assert_int_equal(off, 3600);
    assert_true(gw_tz_offset("Europe/Berlin", 1784116800, &off)); /* 2026-07-15 12:00Z: CEST */
    assert_int_equal(off, 7200);
    assert_true(gw_tz_offset("America/New_York", 1768478400, &off));
    assert_int_equal(off, -18000);
    assert_false(gw_tz_offset("Mars/Olympus", 0, &off));
    int wd, minute;
    assert_true(gw_tz_local("Asia/Tokyo", 1768478400, &wd, &minute)); /* Thursday 21:00 in Tokyo */
    assert_int_equal(wd, 3);
    assert_int_equal(minute, 21 * 60);
}

static void test_csv_records(void **state)
{
    (void)state;
    json_t *r = gw_csv_records("Patient ID,Subject\r\n\"A,\"\"1\"\"\" , S1\n\"multi\nline\",S2\nlast,S3");
    char *text = json_dumps(r, JSON_COMPACT);
    assert_string_equal(text, "[{\"line\":1,\"fields\":[\"Patient ID\",\"Subject\"]},"
                              "{\"line\":2,\"fields\":[\"A,\\\"1\\\"\",\"S1\"]},"
                              "{\"line\":3,\"fields\":[\"multi\\nline\",\"S2\"]},"
                              "{\"line\":5,\"fields\":[\"last\",\"S3\"]}]");
    free(text);
    json_decref(r);
    r = gw_csv_records("");
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
}

/* ---- the audit trail (audit.c) ---- */

static const gw_audit_node audit_node = {"DQR_NODE", "dqr-host"};
static const struct timespec audit_when = {0, 5000000};

/* needle must occur in hay after *from; *from moves past it. */
static void expect_after(const char *hay, const char *needle, const char **from)
{
    const char *at = strstr(*from, needle);
    if (!at)
        fail_msg("'%s' not found (in order) in '%s'", needle, hay);
    *from = at + strlen(needle);
}

static void test_audit_escaping(void **state)
{
    (void)state;
    /* markup, a newline (a forged second line), a control byte, broken
     * UTF-8, and a real accented letter that must stay */
    gw_audit_ev e = {.action = "login_failure", .user_name = "a\"<b>&'\n\x01\xff\xc3\xa9",
                     .client = "10.0.0.7", .target = "x</ParticipantObjectName><Evil/>"};
    char *xml = gw_audit_xml(&e, &audit_node, audit_when);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "UserID=\"a&quot;&lt;b&gt;&amp;&apos;&#10;??\xc3\xa9\""));
    assert_non_null(strstr(xml, "ParticipantObjectID=\"x&lt;/ParticipantObjectName&gt;&lt;Evil/&gt;\""));
    assert_null(strchr(xml, '\n'));
    assert_null(strstr(xml, "<Evil"));
    assert_null(strstr(xml, "\x01"));
    free(xml);

    /* a value from outside cannot make a huge message */
    char longname[2000];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    e = (gw_audit_ev){.action = "association_refused", .user_name = longname, .target = longname};
    xml = gw_audit_xml(&e, &audit_node, audit_when);
    assert_non_null(xml);
    assert_true(strlen(xml) < 2500);
    free(xml);
}

static void test_audit_elements(void **state)
{
    (void)state;
    gw_audit_ev e = {.action = "query_results", .user_id = 7, .user_name = "alice", .client = "10.0.0.7",
                     .target = "q1", .detail = {{"results", "5"}, {"level", "STUDY"}}};
    char *xml = gw_audit_xml(&e, &audit_node, audit_when);
    assert_non_null(xml);
    /* the order of A.5.1: event, active participants, source, objects */
    const char *p = xml;
    expect_after(xml, "<AuditMessage><EventIdentification", &p);
    expect_after(xml, "EventDateTime=\"1970-01-01T00:00:00.005Z\" EventOutcomeIndicator=\"0\">", &p);
    expect_after(xml, "<EventID csd-code=\"110112\" codeSystemName=\"DCM\" originalText=\"Query\"/>", &p);
    expect_after(xml, "<EventTypeCode csd-code=\"query_results\" codeSystemName=\"DQR\"", &p);
    expect_after(xml, "</EventIdentification><ActiveParticipant UserID=\"alice\" AlternativeUserID=\"7\" "
                      "UserIsRequestor=\"true\" NetworkAccessPointID=\"10.0.0.7\" NetworkAccessPointTypeCode=\"2\"/>", &p);
    expect_after(xml, "<ActiveParticipant UserID=\"DQR_NODE\" UserIsRequestor=\"false\" NetworkAccessPointID=\"dqr-host\"", &p);
    expect_after(xml, "<RoleIDCode csd-code=\"110150\"", &p);
    expect_after(xml, "<AuditSourceIdentification AuditSourceID=\"DQR_NODE\"><AuditSourceTypeCode csd-code=\"4\"/>", &p);
    expect_after(xml, "<ParticipantObjectIdentification ParticipantObjectID=\"q1\" ParticipantObjectTypeCode=\"2\" "
                      "ParticipantObjectTypeCodeRole=\"24\"><ParticipantObjectIDTypeCode csd-code=\"query\"", &p);
    expect_after(xml, "<ParticipantObjectName>", &p);
    expect_after(xml, "<ParticipantObjectDetail type=\"results\" value=\"NQ==\"/>", &p);
    expect_after(xml, "<ParticipantObjectDetail type=\"level\" value=\"U1RVRFk=\"/>", &p);
    expect_after(xml, "</ParticipantObjectIdentification></AuditMessage>", &p);
    assert_string_equal(p, "");
    free(xml);

    /* the table's outcome, a worse one from the caller, an unknown action */
    struct {
        gw_audit_ev e;
        const char *want;
    } cases[] = {
        {{.action = "login_failure"}, "EventOutcomeIndicator=\"4\"><EventID csd-code=\"110114\""},
        {{.action = "login_failure", .outcome = 8}, "EventOutcomeIndicator=\"8\""},
        {{.action = "session_download", .target = "P1/S1"}, "EventActionCode=\"R\""},
        {{.action = "session_download"}, "<EventID csd-code=\"110106\""},
        {{.action = "association_refused"}, "<EventTypeCode csd-code=\"110126\""},
        {{.action = "audit_read"}, "<EventID csd-code=\"110101\""},
        {{.action = "something_new"}, "<EventID csd-code=\"110113\" codeSystemName=\"DCM\" originalText=\"Security Alert\"/>"},
        {{.action = "login_failure"}, "UserID=\"(unauthenticated)\" UserIsRequestor=\"true\"/>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xml = gw_audit_xml(&cases[i].e, &audit_node, audit_when);
        assert_non_null(xml);
        if (!strstr(xml, cases[i].want))
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].want, xml);
        /* no target: no participant object */
        assert_true(cases[i].e.target || !strstr(xml, "ParticipantObjectIdentification"));
        free(xml);
    }
    assert_string_equal(gw_audit_kind_of("login_success")->event_id, "110114");
    assert_string_equal(gw_audit_kind_of(NULL)->event_id, "110113");
}

static void test_audit_syslog(void **state)
{
    (void)state;
    const gw_audit_kind *k = gw_audit_kind_of("login_success");
    char *f = gw_audit_syslog_frame("<AuditMessage/>", k, 0, "dqr host\n", 42, audit_when);
    assert_string_equal(f, "<85>1 1970-01-01T00:00:00.005Z dqrhost dqr 42 110114 - \xEF\xBB\xBF<AuditMessage/>");
    free(f);
    f = gw_audit_syslog_frame("<AuditMessage/>", gw_audit_kind_of("login_failure"), 4, NULL, 1, audit_when);
    assert_string_equal(f, "<84>1 1970-01-01T00:00:00.005Z - dqr 1 110114 - \xEF\xBB\xBF<AuditMessage/>");
    free(f);
}

static void test_audit_settings(void **state)
{
    (void)state;
    gw_config c;
    dqr_error err = {0};
    unsetenv("DQR_AUDIT_SYSLOG"), unsetenv("DQR_AUDIT_FILE");
    setenv("DQR_DATA_DIR", "/tmp/dqr-audit-dd", 1);
    assert_int_equal(gw_config_load(&c, NULL, &err), DQR_OK);
    assert_string_equal(c.audit_file, "/tmp/dqr-audit-dd/logs/audit.log");
    assert_string_equal(c.audit_syslog, "off");
    gw_config_free(&c);
    const char *good[] = {"local", "udp://127.0.0.1:514", "udp://[::1]:6514", "udp://log.example.org:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("DQR_AUDIT_SYSLOG", good[i], 1);
        if (gw_config_load(&c, NULL, &err) != DQR_OK)
            fail_msg("%s refused: %s", good[i], err.message);
        gw_config_free(&c);
    }
    const char *bad[] = {"on", "udp://", "udp://host", "udp://host:0", "udp://:514", "tcp://h:514", "udp://h:514x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("DQR_AUDIT_SYSLOG", bad[i], 1);
        assert_int_equal(gw_config_load(&c, NULL, &err), DQR_E_USAGE);
        assert_non_null(strstr(err.message, "audit_syslog is off, local or udp://HOST:PORT"));
    }
    unsetenv("DQR_AUDIT_SYSLOG"), unsetenv("DQR_DATA_DIR");
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* CSV parsing is linear in the text: 500,000 short lines (each record used
 * to measure the rest of the text) and 200,000 rows within a bound the
 * quadratic code missed (measured here at 100,000 rows: 5.5 s and 1.6 s
 * before, 0.3 s and 0.1 s after; twice the rows is four times that
 * before). Times are this thread's CPU time, so a loaded machine (CI runs
 * tests two at a time, ASan slows them) does not make them fail. */
static void test_csv_linear(void **state)
{
    (void)state;
    enum { LINES = 500000, ROWS = 200000 };
    char *text = malloc((size_t)LINES * 4 + 64);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "Patient ID,Subject\n");
    for (int i = 0; i < LINES; i++, n += 4)
        memcpy(text + n, "x,y\n", 4);
    text[n] = '\0';
    struct timespec t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    json_t *r = gw_csv_records(text);
    double secs = seconds_since(&t0);
    assert_int_equal(json_array_size(r), LINES + 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, LINES), "line")), LINES + 1);
    json_decref(r);
    if (secs > 3.0)
        fail_msg("%d lines parsed in %.2f s", LINES, secs);
    free(text);

    text = malloc((size_t)ROWS * 40 + 64);
    assert_non_null(text);
    n = (size_t)sprintf(text, "Patient ID,Subject,Session\n");
    for (int i = 0; i < ROWS; i++)
        n += (size_t)sprintf(text + n, "PID%06d,S%06d,S%06d_MR\n", i, i, i);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    r = gw_csv_records(text);
    secs = seconds_since(&t0);
    assert_int_equal(json_array_size(r), ROWS + 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_array_get(r, ROWS), "fields"), 2)),
                        "S199999_MR");
    json_decref(r);
    if (secs > 2.0)
        fail_msg("%d rows parsed in %.2f s", ROWS, secs);
    free(text);
}

/* Repeated session labels: each repeat once, in order; 100,000 studies in
 * linear time (comparing each with all earlier ones took 83 s). */
static void test_csv_repeated_sessions(void **state)
{
    (void)state;
    json_t *studies = json_pack("[{s:s},{s:s},{s:s},{s:s},{}]", "session", "A", "session", "B", "session", "A",
                                "session", "A");
    json_t *rep = gw_csv_repeated_sessions(studies);
    char *text = json_dumps(rep, JSON_COMPACT);
    assert_string_equal(text, "[\"A\",\"A\"]");
    free(text);
    json_decref(rep);
    json_decref(studies);

    enum { N = 100000 };
    studies = json_array();
    for (int i = 0; i < N; i++) {
        char label[32];
        snprintf(label, sizeof label, "S%06d_MR", i == N - 1 ? 0 : i);
        json_array_append_new(studies, json_pack("{s:s}", "session", label));
    }
    struct timespec t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    rep = gw_csv_repeated_sessions(studies);
    double secs = seconds_since(&t0);
    assert_int_equal(json_array_size(rep), 1);
    assert_string_equal(json_string_value(json_array_get(rep, 0)), "S000000_MR");
    json_decref(rep);
    json_decref(studies);
    if (secs > 1.0)
        fail_msg("%d session labels checked in %.2f s", N, secs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_layers), cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_schedule),      cmocka_unit_test(test_pacs_check), cmocka_unit_test(test_quirks),
        cmocka_unit_test(test_query_identifier), cmocka_unit_test(test_query_lists), cmocka_unit_test(test_receivers),
        cmocka_unit_test(test_csv_records),   cmocka_unit_test(test_csv_linear),
        cmocka_unit_test(test_csv_repeated_sessions),   cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_audit_escaping), cmocka_unit_test(test_audit_elements),
        cmocka_unit_test(test_audit_syslog),   cmocka_unit_test(test_audit_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

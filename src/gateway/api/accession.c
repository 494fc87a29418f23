/* accession.c — studies named by AccessionNumber: each study the PACS
 * finds for an accession becomes its own session, labelled as the CSV
 * import labels a row's matches (_1, _2 ...). Shared by POST /imports and
 * the CSV import. */
#include "gateway/import/archive.h"
#include "gateway/api/imports.h"
#include "gateway/pacs/query.h"
#include "gateway/import/job.h"
#include "gateway/import/registry.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gw_match_session(const char *subject, const char *session, const json_t *match, size_t i, size_t n, char *out,
                      size_t cap)
{
    const char *date = json_string_value(json_object_get(match, "StudyDate"));
    if (session && *session)
        snprintf(out, cap, n > 1 ? "%s_%zu" : "%s", session, i + 1);
    else
        snprintf(out, cap, n > 1 ? "%s_%s_%zu" : "%s_%s", subject, date && *date ? date : "study", i + 1);
}

/* Study i of the request, by AccessionNumber: one copy per study the PACS
 * finds, labelled as a CSV row's matches are. False after answering. */
static bool expand_one(gw_req *r, const gw_pacs *p, const json_t *st, size_t i, json_t *out)
{
    const char *acc = json_string_value(json_object_get(st, "AccessionNumber"));
    const char *subject = json_string_value(json_object_get(st, "subject"));
    if (!acc || !*acc || strlen(acc) > 64 || strpbrk(acc, "*?\\") || !gw_label_ok(subject))
        return gw_fail(r, 400, "studies[%zu]: StudyInstanceUID, or AccessionNumber (no wildcard), with subject and "
                               "session, is required", i);
    json_t *keys = json_pack("{s:s}", "AccessionNumber", acc);
    gw_query_result qr;
    dqr_error err = {0};
    long ms;
    dqr_status qs = gw_query_recorded(r->g, r->user.id, p, "STUDY", keys, 100, &qr, &ms, &err);
    json_decref(keys);
    size_t n = qs == DQR_OK ? json_array_size(qr.results) : 0, k;
    if (qs != DQR_OK || n == 0) {
        json_decref(qr.results);
        return qs != DQR_OK ? gw_fail(r, 502, "studies[%zu]: %s", i, err.message)
                            : gw_fail(r, 404, "studies[%zu]: no study has that AccessionNumber", i);
    }
    json_t *m;
    json_array_foreach(qr.results, k, m)
    {
        char session[80];
        gw_match_session(subject, json_string_value(json_object_get(st, "session")), m, k, n, session, sizeof session);
        json_t *one = json_deep_copy(st);
        json_object_del(one, "AccessionNumber"); /* identifying: it is not kept with the request */
        json_object_set(one, "StudyInstanceUID", json_object_get(m, "StudyInstanceUID"));
        json_object_set_new(one, "session", json_string(session));
        json_array_append_new(out, one);
    }
    json_decref(qr.results);
    return true;
}

json_t *gw_studies_by_accession(gw_req *r, int64_t pacs, const json_t *studies)
{
    size_t i;
    const json_t *st;
    bool any = false;
    json_array_foreach(studies, i, st) any = any || (json_object_get(st, "AccessionNumber") &&
                                                     !json_object_get(st, "StudyInstanceUID"));
    if (!any)
        return json_incref((json_t *)studies);
    gw_pacs p;
    dqr_error err;
    if (gw_pacs_load(r->g, pacs, &p, &err) != DQR_OK) {
        gw_fail_err(r, &err);
        return NULL;
    }
    json_t *out = json_array();
    json_array_foreach(studies, i, st)
    {
        bool by_acc = json_object_get(st, "AccessionNumber") && !json_object_get(st, "StudyInstanceUID");
        if (by_acc ? !expand_one(r, &p, st, i, out) : json_array_append(out, (json_t *)st) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

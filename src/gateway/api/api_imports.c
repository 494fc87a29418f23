/* api_imports.c — import requests (from chosen studies), their progress,
 * cancel and retry, the queue, and the import history. */
#include "gateway/import/archive.h"
#include "gateway/import/job.h"
#include "gateway/import/scheduler.h"
#include "gateway/api/imports.h"
#include "gateway/import/sessions.h"
#include "gateway/core/sealed.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"
#include "gateway/import/registry.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static bool uid_text_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 && strspn(s, "0123456789.") == n;
}

/* Check one requested study; false with msg. */
static bool study_ok(const json_t *st, size_t i, char *msg, size_t len)
{
    const char *uid = json_string_value(json_object_get(st, "StudyInstanceUID"));
    const char *subject = json_string_value(json_object_get(st, "subject"));
    const char *session = json_string_value(json_object_get(st, "session"));
    const json_t *series = json_object_get(st, "series"), *ov = json_object_get(st, "overrides");
    if (!json_is_object(st) || !uid_text_ok(uid))
        return snprintf(msg, len, "studies[%zu]: StudyInstanceUID is required (digits and dots)", i), false;
    if (!gw_label_ok(subject) || !gw_label_ok(session))
        return snprintf(msg, len, "studies[%zu]: subject and session are required: 1 to 64 letters, digits, _ or -", i),
               false;
    size_t k;
    const json_t *v;
    if (series && !json_is_null(series)) {
        if (!json_is_array(series) || json_array_size(series) == 0)
            return snprintf(msg, len, "studies[%zu]: series is a list of SeriesInstanceUIDs", i), false;
        json_array_foreach(series, k, v) if (!uid_text_ok(json_string_value(v))) return snprintf(
            msg, len, "studies[%zu].series[%zu] is not a UID", i, k),
            false;
    }
    if (ov && !json_is_null(ov)) {
        const char *key;
        if (!json_is_object(ov))
            return snprintf(msg, len, "studies[%zu]: overrides is an object", i), false;
        json_object_foreach((json_t *)ov, key, v)
        {
            if (!gw_remappable(key) || !json_is_string(v) || strlen(json_string_value(v)) > 64)
                return snprintf(msg, len,
                                "studies[%zu].overrides.%s: only PatientID, PatientName, StudyID, AccessionNumber, "
                                "StudyDate and PatientBirthDate, as text",
                                i, key),
                       false;
        }
    }
    return true;
}

typedef struct new_import {
    gw *g;
    int64_t user, pacs, id;
    const char *project;
    const json_t *studies;
    bool bulk, force; /* force: a label the registry disagrees with (import/registry.h) */
    size_t conflict;   /* with a DQR_E_CONFLICT: the study whose session is taken ... */
    char owner[65];    /* ... and the subject it belongs to */
} new_import;

/* ---- one session, one patient ---------------------------------------------
 * A session label names one patient's study in a project (its folder, its
 * zip): it may not be given to another subject, whether the archive holds
 * it already or an import that may still run (or be retried) asked for it.
 * Only a session whose import ended done is left to the archive's rows. */

static const char *member_text(const json_t *studies, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(studies, i), key));
}

/* Answer 409 {"error", "session", "subject"} for studies[i]. */
static bool fail_conflict(gw_req *r, const char *msg, const json_t *studies, size_t i)
{
    gw_reply(r, 409, json_pack("{s:s,s:s?,s:s?}", "error", msg, "session", member_text(studies, i, "session"),
                               "subject", member_text(studies, i, "subject")));
    return false;
}

/* One session row: its study, series and overrides sealed (sealed.h). */
static dqr_status insert_session(new_import *n, store *s, const json_t *v, int64_t now, dqr_error *err)
{
    const char *uid = json_string_value(json_object_get(v, "StudyInstanceUID"));
    const json_t *series = json_object_get(v, "series"), *ov = json_object_get(v, "overrides");
    char key[65], *sealed = gw_study_seal(n->g, uid, json_is_null(series) ? NULL : series,
                                          json_is_null(ov) ? NULL : ov);
    if (!sealed)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    gw_study_key(n->g, uid, key);
    dqr_status st = store_exec(s,
                               "INSERT INTO import_sessions(request_id, pacs_id, project, bulk, study_uid, study_key, "
                               "study_enc, subject, session, state, queued, updated, subject_forced) "
                               "VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, 'queued', ?, ?, ?)",
                               (store_val[]){STORE_I(n->id), STORE_I(n->pacs), STORE_S(n->project), STORE_I(n->bulk),
                                             STORE_S(key), STORE_S(sealed),
                                             STORE_S(json_string_value(json_object_get(v, "subject"))),
                                             STORE_S(json_string_value(json_object_get(v, "session"))), STORE_I(now),
                                             STORE_I(now), STORE_I(n->force)},
                               11, NULL, NULL, NULL, err);
    free(sealed);
    return st;
}

static dqr_status insert_import(void *ctx, store *s, dqr_error *err)
{
    new_import *n = ctx;
    int64_t now = time(NULL);
    dqr_status st = store_exec(s, "INSERT INTO import_requests(user_id, pacs_id, project, bulk, created) VALUES (?, ?, ?, ?, ?)",
                               (store_val[]){STORE_I(n->user), STORE_I(n->pacs), STORE_S(n->project), STORE_I(n->bulk),
                                             STORE_I(now)},
                               5, NULL, NULL, NULL, err);
    if (st == DQR_OK)
        st = store_int(s, "SELECT MAX(id) FROM import_requests WHERE user_id = ?", (store_val[]){STORE_I(n->user)}, 1,
                       &n->id, err);
    size_t i;
    const json_t *v;
    json_array_foreach(n->studies, i, v)
    {
        if (st != DQR_OK)
            break;
        /* checked again here, inside the transaction: two requests at once
         * cannot both take one session for two subjects */
        if (gw_session_owner(s, n->project, json_string_value(json_object_get(v, "session")),
                          json_string_value(json_object_get(v, "subject")), n->owner)) {
            n->conflict = i;
            return dqr_error_set(err, DQR_E_CONFLICT, "session %s already belongs to subject %s in project %s",
                                 json_string_value(json_object_get(v, "session")), n->owner, n->project);
        }
        st = insert_session(n, s, v, now, err);
    }
    return st;
}

bool gw_import_target_ok(gw_req *r, int64_t pacs, const char *project)
{
    gw_pacs p;
    dqr_error err;
    if (!gw_may_use_pacs(r, pacs) || gw_pacs_load(r->g, pacs, &p, &err) != DQR_OK)
        return gw_fail(r, 403, "you may not use PACS %lld (or it does not exist)", (long long)pacs);
    if (!project || !gw_may_use(r, "project", project))
        return gw_fail(r, 403, "you may not import into project '%s' (or it does not exist)", project ? project : "");
    int64_t enabled = 0;
    if (store_int(r->g->db, "SELECT dqr_enabled FROM projects WHERE id = ?", (store_val[]){STORE_S(project)}, 1,
                  &enabled, NULL) != DQR_OK)
        return gw_fail(r, 404, "no project '%s'", project);
    if (!enabled)
        return gw_fail(r, 409, "project '%s' is not DQR-enabled (an administrator can enable it)", project);
    return true;
}

/* The labels of one request, checked in one pass (seen: session -> subject,
 * a hashed object): a session named twice is refused, with 409 when the two
 * name different subjects (one session holds one patient). */
static bool labels_ok(gw_req *r, const json_t *studies)
{
    json_t *seen = json_object();
    size_t i;
    const json_t *v;
    bool ok = true;
    json_array_foreach(studies, i, v)
    {
        const char *session = member_text(studies, i, "session"), *subject = member_text(studies, i, "subject");
        const char *before = json_string_value(json_object_get(seen, session));
        if (before && strcmp(before, subject) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg,
                     "session %s is named under two subjects in this request (%s and %s): one session holds one "
                     "patient",
                     session, before, subject);
            ok = fail_conflict(r, msg, studies, i);
        } else if (before) {
            ok = gw_fail(r, 400, "session label '%s' is used twice in this request", session);
        }
        if (!ok)
            break;
        json_object_set_new(seen, session, json_string(subject));
    }
    json_decref(seen);
    return ok;
}

bool gw_import_queue(gw_req *r, int64_t pacs, const char *project, const json_t *studies, bool bulk)
{
    char msg[300];
    size_t i;
    const json_t *v;
    if (!json_is_array(studies) || json_array_size(studies) == 0 || json_array_size(studies) > 10000)
        return gw_fail(r, 400, "'studies' is a list of 1 to 10000 {\"StudyInstanceUID\", \"subject\", \"session\"}");
    json_array_foreach(studies, i, v)
    {
        if (!study_ok(v, i, msg, sizeof msg))
            return gw_fail(r, 400, "%s", msg);
    }
    bool force = json_is_true(json_object_get(r->body, "force"));
    if (!labels_ok(r, studies) || !gw_registry_check_request(r, project, studies, force))
        return false;
    new_import n = {.g = r->g, .user = r->user.id, .pacs = pacs, .project = project, .studies = studies,
                    .bulk = bulk || json_array_size(studies) > 1, .force = force};
    dqr_error err;
    if (store_tx(r->g->db, insert_import, &n, &err) != DQR_OK) {
        if (err.code == DQR_E_CONFLICT && *n.owner)
            return fail_conflict(r, err.message, studies, n.conflict);
        gw_fail_err(r, &err);
        return false;
    }
    gw_log(r->g, "info", "import_queued", "request=%lld pacs=%lld project=%s sessions=%zu user=%s", (long long)n.id,
           (long long)pacs, project, json_array_size(studies), r->user.name);
    gw_import_wake(r->g);
    json_t *o = gw_import_json(r->g, n.id);
    gw_reply(r, 201, o ? o : json_pack("{s:I,s:s}", "id", (json_int_t)n.id, "state", "queued"));
    return true;
}

static void import_create(gw_req *r)
{
    json_t *pacs = json_object_get(r->body, "pacs");
    const char *project = json_string_value(json_object_get(r->body, "project"));
    if (!r->body || !json_is_integer(pacs) || !project) {
        gw_fail(r, 400, "send {\"pacs\": ID, \"project\": \"P1\", \"studies\": [{\"StudyInstanceUID\", \"subject\", "
                        "\"session\"}]}");
        return;
    }
    if (!gw_import_target_ok(r, json_integer_value(pacs), project))
        return;
    /* one accession may be several studies: each its own session, labelled as the CSV import does */
    json_t *studies = json_is_array(json_object_get(r->body, "studies"))
                          ? gw_studies_by_accession(r, json_integer_value(pacs), json_object_get(r->body, "studies"))
                          : json_incref(json_object_get(r->body, "studies"));
    if (studies || !json_is_array(json_object_get(r->body, "studies")))
        gw_import_queue(r, json_integer_value(pacs), project, studies,
                        json_is_true(json_object_get(r->body, "bulk")));
    json_decref(studies);
}

/* ---- reading requests ---------------------------------------------------- */

/* The request's state from how many of its sessions are in each state
 * (running, queued, waiting-window, done, partial, failed, cancelled). */
static const char *aggregate(const int64_t n[7], int64_t total)
{
    static const char *const states[] = {"running", "queued", "waiting-window", "done", "partial", "failed", "cancelled"};
    for (int k = 0; k < 3; k++)
        if (n[k])
            return states[k];
    if (n[3] == total)
        return "done";
    if (n[6] == total)
        return "cancelled";
    if (n[5] == total)
        return "failed";
    return "partial";
}

/* A session's StudyInstanceUID, opened for its request's owner (who sent
 * it) from the sealed study_enc, which never leaves the server. */
static void open_study(gw *g, json_t *session)
{
    const char *sealed = json_string_value(json_object_get(session, "study_enc"));
    char uid[65];
    dqr_error err;
    if (sealed && gw_study_unseal(g, sealed, uid, NULL, NULL, &err) == DQR_OK)
        json_object_set_new(session, "StudyInstanceUID", json_string(uid));
    json_object_del(session, "study_enc");
}

/* missing_series is kept as JSON text: shown as the array it is */
static void open_missing(json_t *rows)
{
    size_t i;
    json_t *x;
    json_array_foreach(rows, i, x)
    {
        const char *text = json_string_value(json_object_get(x, "missing_series"));
        json_t *v = text ? json_loads(text, 0, NULL) : NULL;
        if (v)
            json_object_set_new(x, "missing_series", v);
    }
}

/* The request with its counts, state, first error and number of sessions,
 * from its totals per state (import_request_totals, kept by triggers:
 * migration 18) and the partial index of sessions with an error, so not
 * one of its sessions is read (a CSV import has 10,000). */
static json_t *request_summary(gw *g, int64_t id)
{
    json_t *o = gw_row(g,
                       "SELECT r.id, r.created, u.username AS user, r.pacs_id AS pacs, p.label AS pacs_label, "
                       "r.project, r.bulk FROM import_requests r LEFT JOIN users u ON u.id = r.user_id "
                       "LEFT JOIN pacs p ON p.id = r.pacs_id WHERE r.id = ?",
                       (store_val[]){STORE_I(id)}, 1, NULL);
    json_t *c = o ? gw_row(g,
                           "SELECT COALESCE(SUM(sessions), 0) AS sessions_total, COALESCE(SUM(expected), 0) AS expected, "
                           "COALESCE(SUM(received), 0) AS received, COALESCE(SUM(archived), 0) AS archived, "
                           "COALESCE(SUM(rejected), 0) AS rejected, COALESCE(SUM(failed), 0) AS failed, "
                           "COALESCE(SUM(warned), 0) AS warned, COALESCE(SUM(bytes), 0) AS bytes, "
                           "COALESCE(SUM(frames_checked), 0) AS frames_checked, "
                           "COALESCE(SUM(frames_masked), 0) AS frames_masked, "
                           "COALESCE(SUM(frames_refused), 0) AS frames_refused, "
                           "SUM(CASE WHEN state = 'running' THEN sessions ELSE 0 END) AS n0, "
                           "SUM(CASE WHEN state = 'queued' THEN sessions ELSE 0 END) AS n1, "
                           "SUM(CASE WHEN state = 'waiting-window' THEN sessions ELSE 0 END) AS n2, "
                           "SUM(CASE WHEN state = 'done' THEN sessions ELSE 0 END) AS n3, "
                           "SUM(CASE WHEN state = 'partial' THEN sessions ELSE 0 END) AS n4, "
                           "SUM(CASE WHEN state = 'failed' THEN sessions ELSE 0 END) AS n5, "
                           "SUM(CASE WHEN state = 'cancelled' THEN sessions ELSE 0 END) AS n6, "
                           "(SELECT MIN(id) FROM import_sessions WHERE request_id = ? AND error IS NOT NULL) "
                           "AS first_error FROM import_request_totals WHERE request_id = ?",
                           (store_val[]){STORE_I(id), STORE_I(id)}, 2, NULL)
                : NULL;
    if (!c) {
        json_decref(o);
        return NULL;
    }
    int64_t n[7];
    for (int k = 0; k < 7; k++) {
        char key[4] = {'n', (char)('0' + k), '\0'};
        n[k] = json_integer_value(json_object_get(c, key));
        json_object_del(c, key);
    }
    json_object_set_new(o, "state", json_string(aggregate(n, json_integer_value(json_object_get(c, "sessions_total")))));
    int64_t first = json_integer_value(json_object_get(c, "first_error"));
    json_object_del(c, "first_error");
    json_object_update(o, c);
    json_decref(c);
    json_t *e = first ? gw_row(g, "SELECT error FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(first)}, 1,
                               NULL)
                      : NULL;
    if (e && json_is_string(json_object_get(e, "error")))
        json_object_set(o, "error", json_object_get(e, "error"));
    json_decref(e);
    return o;
}

/* Sessions offset .. offset+limit-1 of the request, in order of id. */
static json_t *request_sessions(gw *g, int64_t id, int64_t limit, int64_t offset)
{
    json_t *s = gw_rows(g,
                        "SELECT id, study_enc, subject, session, state, attempts, expected, "
                        "received, archived, rejected, failed, warned, bytes, frames_checked, frames_masked, frames_refused, "
                        "ms, queued, started, finished, "
                        "next_window, error, retrieve_level, missing_series, notes FROM import_sessions "
                        "WHERE request_id = ? ORDER BY id LIMIT ? OFFSET ?",
                        (store_val[]){STORE_I(id), STORE_I(limit), STORE_I(offset)}, 3, NULL);
    size_t i;
    json_t *x;
    json_array_foreach(s, i, x) open_study(g, x);
    open_missing(s);
    return s;
}

/* The request with at most max of its sessions (from the first). */
static json_t *request_json(gw *g, int64_t id, int64_t max)
{
    json_t *o = request_summary(g, id), *s = o ? request_sessions(g, id, max, 0) : NULL;
    if (!s) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "sessions", s);
    return o;
}

json_t *gw_import_json(gw *g, int64_t id)
{
    return request_json(g, id, INT64_MAX);
}

/* The request, if the caller may see it (its owner or an admin). */
static int64_t visible_request(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]), owner = 0;
    if (!id || store_int(r->g->db, "SELECT user_id FROM import_requests WHERE id = ?", (store_val[]){STORE_I(id)}, 1,
                         &owner, NULL) != DQR_OK ||
        (!r->user.admin && owner != r->user.id)) {
        gw_fail(r, 404, "no import %s of yours", r->arg[0]);
        return 0;
    }
    return id;
}

static void import_get(gw_req *r)
{
    int64_t id = visible_request(r);
    json_t *o = id ? gw_import_json(r->g, id) : NULL;
    if (id)
        o ? gw_reply(r, 200, o) : (void)gw_fail(r, 500, "cannot read import %lld", (long long)id);
}

static int take_id(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0)
        json_array_append_new(ctx, json_integer(c[0].i));
    return 0;
}

/* A query parameter as a number within [lo, hi], else dflt. */
static int64_t query_number(gw_req *r, const char *name, int64_t dflt, int64_t lo, int64_t hi)
{
    const char *v = http_query(r->http, name);
    long long n = v ? atoll(v) : dflt;
    return v && n >= lo && n <= hi ? n : dflt;
}

/* Each request with its summary and only its first sessions (?sessions=,
 * default 20): the rest are paged from GET /imports/{id}/sessions, so one
 * request of 10,000 sessions does not make the list slow. */
static void import_list(gw_req *r)
{
    const char *mine = http_query(r->http, "mine"), *lim = http_query(r->http, "limit");
    int64_t only = r->user.admin && !(mine && strcmp(mine, "0")) ? 0 : r->user.id;
    int64_t per = query_number(r, "sessions", 20, 0, 1000);
    long long limit = lim ? atoll(lim) : 100;
    json_t *ids = json_array(), *list = json_array();
    store_exec(r->g->db, "SELECT id FROM import_requests WHERE (? = 0 OR user_id = ?) ORDER BY id DESC LIMIT ?",
               (store_val[]){STORE_I(only), STORE_I(only), STORE_I(limit < 1 || limit > 1000 ? 100 : limit)}, 3, take_id,
               ids, NULL, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        json_t *o = request_json(r->g, json_integer_value(v), per);
        if (o)
            json_array_append_new(list, o);
    }
    json_decref(ids);
    gw_reply(r, 200, json_pack("{s:o}", "imports", list));
}

/* GET /imports/{id}/sessions?limit=&offset=: a page of the request's sessions. */
static void import_sessions(gw_req *r)
{
    int64_t id = visible_request(r);
    if (!id)
        return;
    int64_t limit = query_number(r, "limit", 100, 1, 1000), offset = query_number(r, "offset", 0, 0, INT64_MAX);
    int64_t total = 0;
    json_t *s = store_int(r->g->db, "SELECT COUNT(*) FROM import_sessions WHERE request_id = ?",
                          (store_val[]){STORE_I(id)}, 1, &total, NULL) == DQR_OK
                    ? request_sessions(r->g, id, limit, offset)
                    : NULL;
    s ? gw_reply(r, 200, json_pack("{s:I,s:I,s:I,s:I,s:o}", "id", (json_int_t)id, "total", (json_int_t)total, "offset",
                                   (json_int_t)offset, "limit", (json_int_t)limit, "sessions", s))
      : gw_fail(r, 500, "cannot read the sessions of import %lld", (long long)id);
}

static int cancel_running(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0)
        gw_import_cancel(ctx, c[0].i);
    return 0;
}

static void import_cancel(gw_req *r)
{
    int64_t id = visible_request(r), now = time(NULL);
    if (!id)
        return;
    store_exec(r->g->db,
               "UPDATE import_sessions SET state = 'cancelled', finished = ?, updated = ?, error = 'cancelled by a user' "
               "WHERE request_id = ? AND state IN ('queued', 'waiting-window')",
               (store_val[]){STORE_I(now), STORE_I(now), STORE_I(id)}, 3, NULL, NULL, NULL, NULL);
    store_exec(r->g->db, "SELECT id FROM import_sessions WHERE request_id = ? AND state = 'running'",
               (store_val[]){STORE_I(id)}, 1, cancel_running, r->g, NULL, NULL);
    gw_audit(r->g, r->user.id, "import_cancel", r->arg[0]);
    gw_reply(r, 200, gw_import_json(r->g, id));
}

static void import_retry(gw_req *r)
{
    int64_t id = visible_request(r), n = 0;
    if (!id)
        return;
    /* grants may have been taken away since the request: checked anew */
    json_t *req = gw_row(r->g, "SELECT pacs_id, project FROM import_requests WHERE id = ?", (store_val[]){STORE_I(id)},
                         1, NULL);
    bool allowed = req && gw_import_target_ok(r, json_integer_value(json_object_get(req, "pacs_id")),
                                              json_string_value(json_object_get(req, "project")));
    json_decref(req);
    if (!allowed) {
        if (!http_status(r->http))
            gw_fail(r, 500, "cannot read import %s", r->arg[0]);
        gw_audit(r->g, r->user.id, "import_retry_refused", r->arg[0]);
        return;
    }
    store_exec(r->g->db,
               "UPDATE import_sessions SET state = 'queued', attempts = 0, next_try = 0, error = NULL, finished = NULL, "
               "updated = ? WHERE request_id = ? AND state IN ('failed', 'partial', 'cancelled')",
               (store_val[]){STORE_I(time(NULL)), STORE_I(id)}, 2, NULL, NULL, &n, NULL);
    if (!n) {
        gw_fail(r, 409, "import %s has no failed, partial or cancelled session to retry", r->arg[0]);
        return;
    }
    gw_import_wake(r->g);
    gw_reply(r, 200, gw_import_json(r->g, id));
}

static void queue(gw_req *r)
{
    int64_t only = r->user.admin ? 0 : r->user.id;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT s.id, s.request_id, s.pacs_id AS pacs, p.label AS pacs_label, s.project, s.subject, "
                        "s.session, s.state, s.bulk, s.attempts, s.next_window, s.expected, s.received, s.archived, "
                        "s.queued, s.started, s.error FROM import_sessions s JOIN import_requests r ON r.id = s.request_id "
                        "LEFT JOIN pacs p ON p.id = s.pacs_id WHERE s.state IN ('queued', 'waiting-window', 'running') "
                        "AND (? = 0 OR r.user_id = ?) ORDER BY s.pacs_id, s.state = 'running' DESC, s.bulk, s.id",
                        (store_val[]){STORE_I(only), STORE_I(only)}, 2, &err);
    a ? gw_reply(r, 200, json_pack("{s:o}", "queue", a)) : gw_fail_err(r, &err);
}

static void history(gw_req *r)
{
    const char *mine = http_query(r->http, "mine"), *lim = http_query(r->http, "limit");
    int64_t only = r->user.admin && !(mine && strcmp(mine, "0")) ? 0 : r->user.id;
    long long limit = lim ? atoll(lim) : 100;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT s.id, s.request_id, u.username AS user, s.queued AS at, s.kind, s.pacs_id AS pacs, "
                        "p.label AS pacs_label, s.project, s.subject, s.session, s.state, s.expected, s.received, "
                        "s.archived, s.rejected, s.failed, s.warned, s.bytes, s.frames_checked, s.frames_masked, "
                        "s.frames_refused, s.ms, s.started, s.finished, s.error, "
                        "s.retrieve_level, s.missing_series, s.notes, s.orig_enc IS NOT NULL AS has_identifiers "
                        "FROM import_sessions s "
                        "JOIN import_requests r ON r.id = s.request_id LEFT JOIN users u ON u.id = r.user_id "
                        "LEFT JOIN pacs p ON p.id = s.pacs_id WHERE (? = 0 OR r.user_id = ?) ORDER BY s.id DESC LIMIT ?",
                        (store_val[]){STORE_I(only), STORE_I(only), STORE_I(limit < 1 || limit > 10000 ? 100 : limit)}, 3,
                        &err);
    open_missing(a);
    a ? gw_reply(r, 200, json_pack("{s:o}", "imports", a)) : gw_fail_err(r, &err);
}

/* The original identifiers of one imported session. */
static void identifiers(gw_req *r)
{
    static const gw_sealed_view ids = {
        "original identifiers",
        "SELECT r.user_id, s.orig_enc AS sealed FROM import_sessions s JOIN import_requests r ON r.id = s.request_id "
        "WHERE s.id = ?",
        "phi_view_import_identifiers", "identifiers", "no identifiers kept for imported session %s of yours", 404,
        "no identifiers kept for imported session %s of yours"};
    gw_reveal(r, &ids);
}

const gw_route gw_routes_imports[] = {
    {"POST", "/api/v1/imports", GW_USER, import_create},
    {"GET", "/api/v1/imports", GW_USER, import_list},
    {"POST", "/api/v1/imports/csv/preview", GW_USER, gw_csv_preview},
    {"POST", "/api/v1/imports/csv", GW_USER, gw_csv_import},
    {"GET", "/api/v1/imports/{}", GW_USER, import_get},
    {"GET", "/api/v1/imports/{}/sessions", GW_USER, import_sessions},
    {"POST", "/api/v1/imports/{}/cancel", GW_USER, import_cancel},
    {"POST", "/api/v1/imports/{}/retry", GW_USER, import_retry},
    {"GET", "/api/v1/queue", GW_USER, queue},
    {"GET", "/api/v1/history/imports", GW_USER, history},
    {"GET", "/api/v1/history/imports/{}/identifiers", GW_USER, identifiers},
    {NULL, NULL, GW_PUBLIC, NULL},
};

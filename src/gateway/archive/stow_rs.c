/* stow_rs.c — STOW-RS into a project (PS3.18 10.5): POST
 * /dicom-web/projects/{project}/studies[/{study}] with a multipart/related
 * body of application/dicom parts.
 *
 * Each request becomes one import session of kind 'stow' (so the import
 * history shows it, with its counts and its sealed original identifiers),
 * and each instance goes through the receiver's pipeline, in memory and in
 * order (gw_job_instance: site and project scripts, pixel rules, verify,
 * archive, each file synced before the answer). The labels are the
 * request's ?subject= and ?session= parameters, by default subject "stow"
 * and session "stow-<request id>". The answer lists what was stored
 * (ReferencedSOPSequence, each RetrieveURL naming the archive's
 * de-identified UIDs) and what was not (FailedSOPSequence, FailureReason). */
#include "gateway/archive/dicomweb.h"
#include "gateway/import/sessions.h"
#include "gateway/import/job.h"
#include "gateway/accounts/audit.h"
#include "gateway/import/archive.h"
#include "gateway/import/receiver.h"
#include "gateway/import/transfer.h"
#include "web/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    FAIL_PROCESSING = 0x0110, /* processing failure: a script rejected it, or it failed the pipeline */
    FAIL_RESOURCES = 0xA700,  /* out of resources (the archive could not be written) */
    FAIL_NOT_STUDY = 0xA900,  /* not of the study the request path names */
    FAIL_UNREADABLE = 0xC000, /* cannot be understood (not DICOM) */
};

typedef struct stow {
    gw_req *r;
    const gw_dw_target *t;
    gw_job *j;
    FILE *ok, *failed; /* the two sequences' items, as DICOM JSON text */
    char *ok_text, *failed_text;
    size_t ok_len, failed_len, nok, nfailed, parts;
    char archived[3][65]; /* the de-identified study, series, SOP UIDs of the instance just archived */
    bool was_archived;
} stow;

static void on_archived(void *ctx, const dcm_dataset *ds)
{
    stow *s = ctx;
    static const uint32_t tags[3] = {DCM_TAG(0x0020, 0x000D), DCM_TAG(0x0020, 0x000E), DCM_TAG(0x0008, 0x0018)};
    for (int i = 0; i < 3; i++)
        if (!dcm_dataset_get_string(ds, tags[i], s->archived[i], 65))
            s->archived[i][0] = '\0';
    s->was_archived = true;
}

static void item(FILE *f, size_t n, const char *cls, const char *sop)
{
    fprintf(f, "%s{\"00081150\":{\"vr\":\"UI\",\"Value\":[\"%s\"]},\"00081155\":{\"vr\":\"UI\",\"Value\":[\"%s\"]}",
            n ? "," : "", cls, sop);
}

static void fail_item(stow *s, const char *cls, const char *sop, unsigned reason)
{
    item(s->failed, s->nfailed++, cls, sop);
    fprintf(s->failed, ",\"00081197\":{\"vr\":\"US\",\"Value\":[%u]}}", reason);
}

/* A UID as sent, for the answer only: digits and dots, else empty. */
static void uid_of(const dcm_dataset *ds, uint32_t tag, char out[65])
{
    if (!dcm_dataset_get_string(ds, tag, out, 65) || strspn(out, "0123456789.") != strlen(out))
        out[0] = '\0';
}

static int on_part(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len)
{
    (void)headers, (void)hlen; /* the request's type said application/dicom; each part is read as such */
    stow *s = ctx;
    s->parts++;
    char cls[65] = "", sop[65] = "", study[65] = "";
    dcm_file *f = gw_parse_instance(s->r->g, body, len, true, NULL);
    if (!f) {
        fail_item(s, "", "", FAIL_UNREADABLE);
        return 0;
    }
    uid_of(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0016), cls);
    uid_of(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0018), sop);
    uid_of(dcm_file_dataset(f), DCM_TAG(0x0020, 0x000D), study);
    dcm_file_close(f);
    if (s->t->study && strcmp(study, s->t->study) != 0) {
        fail_item(s, cls, sop, FAIL_NOT_STUDY);
        return 0;
    }
    s->was_archived = false;
    uint16_t status = gw_job_instance(s->r->g, s->j, body, len);
    if (!s->was_archived) {
        fail_item(s, cls, sop, status == 0xA700 ? FAIL_RESOURCES : FAIL_PROCESSING);
        return 0;
    }
    item(s->ok, s->nok++, cls, sop);
    fprintf(s->ok, ",\"00081190\":{\"vr\":\"UR\",\"Value\":[\"%s/studies/%s/series/%s/instances/%s\"]}}", s->t->base,
            s->archived[0], s->archived[1], s->archived[2]);
    return 0;
}

/* ---- the import session of a request ---- */

typedef struct new_session {
    int64_t user, request, session;
    const char *project, *subject, *node;
    char label[65];
} new_session;

static dqr_status insert_session(void *ctx, store *db, dqr_error *err)
{
    new_session *n = ctx;
    int64_t now = time(NULL);
    dqr_status st = store_exec(db, "INSERT INTO import_requests(user_id, pacs_id, project, bulk, created) VALUES (?, 0, ?, 0, ?)",
                               (store_val[]){STORE_I(n->user), STORE_S(n->project), STORE_I(now)}, 3, NULL, NULL, NULL,
                               err);
    if (st == DQR_OK)
        st = store_int(db, "SELECT MAX(id) FROM import_requests WHERE user_id = ?", (store_val[]){STORE_I(n->user)}, 1,
                       &n->request, err);
    if (st == DQR_OK && !*n->label)
        snprintf(n->label, sizeof n->label, "stow-%lld", (long long)n->request);
    if (st == DQR_OK)
        st = store_exec(db,
                        "INSERT INTO import_sessions(request_id, pacs_id, project, bulk, study_uid, subject, session, "
                        "state, kind, node, queued, started, updated) "
                        "VALUES (?, 0, ?, 0, '', ?, ?, 'running', 'stow', ?, ?, ?, ?)",
                        (store_val[]){STORE_I(n->request), STORE_S(n->project), STORE_S(n->subject), STORE_S(n->label),
                                      STORE_S(n->node), STORE_I(now), STORE_I(now), STORE_I(now)},
                        8, NULL, NULL, NULL, err);
    if (st == DQR_OK)
        st = store_int(db, "SELECT id FROM import_sessions WHERE request_id = ?", (store_val[]){STORE_I(n->request)}, 1,
                       &n->session, err);
    return st;
}

/* The job of session n: the project's de-identification, any study. */
static gw_job *stow_job(gw *g, const new_session *n, dqr_error *err)
{
    gw_job *j = calloc(1, sizeof *j);
    if (!j) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&j->lock, NULL);
    pthread_mutex_init(&j->dir_lock, NULL);
    pthread_mutex_init(&j->flush_lock, NULL);
    j->id = n->session, j->request_id = n->request;
    snprintf(j->project, sizeof j->project, "%s", n->project);
    snprintf(j->subject, sizeof j->subject, "%s", n->subject);
    snprintf(j->session, sizeof j->session, "%s", n->label);
    j->any_study = true; /* files are synced together before the answer (end_session) */
    if (gw_deid_build(g, j->project, NULL, j->subject, j->session, &j->deid, err) != DQR_OK) {
        gw_job_free(j);
        return NULL;
    }
    return j;
}

static void end_session(gw *g, gw_job *j, size_t parts, double ms)
{
    dqr_error serr = {0};
    bool synced = gw_sync_archive(g, &serr) == DQR_OK; /* the answer says stored: on disk */
    gw_job_flush(g, j);
    int archived = atomic_load(&j->archived);
    const char *state = !synced ? "failed" : archived == (int)parts && parts ? "done" : archived ? "partial" : "failed";
    if (!synced)
        snprintf(j->error, sizeof j->error, "%.200s", serr.message);
    int64_t now = time(NULL);
    store_exec(g->db,
               "UPDATE import_sessions SET state = ?, expected = ?, finished = ?, updated = ?, ms = ?, "
               "orig_enc = ?, error = ? WHERE id = ?",
               (store_val[]){STORE_S(state), STORE_I(parts), STORE_I(now), STORE_I(now), STORE_I((int64_t)ms),
                             STORE_S(j->orig_sealed), STORE_S(*j->error ? j->error : NULL), STORE_I(j->id)},
               8, NULL, NULL, NULL, NULL);
    gw_log(g, "info", "stow", "session=%lld project=%s instances=%zu archived=%d ms=%.0f", (long long)j->id,
           j->project, parts, archived, ms);
}

/* ---- the request ---- */

static bool request_ok(gw_req *r, const gw_dw_target *t, const char **subject, const char **label)
{
    if (!t->project)
        return gw_fail(r, 400, "STOW-RS stores into one project: POST /dicom-web/projects/{project}/studies");
    int64_t enabled = 0;
    store_int(r->g->db, "SELECT dqr_enabled FROM projects WHERE id = ?", (store_val[]){STORE_S(t->project)}, 1,
              &enabled, NULL);
    if (!enabled)
        return gw_fail(r, 409, "project %s is not DQR-enabled: nothing can be stored into it", t->project);
    const char *ct = http_header(r->http, "Content-Type");
    if (!ct || strncasecmp(ct, "multipart/related", 17) != 0 ||
        (strcasestr(ct, "type=") && !strcasestr(ct, "application/dicom\"") && !strcasestr(ct, "=application/dicom")))
        return gw_fail(r, 415, "STOW-RS takes multipart/related; type=\"application/dicom\"");
    *subject = http_query(r->http, "subject");
    *label = http_query(r->http, "session");
    if (!*subject)
        *subject = "stow";
    if (!gw_label_ok(*subject) || (*label && !gw_label_ok(*label)))
        return gw_fail(r, 400, "subject and session: 1 to 64 letters, digits, _ or -");
    char msg[256];
    json_t *study = json_pack("{s:s,s:s}", "subject", *subject, "session", *label ? *label : "");
    bool taken = *label && gw_session_taken(r->g, t->project, study, msg, sizeof msg);
    json_decref(study);
    return taken ? gw_fail(r, 409, "%s", msg) : true;
}

static void answer(gw_req *r, stow *s)
{
    fclose(s->ok);
    fclose(s->failed);
    char *text = NULL;
    int n = asprintf(&text, "{%s%s%s%s%s%s%s}", s->nfailed ? "\"00081198\":{\"vr\":\"SQ\",\"Value\":[" : "",
                     s->nfailed ? s->failed_text : "", s->nfailed ? "]}" : "", s->nfailed && s->nok ? "," : "",
                     s->nok ? "\"00081199\":{\"vr\":\"SQ\",\"Value\":[" : "", s->nok ? s->ok_text : "",
                     s->nok ? "]}" : "");
    free(s->ok_text);
    free(s->failed_text);
    if (n < 0)
        return (void)gw_fail(r, 500, "out of memory");
    /* PS3.18 10.5.3: 200 all stored, 202 some, 409 none */
    http_respond(r->http, !s->nfailed ? 200 : s->nok ? 202 : 409, "application/dicom+json", text, (size_t)n);
}

void gw_stow(gw_req *r, const gw_dw_target *t)
{
    const char *subject = NULL, *label = NULL;
    if (!request_ok(r, t, &subject, &label))
        return;
    double t0 = gw_clock_ms();
    dqr_error err = {0};
    new_session ns = {.user = r->user.id, .project = t->project, .subject = subject, .node = r->g->node};
    snprintf(ns.label, sizeof ns.label, "%s", label ? label : "");
    if (store_tx(r->g->db, insert_session, &ns, &err) != DQR_OK)
        return gw_fail_err(r, &err);
    gw_job *j = stow_job(r->g, &ns, &err);
    if (!j) {
        store_exec(r->g->db, "UPDATE import_sessions SET state = 'failed', error = ? WHERE id = ?",
                   (store_val[]){STORE_S(err.message), STORE_I(ns.session)}, 2, NULL, NULL, NULL, NULL);
        return gw_fail_err(r, &err);
    }
    stow s = {.r = r, .t = t, .j = j};
    s.ok = open_memstream(&s.ok_text, &s.ok_len);
    s.failed = open_memstream(&s.failed_text, &s.failed_len);
    j->on_archived = on_archived, j->on_archived_ctx = &s;
    size_t len;
    const char *body = http_body(r->http, &len);
    http_multipart m;
    http_multipart_init(&m, on_part, &s);
    m.max_part = (size_t)r->g->cfg.max_instance_bytes;
    bool read = s.ok && s.failed;
    /* in slices: the reader then holds about one part, and does not move the
     * rest of a large body after each part */
    for (size_t off = 0; read && off < len; off += 256 * 1024)
        read = http_multipart_feed(&m, (const uint8_t *)body + off, len - off < 256 * 1024 ? len - off : 256 * 1024) == 0;
    read = http_multipart_finish(&m) && read;
    end_session(r->g, j, s.parts, gw_clock_ms() - t0);
    gw_job_free(j);
    char target[32];
    snprintf(target, sizeof target, "%lld", (long long)ns.session);
    gw_audit_req(r, "dicomweb_store", target);
    if (!read || !s.parts) {
        if (s.ok)
            fclose(s.ok);
        if (s.failed)
            fclose(s.failed);
        free(s.ok_text);
        free(s.failed_text);
        return (void)gw_fail(r, 400, "the body is not a multipart/related of DICOM instances (or a part is larger "
                                     "than max_instance_bytes)");
    }
    answer(r, &s);
}

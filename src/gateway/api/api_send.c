/* api_send.c — sending an archived session to a storable PACS (C-STORE),
 * in the background: POST starts it, GET shows progress and the result of
 * each instance. Sends live in memory: they are short, and their results
 * name only de-identified UIDs. */
#include "gateway/import/job.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct gw_send {
    char id[17];
    int64_t user, pacs;
    char project[65], session[65];
    const char *state; /* running, done, failed (static strings) */
    int total, sent, failed;
    char error[300];
    json_t *results; /* [{sop_uid, status, ok}] */
    time_t finished;
    struct gw_send *next;
} gw_send;

static int add_path(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n >= 2 && c[0].s && c[1].s)
        json_array_append_new(ctx, json_pack("[s,s]", c[0].s, c[1].s));
    return 0;
}

typedef struct send_arg {
    gw *g;
    gw_send *s;
} send_arg;

static void *run_send(void *p)
{
    send_arg *a = p;
    gw *g = a->g;
    gw_send *s = a->s;
    json_t *files = json_array();
    store_exec(g->db, "SELECT path, sop_uid FROM archive_instances WHERE project = ? AND session = ? ORDER BY path",
               (store_val[]){STORE_S(s->project), STORE_S(s->session)}, 2, add_path, files, NULL, NULL);
    gw_pacs pacs;
    dqr_error err = {0};
    net_assoc *as = NULL;
    pthread_mutex_lock(&g->sends_lock);
    s->total = (int)json_array_size(files);
    pthread_mutex_unlock(&g->sends_lock);
    if (gw_pacs_load(g, s->pacs, &pacs, &err) == DQR_OK)
        as = gw_pacs_connect(g, &pacs, NET_VERIFICATION_SOP, true, &err);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        if (!as || g->stopping)
            break;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", g->cfg.data_dir, json_string_value(json_array_get(f, 0)));
        uint16_t status = 0xFFFF;
        dqr_error e = {0};
        dcm_file *file = dcm_file_open(path, &e);
        dqr_status st = file ? net_store(as, file, (uint16_t)(i + 1), &status, &e) : e.code;
        dcm_file_close(file);
        bool ok = st == DQR_OK && (status == 0 || (status & 0xF000) == 0xB000);
        pthread_mutex_lock(&g->sends_lock);
        ok ? s->sent++ : s->failed++;
        json_array_append_new(s->results, json_pack("{s:O,s:i,s:b}", "sop_uid", json_array_get(f, 1), "status", status,
                                                    "ok", ok));
        pthread_mutex_unlock(&g->sends_lock);
        if (st != DQR_OK && st != DQR_E_NOTFOUND) { /* the association is gone */
            snprintf(s->error, sizeof s->error, "%.290s", e.message);
            net_assoc_free(as);
            as = NULL;
        }
    }
    if (as)
        net_release(as, NULL);
    net_assoc_free(as);
    pthread_mutex_lock(&g->sends_lock);
    if (!*s->error && err.message[0])
        snprintf(s->error, sizeof s->error, "%.290s", err.message);
    s->state = s->failed || *s->error || s->sent < s->total ? "failed" : "done";
    s->finished = time(NULL);
    pthread_mutex_unlock(&g->sends_lock);
    gw_log(g, "info", "send", "id=%s pacs=%lld sent=%d failed=%d of=%d", s->id, (long long)s->pacs, s->sent,
           s->failed, s->total);
    json_decref(files);
    pthread_mutex_lock(&g->jobs_lock);
    g->nworkers--;
    pthread_cond_broadcast(&g->idle);
    pthread_mutex_unlock(&g->jobs_lock);
    free(a);
    return NULL;
}

/* Finished sends are kept an hour for their results, then forgotten. */
static void prune(gw *g)
{
    time_t old = time(NULL) - 3600;
    pthread_mutex_lock(&g->sends_lock);
    for (gw_send **p = &g->sends; *p;) {
        gw_send *s = *p;
        if (s->finished && s->finished < old) {
            *p = s->next;
            json_decref(s->results);
            free(s);
        } else {
            p = &s->next;
        }
    }
    pthread_mutex_unlock(&g->sends_lock);
}

static void send_start(gw_req *r)
{
    json_t *pv = json_object_get(r->body, "pacs");
    gw_pacs p;
    dqr_error err;
    int64_t n = 0;
    if (!gw_may_use(r, "project", r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    if (!json_is_integer(pv) || !gw_may_use_pacs(r, json_integer_value(pv)) ||
        gw_pacs_load(r->g, json_integer_value(pv), &p, &err) != DQR_OK) {
        gw_fail(r, 403, "send {\"pacs\": ID} naming a PACS you may use");
        return;
    }
    if (!p.storable || strcmp(p.protocol, "dimse") != 0) {
        gw_fail(r, 409, "PACS %s is not marked storable (DIMSE)", p.label);
        return;
    }
    store_int(r->g->db, "SELECT COUNT(*) FROM archive_instances WHERE project = ? AND session = ?",
              (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1])}, 2, &n, NULL);
    if (!n) {
        gw_fail(r, 404, "no session %s in project %s", r->arg[1], r->arg[0]);
        return;
    }
    char target[200], pacs[24];
    snprintf(target, sizeof target, "%s/%s", r->arg[0], r->arg[1]);
    snprintf(pacs, sizeof pacs, "%lld", (long long)p.id);
    gw_audit_ev ev = gw_audit_of(r, "session_send", target);
    ev.detail[0][0] = "pacs", ev.detail[0][1] = pacs; /* the destination */
    if (gw_audit_event(r->g, &ev) != DQR_OK) {
        gw_fail(r, 500, "the audit log cannot be written, so nothing is sent");
        return;
    }
    gw_send *s = calloc(1, sizeof *s);
    send_arg *a = malloc(sizeof *a);
    if (!s || !a) {
        free(s), free(a);
        gw_fail(r, 500, "out of memory");
        return;
    }
    unsigned char rnd[8];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(s->id, sizeof s->id, rnd, sizeof rnd);
    s->user = r->user.id, s->pacs = p.id, s->state = "running", s->results = json_array();
    prune(r->g);
    snprintf(s->project, sizeof s->project, "%s", r->arg[0]);
    snprintf(s->session, sizeof s->session, "%s", r->arg[1]);
    *a = (send_arg){r->g, s};
    pthread_mutex_lock(&r->g->sends_lock);
    s->next = r->g->sends;
    r->g->sends = s;
    pthread_mutex_unlock(&r->g->sends_lock);
    pthread_mutex_lock(&r->g->jobs_lock);
    r->g->nworkers++; /* stop waits for it like a transfer */
    pthread_mutex_unlock(&r->g->jobs_lock);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, run_send, a) != 0) {
        s->state = "failed";
        snprintf(s->error, sizeof s->error, "cannot start the send");
        pthread_mutex_lock(&r->g->jobs_lock);
        r->g->nworkers--;
        pthread_mutex_unlock(&r->g->jobs_lock);
        free(a);
    }
    pthread_attr_destroy(&attr);
    gw_reply(r, 202, json_pack("{s:s,s:s}", "id", s->id, "state", "running"));
}

static void send_get(gw_req *r)
{
    json_t *o = NULL;
    pthread_mutex_lock(&r->g->sends_lock);
    for (gw_send *s = r->g->sends; s && !o; s = s->next)
        if (strcmp(s->id, r->arg[0]) == 0 && (r->user.admin || s->user == r->user.id)) {
            o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:i,s:i,s:i,s:O}", "id", s->id, "state", s->state, "pacs",
                          (json_int_t)s->pacs, "project", s->project, "session", s->session, "total", s->total, "sent",
                          s->sent, "failed", s->failed, "results", s->results);
            if (*s->error)
                json_object_set_new(o, "error", json_string(s->error));
        }
    pthread_mutex_unlock(&r->g->sends_lock);
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no send %s of yours", r->arg[0]);
}

void gw_sends_free(gw *g)
{
    for (gw_send *s = g->sends, *next; s; s = next) {
        next = s->next;
        json_decref(s->results);
        free(s);
    }
    g->sends = NULL;
}

const gw_route gw_routes_send[] = {
    {"POST", "/api/v1/projects/{}/sessions/{}/send", GW_USER, send_start},
    {"GET", "/api/v1/sends/{}", GW_USER, send_get},
    {NULL, NULL, GW_PUBLIC, NULL},
};

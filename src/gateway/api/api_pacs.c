/* api_pacs.c — the PACS registry: CRUD, ping (C-ECHO), availability schedule. */
#include "gateway/pacs/query.h"
#include "gateway/pacs/schedule.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PACS_COLS                                                                                                    \
    "id, label, aet, host, port, calling_aet, queryable, storable, default_qr, default_store, protocol, url, "       \
    "username, password_enc IS NOT NULL AS has_password, retrieve, receiver_aet, timezone, tls, tls_cert, "      \
    "tls_key, tls_ca, retry_attempts, retry_backoff_seconds, session_attempts, session_retry_seconds, created, "  \
    "updated"

static const char *const editable[] = {"label",    "aet",      "host",          "port",     "calling_aet",
                                       "queryable", "storable", "default_qr",    "default_store", "protocol",
                                       "url",      "username", "password",      "retrieve", "timezone",
                                       "schedule", "receiver_aet", "tls", "tls_cert", "tls_key", "tls_ca",
                                       "retry_attempts", "retry_backoff_seconds", "session_attempts",
                                       "session_retry_seconds", NULL};

static json_t *load_json(gw *g, int64_t id, dqr_error *err)
{
    json_t *o = gw_row(g, "SELECT " PACS_COLS ", schedule FROM pacs WHERE id = ?", (store_val[]){STORE_I(id)}, 1, err);
    if (!o)
        return NULL;
    /* the schedule column holds its JSON text; show it as an object */
    gw_schedule s;
    gw_schedule_stored(json_string_value(json_object_get(o, "schedule")),
                       json_string_value(json_object_get(o, "timezone")), &s);
    json_object_set_new(o, "schedule", gw_schedule_json(&s));
    return o;
}

static void pacs_list(gw_req *r)
{
    dqr_error err;
    json_t *a = r->user.admin ? gw_rows(r->g, "SELECT " PACS_COLS " FROM pacs ORDER BY id", NULL, 0, &err)
                              : gw_rows(r->g,
                                        "SELECT " PACS_COLS " FROM pacs WHERE CAST(id AS TEXT) IN "
                                        "(SELECT target FROM grants WHERE user_id = ? AND kind = 'pacs') ORDER BY id",
                                        (store_val[]){STORE_I(r->user.id)}, 1, &err);
    a ? gw_reply(r, 200, json_pack("{s:o}", "pacs", a)) : gw_fail_err(r, &err);
}

static void pacs_get(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    dqr_error err;
    json_t *o = gw_may_use_pacs(r, id) ? load_json(r->g, id, &err) : NULL;
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no PACS %s that you may use", r->arg[0]);
}

typedef struct pacs_write {
    int64_t id; /* 0: insert */
    const json_t *p;
    const char *password_enc; /* sealed; NULL clears when clear_password */
    bool keep_password;
    char *schedule; /* JSON text of the days, NULL keeps */
} pacs_write;

static int flag(const json_t *p, const char *k)
{
    return json_is_true(json_object_get(p, k));
}

static const char *text(const json_t *p, const char *k)
{
    const char *s = json_string_value(json_object_get(p, k));
    return s && *s ? s : NULL;
}

static dqr_status write_pacs(void *ctx, store *s, dqr_error *err)
{
    pacs_write *w = ctx;
    const json_t *p = w->p;
    int64_t now = time(NULL);
    store_val v[] = {STORE_S(text(p, "label")),       STORE_S(text(p, "aet")),        STORE_S(text(p, "host")),
                     STORE_I(json_integer_value(json_object_get(p, "port"))),          STORE_S(text(p, "calling_aet")),
                     STORE_I(flag(p, "queryable")),   STORE_I(flag(p, "storable")),   STORE_I(flag(p, "default_qr")),
                     STORE_I(flag(p, "default_store")), STORE_S(text(p, "protocol")), STORE_S(text(p, "url")),
                     STORE_S(text(p, "username")),    STORE_S(text(p, "retrieve")),   STORE_S(text(p, "timezone")),
                     STORE_I(now),                    STORE_I(w->keep_password),      STORE_S(w->password_enc),
                     STORE_S(w->schedule),            STORE_S(text(p, "receiver_aet")), STORE_I(flag(p, "tls")),
                     STORE_S(text(p, "tls_cert")),    STORE_S(text(p, "tls_key")),    STORE_S(text(p, "tls_ca")),
                     STORE_I(w->id)};
    dqr_status st;
    if (w->id == 0) {
        st = store_exec(s,
                        "INSERT INTO pacs(label, aet, host, port, calling_aet, queryable, storable, default_qr, "
                        "default_store, protocol, url, username, retrieve, timezone, updated, created, password_enc, "
                        "schedule, receiver_aet, tls, tls_cert, tls_key, tls_ca) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (store_val[]){v[0],  v[1],  v[2],  v[3],  v[4],         v[5],  v[6],  v[7],
                                      v[8],  v[9],  v[10], v[11], v[12],        v[13], v[14], STORE_I(now),
                                      v[16], v[17], v[18], v[19], v[20],        v[21], v[22]},
                        23, NULL, NULL, NULL, err);
        if (st == DQR_OK)
            st = store_int(s, "SELECT id FROM pacs WHERE label = ?", v, 1, &w->id, err);
    } else {
        st = store_exec(s,
                        "UPDATE pacs SET label = ?, aet = ?, host = ?, port = ?, calling_aet = ?, queryable = ?, "
                        "storable = ?, default_qr = ?, default_store = ?, protocol = ?, url = ?, username = ?, "
                        "retrieve = ?, timezone = ?, updated = ?, "
                        "password_enc = CASE WHEN ? = 1 THEN password_enc ELSE ? END, "
                        "schedule = COALESCE(?, schedule), receiver_aet = ?, tls = ?, tls_cert = ?, tls_key = ?, "
                        "tls_ca = ? WHERE id = ?",
                        v, 24, NULL, NULL, NULL, err);
    }
    /* the retry policy (docs/import.md); absent from a new PACS: the column defaults */
    const json_t *ra = json_object_get(p, "retry_attempts"), *rb = json_object_get(p, "retry_backoff_seconds");
    if (st == DQR_OK && (json_is_integer(ra) || json_is_integer(rb)))
        st = store_exec(s,
                        "UPDATE pacs SET retry_attempts = COALESCE(?, retry_attempts), "
                        "retry_backoff_seconds = COALESCE(?, retry_backoff_seconds) WHERE id = ?",
                        (store_val[]){json_is_integer(ra) ? STORE_I(json_integer_value(ra)) : STORE_S(NULL),
                                      json_is_integer(rb) ? STORE_I(json_integer_value(rb)) : STORE_S(NULL),
                                      STORE_I(w->id)},
                        3, NULL, NULL, NULL, err);
    /* a whole session's retry policy: given (a number, or null for the global settings) or left as it is */
    const char *const session_keys[] = {"session_attempts", "session_retry_seconds"};
    for (int k = 0; k < 2 && st == DQR_OK; k++) {
        const json_t *v = json_object_get(p, session_keys[k]);
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE pacs SET %s = ? WHERE id = ?", session_keys[k]);
        if (v)
            st = store_exec(s, sql,
                            (store_val[]){json_is_integer(v) ? STORE_I(json_integer_value(v)) : STORE_S(NULL),
                                          STORE_I(w->id)},
                            2, NULL, NULL, NULL, err);
    }
    /* at most one default query/retrieve PACS and one default storage PACS */
    if (st == DQR_OK && flag(p, "default_qr"))
        st = store_exec(s, "UPDATE pacs SET default_qr = 0 WHERE id <> ?", (store_val[]){STORE_I(w->id)}, 1, NULL,
                        NULL, NULL, err);
    if (st == DQR_OK && flag(p, "default_store"))
        st = store_exec(s, "UPDATE pacs SET default_store = 0 WHERE id <> ?", (store_val[]){STORE_I(w->id)}, 1, NULL,
                        NULL, NULL, err);
    return st;
}

/* The TLS files must be there for dqr serve when the PACS is saved, not
 * discovered missing at the first transfer. */
static bool tls_files_readable(const json_t *base, char *msg, size_t len)
{
    static const char *const files[] = {"tls_cert", "tls_key", "tls_ca", NULL};
    for (const char *const *k = files; *k; k++) {
        const char *v = text(base, *k);
        if (v && access(v, R_OK) != 0) {
            snprintf(msg, len, "'%s': dqr cannot read %s: %s", *k, v, strerror(errno));
            return false;
        }
    }
    return true;
}

/* Merge the body into base (a new or the stored PACS), check, and save. */
static void save(gw_req *r, json_t *base, int64_t id)
{
    if (!gw_body_merge(r, base, editable, "PACS"))
        return;
    char msg[256];
    if (!gw_pacs_check(base, msg, sizeof msg) || !tls_files_readable(base, msg, sizeof msg)) {
        gw_fail(r, 400, "%s", msg);
        return;
    }
    pacs_write w = {.id = id, .p = base, .keep_password = true};
    json_t *sched = json_object_get(r->body, "schedule");
    if (sched) {
        gw_schedule s;
        json_t *copy = json_deep_copy(sched);
        if (json_is_object(copy) && !json_object_get(copy, "timezone"))
            json_object_set(copy, "timezone", json_object_get(base, "timezone"));
        bool ok = gw_schedule_parse(copy, &s, msg, sizeof msg);
        json_decref(copy);
        if (!ok) {
            gw_fail(r, 400, "schedule: %s", msg);
            return;
        }
        json_object_set_new(base, "timezone", json_string(s.timezone));
        json_t *sj = gw_schedule_json(&s);
        json_object_del(sj, "timezone"); /* kept in the timezone column */
        w.schedule = json_dumps(sj, JSON_COMPACT);
        json_decref(sj);
    }
    char *sealed = NULL;
    json_t *pw = json_object_get(r->body, "password");
    if (pw) {
        w.keep_password = false;
        if (json_is_string(pw) && *json_string_value(pw))
            sealed = store_vault_seal(r->g->vault, json_string_value(pw), strlen(json_string_value(pw)));
        w.password_enc = sealed;
    }
    dqr_error err;
    dqr_status st = store_tx(r->g->db, write_pacs, &w, &err);
    free(sealed);
    free(w.schedule);
    if (st == DQR_E_CONFLICT) {
        gw_fail(r, 409, "a PACS labelled '%s' exists already", json_string_value(json_object_get(base, "label")));
        return;
    }
    if (st != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, id ? "pacs_update" : "pacs_create", json_string_value(json_object_get(base, "label")));
    json_t *o = load_json(r->g, w.id, &err);
    o ? gw_reply(r, id ? 200 : 201, o) : gw_fail_err(r, &err);
}

static void pacs_create(gw_req *r)
{
    if (!r->body) {
        gw_fail(r, 400, "send the PACS as JSON: {\"label\", \"aet\", \"host\", \"port\", ...}");
        return;
    }
    json_t *base = json_pack("{s:b,s:b,s:b,s:b,s:s,s:s,s:s}", "queryable", 1, "storable", 0, "default_qr", 0,
                             "default_store", 0, "protocol", "dimse", "retrieve", "move", "timezone", "UTC");
    save(r, base, 0);
    json_decref(base);
}

static void pacs_update(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    dqr_error err;
    json_t *base = id ? load_json(r->g, id, &err) : NULL;
    if (!base) {
        gw_fail(r, 404, "no PACS %s", r->arg[0]);
        return;
    }
    if (!r->body) {
        json_decref(base);
        gw_fail(r, 400, "send the fields to change as a JSON object");
        return;
    }
    json_object_del(base, "schedule"); /* kept unless the body sends one */
    save(r, base, id);
    json_decref(base);
}

static void pacs_delete(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]), n = 0;
    store_exec(r->g->db, "DELETE FROM pacs WHERE id = ?", (store_val[]){STORE_I(id)}, 1, NULL, NULL, &n, NULL);
    if (!n) {
        gw_fail(r, 404, "no PACS %s", r->arg[0]);
        return;
    }
    char target[32]; /* by its id, not the path's spelling of it ("07" is PACS 7) */
    gw_grants_drop(r->g, "pacs", gw_pacs_target(id, target));
    gw_audit(r->g, r->user.id, "pacs_delete", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

/* C-ECHO: true when the PACS answered success. */
static bool echo(gw *g, const gw_pacs *p, dqr_error *err)
{
    uint16_t status = 0xFFFF;
    net_assoc *a = gw_pacs_connect(g, p, NET_VERIFICATION_SOP, false, err);
    bool ok = a && net_echo(a, &status, err) == DQR_OK && net_release(a, err) == DQR_OK && status == 0;
    if (a && !ok && status != 0xFFFF && status != 0)
        dqr_error_set(err, DQR_E_IO, "PACS %s answered C-ECHO with 0x%04X (%s)", p->label, status,
                      net_status_str(status));
    net_assoc_free(a);
    return ok;
}

/* A DICOMweb PACS is reachable when a one-study QIDO search is answered. */
static bool qido_ping(gw *g, const gw_pacs *p, dqr_error *err)
{
    gw_query_result qr;
    bool ok = gw_query_run(g, p, "STUDY", NULL, 1, &qr, err) == DQR_OK;
    json_decref(qr.results);
    return ok;
}

static void pacs_ping(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    gw_pacs p;
    dqr_error err;
    if (!gw_may_use_pacs(r, id) || gw_pacs_load(r->g, id, &p, &err) != DQR_OK) {
        gw_fail(r, 404, "no PACS %s that you may use", r->arg[0]);
        return;
    }
    GW_COUNT(r->g, pings);
    double t0 = gw_clock_ms();
    bool ok = strcmp(p.protocol, "dimse") == 0 ? echo(r->g, &p, &err) : qido_ping(r->g, &p, &err);
    double ms = gw_clock_ms() - t0;
    gw_log(r->g, ok ? "info" : "warn", "ping", "pacs=%lld ok=%d ms=%.1f", (long long)id, ok, ms);
    json_t *o = json_pack("{s:b,s:I}", "ok", ok, "ms", (json_int_t)(ms + 0.5));
    if (!ok)
        json_object_set_new(o, "error", json_string(err.message));
    gw_reply(r, 200, o);
}

static void schedule_get(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    dqr_error err;
    json_t *o = gw_may_use_pacs(r, id) ? load_json(r->g, id, &err) : NULL;
    if (!o) {
        gw_fail(r, 404, "no PACS %s that you may use", r->arg[0]);
        return;
    }
    gw_reply(r, 200, json_incref(json_object_get(o, "schedule")));
    json_decref(o);
}

static void schedule_put(gw_req *r)
{
    json_t *body = r->body;
    r->body = json_pack("{s:O}", "schedule", body ? body : json_null());
    json_decref(body);
    pacs_update(r);
}

const gw_route gw_routes_pacs[] = {
    {"GET", "/api/v1/pacs", GW_USER, pacs_list},
    {"POST", "/api/v1/pacs", GW_ADMIN, pacs_create},
    {"GET", "/api/v1/pacs/{}", GW_USER, pacs_get},
    {"PUT", "/api/v1/pacs/{}", GW_ADMIN, pacs_update},
    {"DELETE", "/api/v1/pacs/{}", GW_ADMIN, pacs_delete},
    {"POST", "/api/v1/pacs/{}/ping", GW_USER, pacs_ping},
    {"GET", "/api/v1/pacs/{}/schedule", GW_USER, schedule_get},
    {"PUT", "/api/v1/pacs/{}/schedule", GW_ADMIN, schedule_put},
    {NULL, NULL, GW_PUBLIC, NULL},
};

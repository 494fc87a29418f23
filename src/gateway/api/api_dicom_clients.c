/* api_dicom_clients.c — the registry of DICOM clients (admins only): the
 * Q/R SCUs that may query and retrieve the de-identified archive at dqr's
 * own AE, each seeing only its projects' instances, and where a C-MOVE to
 * them sends (host, port, DICOM TLS). docs/api.md. */
#include "gateway/internal.h"
#include "gateway/pacs/pacs.h"
#include "gateway/api/routes.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CLIENT_COLS "id, aet, host, port, tls, tls_cert, tls_key, tls_ca, created, updated"

static const char *const editable[] = {"aet", "host", "port", "projects", "tls", "tls_cert", "tls_key", "tls_ca", NULL};

static json_t *load_json(gw *g, int64_t id, dqr_error *err)
{
    json_t *o = gw_row(g, "SELECT " CLIENT_COLS " FROM dicom_clients WHERE id = ?", (store_val[]){STORE_I(id)}, 1, err);
    if (!o)
        return NULL;
    json_object_set_new(o, "tls", json_boolean(json_integer_value(json_object_get(o, "tls"))));
    json_t *rows = gw_rows(g, "SELECT project FROM dicom_client_projects WHERE client_id = ? ORDER BY project",
                           (store_val[]){STORE_I(id)}, 1, err);
    json_t *ids = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_array_append(ids, json_object_get(row, "project"));
    json_decref(rows);
    json_object_set_new(o, "projects", ids);
    return o;
}

static void client_list(gw_req *r)
{
    dqr_error err;
    json_t *ids = gw_rows(r->g, "SELECT id FROM dicom_clients ORDER BY id", NULL, 0, &err);
    if (!ids) {
        gw_fail_err(r, &err);
        return;
    }
    json_t *a = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(ids, i, row)
    {
        json_t *o = load_json(r->g, json_integer_value(json_object_get(row, "id")), &err);
        if (o)
            json_array_append_new(a, o);
    }
    json_decref(ids);
    gw_reply(r, 200, json_pack("{s:o}", "dicom_clients", a));
}

static void client_get(gw_req *r)
{
    dqr_error err;
    int64_t id = gw_id(r->arg[0]);
    json_t *o = id ? load_json(r->g, id, &err) : NULL;
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no DICOM client %s", r->arg[0]);
}

/* aet, host, port and the TLS files follow the rules of a PACS entry:
 * checked by the PACS check, under the AE title as its label. */
static bool check(gw *g, const json_t *c, char *msg, size_t len)
{
    json_t *as_pacs = json_deep_copy(c);
    json_object_del(as_pacs, "projects");
    json_object_set(as_pacs, "label", json_object_get(c, "aet"));
    bool ok = gw_pacs_check(as_pacs, msg, len);
    json_decref(as_pacs);
    static const char *const files[] = {"tls_cert", "tls_key", "tls_ca", NULL};
    for (const char *const *k = files; ok && *k; k++) {
        const char *v = json_string_value(json_object_get(c, *k));
        if (v && *v && access(v, R_OK) != 0) {
            snprintf(msg, len, "'%s': dqr cannot read %s: %s", *k, v, strerror(errno));
            ok = false;
        }
    }
    const json_t *projects = json_object_get(c, "projects");
    if (ok && !json_is_array(projects)) {
        snprintf(msg, len, "'projects' is required: the ids of the projects the client may query and retrieve");
        return false;
    }
    size_t i;
    json_t *p;
    json_array_foreach(projects, i, p)
    {
        int64_t one;
        if (!ok)
            break;
        if (!json_is_string(p) || store_int(g->db, "SELECT 1 FROM projects WHERE id = ?",
                                            (store_val[]){STORE_S(json_string_value(p))}, 1, &one, NULL) != DQR_OK) {
            snprintf(msg, len, "'projects': %s is no project", json_is_string(p) ? json_string_value(p) : "a non-string");
            ok = false;
        }
    }
    return ok;
}

typedef struct client_write {
    int64_t id; /* 0: insert */
    const json_t *c;
} client_write;

static const char *text(const json_t *c, const char *k)
{
    const char *s = json_string_value(json_object_get(c, k));
    return s && *s ? s : NULL;
}

static dqr_status write_client(void *ctx, store *s, dqr_error *err)
{
    client_write *w = ctx;
    const json_t *c = w->c;
    int64_t now = time(NULL);
    store_val v[] = {STORE_S(text(c, "aet")),      STORE_S(text(c, "host")),
                     STORE_I(json_integer_value(json_object_get(c, "port"))),
                     STORE_I(json_is_true(json_object_get(c, "tls"))),
                     STORE_S(text(c, "tls_cert")), STORE_S(text(c, "tls_key")), STORE_S(text(c, "tls_ca")),
                     STORE_I(now),                 STORE_I(w->id)};
    dqr_status st;
    if (!w->id) {
        st = store_exec(s,
                        "INSERT INTO dicom_clients(aet, host, port, tls, tls_cert, tls_key, tls_ca, updated, created) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (store_val[]){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[7]}, 9, NULL, NULL, NULL, err);
        if (!st)
            st = store_int(s, "SELECT id FROM dicom_clients WHERE aet = ?", v, 1, &w->id, err);
    } else {
        st = store_exec(s,
                        "UPDATE dicom_clients SET aet = ?, host = ?, port = ?, tls = ?, tls_cert = ?, tls_key = ?, "
                        "tls_ca = ?, updated = ? WHERE id = ?",
                        v, 9, NULL, NULL, NULL, err);
    }
    if (!st)
        st = store_exec(s, "DELETE FROM dicom_client_projects WHERE client_id = ?", (store_val[]){STORE_I(w->id)}, 1,
                        NULL, NULL, NULL, err);
    const json_t *projects = json_object_get(c, "projects");
    for (size_t i = 0; !st && i < json_array_size(projects); i++)
        st = store_exec(s, "INSERT INTO dicom_client_projects(client_id, project) VALUES (?, ?) ON CONFLICT DO NOTHING",
                        (store_val[]){STORE_I(w->id), STORE_S(json_string_value(json_array_get(projects, i)))}, 2,
                        NULL, NULL, NULL, err);
    return st;
}

/* Merge the body into base (a new or the stored client), check, save. */
static void save(gw_req *r, json_t *base, int64_t id)
{
    if (!gw_body_merge(r, base, editable, "DICOM client"))
        return;
    char msg[256];
    if (!check(r->g, base, msg, sizeof msg)) {
        gw_fail(r, 400, "%s", msg);
        return;
    }
    client_write w = {.id = id, .c = base};
    dqr_error err;
    dqr_status st = store_tx(r->g->db, write_client, &w, &err);
    if (st == DQR_E_CONFLICT) {
        gw_fail(r, 409, "a DICOM client with AE title '%s' exists already", text(base, "aet"));
        return;
    }
    if (st) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, id ? "dicom_client_update" : "dicom_client_create", text(base, "aet"));
    json_t *o = load_json(r->g, w.id, &err);
    o ? gw_reply(r, id ? 200 : 201, o) : gw_fail_err(r, &err);
}

static void client_create(gw_req *r)
{
    if (!r->body) {
        gw_fail(r, 400, "send the client as JSON: {\"aet\", \"host\", \"port\", \"projects\": [ids], \"tls\"?}");
        return;
    }
    json_t *base = json_pack("{s:b}", "tls", 0);
    save(r, base, 0);
    json_decref(base);
}

static void client_update(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]);
    dqr_error err;
    json_t *base = id ? load_json(r->g, id, &err) : NULL;
    if (!base) {
        gw_fail(r, 404, "no DICOM client %s", r->arg[0]);
        return;
    }
    if (!r->body) {
        json_decref(base);
        gw_fail(r, 400, "send the fields to change as a JSON object");
        return;
    }
    json_object_del(base, "id"), json_object_del(base, "created"), json_object_del(base, "updated");
    save(r, base, id);
    json_decref(base);
}

static void client_delete(gw_req *r)
{
    int64_t id = gw_id(r->arg[0]), n = 0;
    store_exec(r->g->db, "DELETE FROM dicom_clients WHERE id = ?", (store_val[]){STORE_I(id)}, 1, NULL, NULL, &n, NULL);
    if (!n) {
        gw_fail(r, 404, "no DICOM client %s", r->arg[0]);
        return;
    }
    gw_audit(r->g, r->user.id, "dicom_client_delete", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

const gw_route gw_routes_dicom_clients[] = {
    {"GET", "/api/v1/dicom-clients", GW_ADMIN, client_list},
    {"POST", "/api/v1/dicom-clients", GW_ADMIN, client_create},
    {"GET", "/api/v1/dicom-clients/{}", GW_ADMIN, client_get},
    {"PUT", "/api/v1/dicom-clients/{}", GW_ADMIN, client_update},
    {"DELETE", "/api/v1/dicom-clients/{}", GW_ADMIN, client_delete},
    {NULL, NULL, GW_PUBLIC, NULL},
};

/* api_audit.c — GET /api/v1/audit: the catalog's audit rows for
 * administrators, newest first, paged by id. Reading the trail is itself an
 * event (Audit Log Used), recorded before the rows are answered. */
#include "gateway/internal.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A ?name= argument that must be a positive integer when given; false (and
 * a 400 answered) when it is not one. */
static bool int_arg(gw_req *r, const char *name, long long max, long long *out)
{
    const char *v = http_query(r->http, name);
    char *end = NULL;
    long long n = v ? strtoll(v, &end, 10) : *out;
    if (v && (end == v || *end || n < 1 || n > max))
        return gw_fail(r, 400, "'%s' must be an integer from 1 to %lld", name, max);
    *out = n;
    return true;
}

/* ?user= is a user id (0: events of no logged-in user, such as a failed
 * login under an unknown name) or a user name; -1 when no user has that
 * name, so nothing matches. */
static int64_t user_filter(gw_req *r, const char *user)
{
    int64_t id = gw_id(user);
    if (strcmp(user, "0") != 0 && !id &&
        store_int(r->g->db, "SELECT id FROM users WHERE username = ?", (store_val[]){STORE_S(user)}, 1, &id, NULL) !=
            DQR_OK)
        id = -1;
    return id;
}

/* s percent-encoded into out[300] (cut when it is full: filters are short). */
static const char *url_encode(const char *s, char out[300])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && n + 4 < 300; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%', out[n++] = hex[*p >> 4], out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return out;
}

/* Each row gets the DICOM event it was recorded as. */
static void add_events(json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const gw_audit_kind *k = gw_audit_kind_of(json_string_value(json_object_get(row, "action")));
        json_object_set_new(row, "event", json_pack("{s:s,s:s}", "id", k->event_id, "name", k->event_name));
    }
}

static void audit_list(gw_req *r)
{
    long long limit = 100, before = 0;
    if (!int_arg(r, "limit", 1000, &limit) || !int_arg(r, "before", INT64_MAX, &before))
        return;
    const char *action = http_query(r->http, "action"), *user = http_query(r->http, "user");
    int64_t by_user = user && *user, uid = by_user ? user_filter(r, user) : 0;
    dqr_error err = {0};
    json_t *rows = gw_rows(r->g,
                           "SELECT a.id, a.at, a.user_id, u.username AS user, a.action, a.target FROM audit a "
                           "LEFT JOIN users u ON u.id = a.user_id WHERE (? = 0 OR a.id < ?) AND (? = '' OR a.action = ?) "
                           "AND (? = 0 OR a.user_id = ?) ORDER BY a.id DESC LIMIT ?",
                           (store_val[]){STORE_I(before), STORE_I(before), STORE_S(action ? action : ""),
                                         STORE_S(action ? action : ""), STORE_I(by_user), STORE_I(uid), STORE_I(limit)},
                           7, &err);
    if (!rows) {
        gw_fail_err(r, &err);
        return;
    }
    if (gw_audit_req(r, "audit_read", "catalog:audit") != DQR_OK) {
        json_decref(rows);
        gw_fail(r, 500, "the audit log cannot be written, so it is not shown (see the server log)");
        return;
    }
    add_events(rows);
    json_t *o = json_pack("{s:o}", "events", rows);
    size_t n = json_array_size(rows);
    if (n == (size_t)limit) {
        /* the same filters, from below the last id shown */
        char next[1024], a[300] = "", u[300] = "";
        json_int_t last = json_integer_value(json_object_get(json_array_get(rows, n - 1), "id"));
        snprintf(next, sizeof next, "/api/v1/audit?limit=%lld&before=%lld%s%s%s%s", limit, (long long)last,
                 action ? "&action=" : "", url_encode(action, a), user ? "&user=" : "", url_encode(user, u));
        json_object_set_new(o, "next", json_string(next));
    }
    gw_reply(r, 200, o);
}

const gw_route gw_routes_audit[] = {
    {"GET", "/api/v1/audit", GW_ADMIN, audit_list},
    {NULL, NULL, GW_PUBLIC, NULL},
};

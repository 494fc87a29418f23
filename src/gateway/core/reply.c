/* reply.c — JSON answers and catalog rows as JSON. */
#include "gateway/internal.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void gw_reply(gw_req *r, int status, json_t *v)
{
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(v);
    if (!text) {
        text = strdup("{\"error\":\"out of memory\"}");
        status = 500;
    }
    http_respond(r->http, status, "application/json", text, text ? strlen(text) : 0);
}

bool gw_fail(gw_req *r, int status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gw_reply(r, status, json_pack("{s:s}", "error", msg));
    return false;
}

int gw_http_status(dqr_status st)
{
    switch (st) {
    case DQR_OK: return 200;
    case DQR_E_NOTFOUND: return 404;
    case DQR_E_CONFLICT: return 409;
    case DQR_E_USAGE:
    case DQR_E_PARSE:
    case DQR_E_LIMIT: return 400;
    case DQR_E_UNSUPPORTED: return 501;
    case DQR_E_IO: return 502;
    default: return 500;
    }
}

void gw_fail_script(gw_req *r, const char *message)
{
    int line = 0, col = 0;
    const char *colon = strchr(message, ':');
    if (colon)
        sscanf(colon + 1, "%d:%d", &line, &col);
    json_t *o = json_pack("{s:s}", "error", message);
    if (line)
        json_object_set_new(o, "line", json_integer(line)), json_object_set_new(o, "column", json_integer(col));
    gw_reply(r, 400, o);
}

void gw_fail_err(gw_req *r, const dqr_error *err)
{
    gw_fail(r, gw_http_status(err->code), "%s", err->message);
}

const char *gw_body_str(gw_req *r, const char *key, bool *bad)
{
    json_t *v = r->body ? json_object_get(r->body, key) : NULL;
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *bad = true;
        gw_fail(r, 400, "'%s' must be a string", key);
        return NULL;
    }
    return json_string_value(v);
}

double gw_clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

const char *gw_iso_time(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static const char *const bool_cols[] = {"queryable", "storable", "default_qr", "default_store", "dqr_enabled",
                                        "phi", "disabled", "truncated", "has_password", "has_script", "bulk", "has_identifiers",
                                        "tls", NULL};
static const char *const time_cols[] = {"created", "updated", "at", "expires", "last_used", "queued", "started", "finished", NULL};

static bool listed(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static json_t *value_json(const char *name, const store_val *v)
{
    char buf[32];
    switch (v->type) {
    case STORE_INT:
        if (listed(bool_cols, name))
            return json_boolean(v->i != 0);
        if (listed(time_cols, name))
            return v->i ? json_string(gw_iso_time(v->i, buf)) : json_null();
        return json_integer(v->i);
    case STORE_TEXT: return json_stringn(v->s, v->n);
    default: return json_null();
    }
}

static int add_row(void *ctx, int n, const char *const *names, const store_val *cols)
{
    json_t *o = json_object();
    for (int i = 0; i < n; i++)
        json_object_set_new(o, names[i], value_json(names[i], &cols[i]));
    json_array_append_new(ctx, o);
    return 0;
}

json_t *gw_rows(gw *g, const char *sql, const store_val *args, int nargs, dqr_error *err)
{
    json_t *a = json_array();
    if (store_exec(g->db, sql, args, nargs, add_row, a, NULL, err) != DQR_OK) {
        json_decref(a);
        return NULL;
    }
    return a;
}

json_t *gw_row(gw *g, const char *sql, const store_val *args, int nargs, dqr_error *err)
{
    json_t *a = gw_rows(g, sql, args, nargs, err);
    if (!a)
        return NULL;
    json_t *o = json_incref(json_array_get(a, 0));
    json_decref(a);
    if (!o)
        dqr_error_set(err, DQR_E_NOTFOUND, "not found");
    return o;
}

void gw_wipe(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}

int64_t gw_id(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return *s && !*end && v > 0 ? v : 0;
}

bool gw_body_merge(gw_req *r, json_t *base, const char *const *editable, const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach(r->body, key, v)
    {
        bool known = false;
        for (const char *const *k = editable; *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known)
            return gw_fail(r, 400, "unknown %s field '%s'", what, key);
        json_object_set(base, key, v);
    }
    return true;
}

/* pacs.c — PACS descriptions: validation, loading, connecting. */
#include "gateway/pacs/pacs.h"
#include "gateway/pacs/schedule.h"

#include <stdio.h>
#include <string.h>

static bool aet_ok(const char *s, bool optional)
{
    if (!s)
        return optional;
    size_t n = strlen(s);
    if (n == 0)
        return optional;
    if (n > 16 || s[0] == ' ')
        return false;
    for (const char *c = s; *c; c++)
        if (*c < 0x20 || *c > 0x7e || *c == '\\')
            return false;
    return true;
}

static bool fail(char *msg, size_t len, const char *text)
{
    snprintf(msg, len, "%s", text);
    return false;
}

static const char *str(const json_t *p, const char *key)
{
    return json_string_value(json_object_get(p, key));
}

/* The TLS files are paths on the dqr host: absolute, since dqr serve's
 * working directory is nobody's business, and a certificate with its key. */
static bool tls_check(const json_t *p, char *msg, size_t len)
{
    static const char *const files[] = {"tls_cert", "tls_key", "tls_ca", NULL};
    for (const char *const *k = files; *k; k++) {
        const char *v = str(p, *k);
        if (v && *v && (v[0] != '/' || strlen(v) >= 512)) {
            snprintf(msg, len, "'%s' is the absolute path of a PEM file on the dqr host", *k);
            return false;
        }
    }
    const char *cert = str(p, "tls_cert"), *key = str(p, "tls_key");
    if ((cert && *cert) != (key && *key))
        return fail(msg, len, "'tls_cert' and 'tls_key' go together: the client certificate dqr presents and its key");
    return true;
}

/* key is absent, or an integer from lo to hi */
static bool int_in(const json_t *p, const char *key, int lo, int hi)
{
    const json_t *v = json_object_get(p, key);
    return !v || json_is_null(v) ||
           (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi);
}

bool gw_pacs_check(const json_t *p, char *msg, size_t len)
{
    static const char *const strings[] = {"label",    "aet",      "host",         "calling_aet", "protocol",
                                          "retrieve", "url",      "username",     "password",    "timezone",
                                          "receiver_aet", "tls_cert", "tls_key", "tls_ca", NULL};
    static const char *const bools[] = {"queryable", "storable", "default_qr", "default_store", "tls", NULL};
    if (!json_is_object(p))
        return fail(msg, len, "a PACS is a JSON object");
    for (const char *const *k = strings; *k; k++) {
        const json_t *v = json_object_get(p, *k);
        if (v && !json_is_string(v) && !json_is_null(v)) {
            snprintf(msg, len, "'%s' must be a string", *k);
            return false;
        }
    }
    for (const char *const *k = bools; *k; k++) {
        const json_t *v = json_object_get(p, *k);
        if (v && !json_is_boolean(v)) {
            snprintf(msg, len, "'%s' must be true or false", *k);
            return false;
        }
    }
    const char *label = str(p, "label"), *host = str(p, "host"), *proto = str(p, "protocol"),
               *retr = str(p, "retrieve"), *url = str(p, "url"), *tz = str(p, "timezone");
    const json_t *port = json_object_get(p, "port");
    if (!label || !*label || strlen(label) > 64)
        return fail(msg, len, "'label' is required: 1 to 64 characters");
    if (!aet_ok(str(p, "aet"), false))
        return fail(msg, len, "'aet' is required: 1 to 16 printable characters, no backslash");
    if (!aet_ok(str(p, "calling_aet"), true))
        return fail(msg, len, "'calling_aet' is 1 to 16 printable characters, no backslash");
    if (!aet_ok(str(p, "receiver_aet"), true))
        return fail(msg, len, "'receiver_aet' is the AE title of one of dqr's receivers (docs/configuration.md)");
    if (!host || !*host || strlen(host) > 255 || strpbrk(host, " /\\"))
        return fail(msg, len, "'host' is required: a host name or address");
    if (!json_is_integer(port) || json_integer_value(port) < 1 || json_integer_value(port) > 65535)
        return fail(msg, len, "'port' is required: an integer from 1 to 65535");
    if (proto && strcmp(proto, "dimse") && strcmp(proto, "dicomweb"))
        return fail(msg, len, "'protocol' is dimse or dicomweb");
    if (proto && strcmp(proto, "dicomweb") == 0 &&
        (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) || strlen(url) > 500))
        return fail(msg, len, "a dicomweb PACS needs 'url': its base address, http:// or https://");
    if (retr && strcmp(retr, "move") && strcmp(retr, "get"))
        return fail(msg, len, "'retrieve' is move (C-MOVE) or get (C-GET)");
    if (!int_in(p, "retry_attempts", 0, 20))
        return fail(msg, len, "'retry_attempts' is an integer from 0 to 20: how often a series still short after a "
                              "C-MOVE is asked for again");
    if (!int_in(p, "retry_backoff_seconds", 0, 3600))
        return fail(msg, len, "'retry_backoff_seconds' is an integer from 0 to 3600: the first wait before asking "
                              "again (doubling)");
    if (!int_in(p, "session_attempts", 1, 100))
        return fail(msg, len, "'session_attempts' is null or an integer from 1 to 100: transfers tried before a "
                              "session of this PACS fails (null: import_max_attempts)");
    if (!int_in(p, "session_retry_seconds", 1, 86400))
        return fail(msg, len, "'session_retry_seconds' is null or an integer from 1 to 86400: the first wait before a "
                              "failed session of this PACS is tried again, doubling (null: import_retry_seconds)");
    if (tz && !gw_timezone_valid(tz))
        return fail(msg, len, "'timezone' is not a time zone this machine knows (e.g. \"Europe/Berlin\", \"UTC\")");
    return tls_check(p, msg, len);
}

static int take_pacs(void *ctx, int n, const char *const *names, const store_val *c)
{
    gw_pacs *p = ctx;
    for (int i = 0; i < n; i++) {
        const char *v = c[i].s ? c[i].s : "";
        const char *k = names[i];
        if (strcmp(k, "id") == 0) p->id = c[i].i;
        else if (strcmp(k, "port") == 0) p->port = (int)c[i].i;
        else if (strcmp(k, "queryable") == 0) p->queryable = c[i].i != 0;
        else if (strcmp(k, "storable") == 0) p->storable = c[i].i != 0;
        else if (strcmp(k, "label") == 0) snprintf(p->label, sizeof p->label, "%s", v);
        else if (strcmp(k, "aet") == 0) snprintf(p->aet, sizeof p->aet, "%s", v);
        else if (strcmp(k, "host") == 0) snprintf(p->host, sizeof p->host, "%s", v);
        else if (strcmp(k, "calling_aet") == 0) snprintf(p->calling_aet, sizeof p->calling_aet, "%s", v);
        else if (strcmp(k, "protocol") == 0) snprintf(p->protocol, sizeof p->protocol, "%s", v);
        else if (strcmp(k, "retrieve") == 0) snprintf(p->retrieve, sizeof p->retrieve, "%s", v);
        else if (strcmp(k, "url") == 0) snprintf(p->url, sizeof p->url, "%s", v);
        else if (strcmp(k, "timezone") == 0) snprintf(p->timezone, sizeof p->timezone, "%s", v);
        else if (strcmp(k, "username") == 0) snprintf(p->username, sizeof p->username, "%s", v);
        else if (strcmp(k, "receiver_aet") == 0) snprintf(p->receiver_aet, sizeof p->receiver_aet, "%s", v);
        else if (strcmp(k, "tls") == 0) p->tls = c[i].i != 0;
        else if (strcmp(k, "retry_attempts") == 0) p->retry_attempts = (int)c[i].i;
        else if (strcmp(k, "retry_backoff_seconds") == 0) p->retry_backoff_seconds = (int)c[i].i;
        else if (strcmp(k, "session_attempts") == 0) p->session_attempts = c[i].type == STORE_NULL ? 0 : (int)c[i].i;
        else if (strcmp(k, "session_retry_seconds") == 0)
            p->session_retry_seconds = c[i].type == STORE_NULL ? 0 : (int)c[i].i;
        else if (strcmp(k, "tls_cert") == 0) snprintf(p->tls_cert, sizeof p->tls_cert, "%s", v);
        else if (strcmp(k, "tls_key") == 0) snprintf(p->tls_key, sizeof p->tls_key, "%s", v);
        else if (strcmp(k, "tls_ca") == 0) snprintf(p->tls_ca, sizeof p->tls_ca, "%s", v);
    }
    return 1;
}

dqr_status gw_pacs_load(gw *g, int64_t id, gw_pacs *p, dqr_error *err)
{
    memset(p, 0, sizeof *p);
    dqr_status st = store_exec(g->db,
                               "SELECT id, label, aet, host, port, calling_aet, queryable, storable, protocol, "
                               "retrieve, url, timezone, username, receiver_aet, tls, tls_cert, tls_key, tls_ca, "
                               "retry_attempts, retry_backoff_seconds, session_attempts, session_retry_seconds FROM pacs "
                               "WHERE id = ?",
                               (store_val[]){STORE_I(id)}, 1, take_pacs, p, NULL, err);
    if (st == DQR_OK && !p->id)
        st = dqr_error_set(err, DQR_E_NOTFOUND, "no PACS %lld", (long long)id);
    return st;
}

char *gw_pacs_password(gw *g, int64_t id)
{
    json_t *row = gw_row(g, "SELECT password_enc FROM pacs WHERE id = ?", (store_val[]){STORE_I(id)}, 1, NULL);
    const char *sealed = json_string_value(json_object_get(row, "password_enc"));
    char *plain = NULL;
    if (sealed && store_vault_unseal(g->vault, sealed, &plain, NULL, NULL) != DQR_OK)
        plain = NULL;
    json_decref(row);
    return plain;
}

const char *gw_pacs_calling(const gw *g, const gw_pacs *p)
{
    return *p->calling_aet ? p->calling_aet : g->cfg.aet;
}

net_assoc *gw_pacs_connect(gw *g, const gw_pacs *p, const char *abstract, bool storage, dqr_error *err)
{
    net_params np;
    memset(&np, 0, sizeof np);
    snprintf(np.calling_aet, sizeof np.calling_aet, "%s", gw_pacs_calling(g, p));
    snprintf(np.called_aet, sizeof np.called_aet, "%s", p->aet);
    np.timeout_s = g->cfg.query_timeout;
    np.max_instance_bytes = (uint64_t)g->cfg.max_instance_bytes; /* C-GET: held in memory like a receiver's */
    static const char *const ts[] = {DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, NULL};
    net_params_add(&np, abstract, ts);
    if (storage)
        net_params_add_storage(&np);
    np.tls = (net_tls){.enabled = p->tls,
                       .cert = *p->tls_cert ? p->tls_cert : NULL,
                       .key = *p->tls_key ? p->tls_key : NULL,
                       .ca = *p->tls_ca ? p->tls_ca : NULL};
    net_assoc *a = net_connect(p->host, p->port, &np, err);
    if (!a)
        dqr_error_prefix(err, "PACS %s (%s@%s:%d): ", p->label, p->aet, p->host, p->port);
    return a;
}

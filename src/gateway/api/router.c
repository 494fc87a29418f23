/* router.c — from an HTTP request to a handler: route match, JSON body,
 * authentication and role, then one log line and the counters. */
#include "gateway/api/pixels.h"
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <string.h>

static const gw_route *const tables[] = {gw_routes_auth,  gw_routes_users,   gw_routes_pacs,
                                         gw_routes_projects, gw_routes_query, gw_routes_ops,
                                         gw_routes_imports, gw_routes_archive, gw_routes_send,
                                         gw_routes_dryrun, gw_routes_ui,      gw_routes_audit,
                                         gw_routes_dicom_clients, gw_routes_quarantine, gw_routes_pixels,
                                         gw_routes_quarantine_review, gw_routes_registry, gw_routes_dicomweb};

/* Match path against pattern, keeping the {} segments in r->arg. */
static bool match(const char *pattern, const char *path, gw_req *r)
{
    int n = 0;
    memset(r->arg, 0, sizeof r->arg); /* no argument of an earlier, failed match */
    r->rest = NULL;
    while (*pattern && *path) {
        if (strcmp(pattern, "{*}") == 0) { /* the rest of the path: the handler reads it */
            r->rest = path;
            return true;
        }
        if (strncmp(pattern, "{}", 2) == 0) {
            size_t len = strcspn(path, "/");
            if (len == 0 || len >= sizeof r->argbuf[0] || n == 4)
                return false;
            memcpy(r->argbuf[n], path, len);
            r->argbuf[n][len] = '\0';
            r->arg[n] = r->argbuf[n];
            n++;
            pattern += 2, path += len;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return !*pattern && !*path;
}

static const gw_route *find_route(gw_req *r, const char *method, const char *path, bool *path_known)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const gw_route *rt = tables[t]; rt->method; rt++) {
            if (!match(rt->pattern, path, r))
                continue;
            *path_known = true;
            if (strcmp(rt->method, method) == 0)
                return rt;
        }
    return NULL;
}

static bool parse_body(gw_req *r)
{
    size_t len;
    const char *body = http_body(r->http, &len);
    if (len == 0)
        return true;
    json_error_t je;
    r->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!r->body)
        return gw_fail(r, 400, "request body is not valid JSON: line %d, column %d: %s", je.line, je.column, je.text);
    if (!json_is_object(r->body))
        return gw_fail(r, 400, "request body must be a JSON object");
    return true;
}

static void route(gw_req *r)
{
    const char *method = http_method(r->http), *path = http_path(r->http);
    bool known = false;
    const gw_route *rt = find_route(r, method, path, &known);
    if (!rt) {
        gw_fail(r, known ? 405 : 404, known ? "method %s not allowed on %s" : "no such endpoint: %s%s",
                known ? method : "", path);
        return;
    }
    if (rt->access != GW_PUBLIC && !gw_authenticate(r)) {
        http_add_header(r->http, "WWW-Authenticate", "Bearer realm=\"dqr\"");
        if (r->rest) /* DICOMweb clients may know only basic authentication (an API token as password) */
            http_add_header(r->http, "WWW-Authenticate", "Basic realm=\"dqr DICOMweb\"");
        gw_fail(r, 401, "log in first: send Authorization: Bearer TOKEN (POST /api/v1/login gives one)");
        return;
    }
    if (rt->access == GW_ADMIN && !r->user.admin) {
        gw_audit_req(r, "access_denied", rt->pattern); /* the pattern: a path may hold PHI */
        gw_fail(r, 403, "only an administrator may do this");
        return;
    }
    r->route = rt->pattern;
    if (r->rest || parse_body(r))
        rt->fn(r);
}

void gw_dispatch(void *ctx, http_request *http)
{
    gw *g = ctx;
    gw_req r = {.g = g, .http = http};
    double t0 = gw_clock_ms();
    http_add_header(http, "X-Content-Type-Options", "nosniff");
    http_add_header(http, "Cache-Control", "no-store");
    http_add_header(http, "Content-Security-Policy",
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    http_add_header(http, "Referrer-Policy", "no-referrer");
    route(&r);
    json_decref(r.body);
    long ms = (long)(gw_clock_ms() - t0);
    int status = http_status(http);
    GW_COUNT(g, http_requests);
    if (status >= 500)
        GW_COUNT(g, http_5xx);
    else if (status >= 400)
        GW_COUNT(g, http_4xx);
    /* The route pattern, not the path: a mistyped path, the query string and
     * the body may hold PHI (search keys) and are never logged. */
    gw_log(g, status >= 500 ? "error" : "info", "http", "method=%s route=%s status=%d ms=%ld user=%s client=%s",
           http_method(http), r.route ? r.route : "(none)", status, ms, r.user.id ? r.user.name : "-",
           http_client(http));
}

/* api_query.c — POST /api/v1/query, paging and sorting of its results, and
 * the query history. The search keys are PHI: they travel in the body,
 * never in a URL or the log, and reach the catalog only sealed. */
#include "gateway/pacs/query.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"
#include "gateway/pacs/qcache.h"
#include "gateway/import/registry.h"

#include <stdlib.h>
#include <string.h>

typedef struct page_req {
    size_t offset, limit;
    const char *sort;
    bool desc;
} page_req;

static int cmp_values(const char *a, const char *b)
{
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    if (*a && *b && !*ea && !*eb)
        return (x > y) - (x < y);
    return strcmp(a, b);
}

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
    const page_req *p = ctx;
    const char *a = json_string_value(json_object_get(*(json_t *const *)pa, p->sort));
    const char *b = json_string_value(json_object_get(*(json_t *const *)pb, p->sort));
    int c = cmp_values(a ? a : "", b ? b : "");
    return p->desc ? -c : c;
}

/* Results are PHI: every page is audited before it is shown, and withheld
 * when the audit cannot be written. The audit names the query by its id,
 * never by its keys. */
static bool audit_page(gw_req *r, const char *qid, json_t *meta, size_t n)
{
    char pacs[24], count[24];
    snprintf(pacs, sizeof pacs, "%lld", (long long)json_integer_value(json_object_get(meta, "pacs")));
    snprintf(count, sizeof count, "%zu", n);
    gw_audit_ev e = gw_audit_of(r, "query_results", qid);
    e.detail[0][0] = "pacs", e.detail[0][1] = pacs;
    e.detail[1][0] = "level", e.detail[1][1] = json_string_value(json_object_get(meta, "level"));
    e.detail[2][0] = "results", e.detail[2][1] = count;
    if (gw_audit_event(r->g, &e) == DQR_OK)
        return true;
    return gw_fail(r, 500, "the audit log cannot be written, so the results are not shown (see the server log)");
}

/* Answer one page of results (sorted on a copy: the cached array is shared). */
static void reply_page(gw_req *r, const char *qid, json_t *results, json_t *meta, const page_req *p)
{
    size_t n = json_array_size(results);
    if (!audit_page(r, qid, meta, n))
        return;
    json_t **rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) {
        gw_fail(r, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        rows[i] = json_array_get(results, i);
    if (p->sort)
        qsort_r(rows, n, sizeof *rows, cmp_rows, (void *)p);
    json_t *page = json_array();
    for (size_t i = p->offset; i < n && i < p->offset + p->limit; i++)
        json_array_append(page, rows[i]);
    free(rows);
    json_t *o = json_deep_copy(meta);
    json_object_set_new(o, "query_id", json_string(qid));
    json_object_set_new(o, "total", json_integer((json_int_t)n));
    json_object_set_new(o, "offset", json_integer((json_int_t)p->offset));
    json_object_set_new(o, "limit", json_integer((json_int_t)p->limit));
    json_object_set_new(o, "results", page);
    if (p->offset + p->limit < n) {
        char next[256];
        snprintf(next, sizeof next, "/api/v1/query/%s?offset=%zu&limit=%zu%s%s%s", qid, p->offset + p->limit,
                 p->limit, p->sort ? "&sort=" : "", p->sort ? p->sort : "", p->desc ? "&order=desc" : "");
        json_object_set_new(o, "next", json_string(next));
    }
    gw_reply(r, 200, o);
}

static bool keyword_ok(const char *s)
{
    return s && *s && strlen(s) < 64 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
                                           strlen(s);
}

/* Paging from the body (POST) or the query string (GET). */
static bool read_page(gw_req *r, page_req *p)
{
    const char *off = http_query(r->http, "offset"), *lim = http_query(r->http, "limit");
    const char *sort = http_query(r->http, "sort"), *order = http_query(r->http, "order");
    json_t *b = r->body;
    long long o = off ? atoll(off) : b && json_is_integer(json_object_get(b, "offset")) ? json_integer_value(json_object_get(b, "offset")) : 0;
    long long l = lim ? atoll(lim) : b && json_is_integer(json_object_get(b, "limit")) ? json_integer_value(json_object_get(b, "limit")) : 100;
    if (!sort && b)
        sort = json_string_value(json_object_get(b, "sort"));
    if (!order && b)
        order = json_string_value(json_object_get(b, "order"));
    if (o < 0 || l < 1 || l > 10000)
        return gw_fail(r, 400, "'offset' must be 0 or more and 'limit' 1 to 10000");
    if (sort && !keyword_ok(sort))
        return gw_fail(r, 400, "'sort' is the keyword of a returned attribute, e.g. StudyDate");
    if (order && strcmp(order, "asc") && strcmp(order, "desc"))
        return gw_fail(r, 400, "'order' is asc or desc");
    *p = (page_req){(size_t)o, (size_t)l, sort, order && strcmp(order, "desc") == 0};
    return true;
}

/* The PACS the body names (or the default query/retrieve PACS). */
static bool pick_pacs(gw_req *r, gw_pacs *p)
{
    json_t *v = json_object_get(r->body, "pacs");
    int64_t id = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!v)
        store_int(r->g->db, "SELECT id FROM pacs WHERE default_qr = 1", NULL, 0, &id, NULL);
    dqr_error err;
    if (v && !json_is_integer(v))
        return gw_fail(r, 400, "'pacs' is the id of a PACS (GET /api/v1/pacs lists them)");
    if (!id)
        return gw_fail(r, 400, "name the PACS to search: 'pacs' (no default query/retrieve PACS is set)");
    if (!gw_may_use_pacs(r, id))
        return gw_fail(r, 403, "you may not use PACS %lld (ask an administrator for a grant)", (long long)id);
    if (gw_pacs_load(r->g, id, p, &err) != DQR_OK)
        return gw_fail(r, 404, "no PACS %lld", (long long)id);
    if (!p->queryable)
        return gw_fail(r, 409, "PACS %s is not marked queryable", p->label);
    return true;
}

static void query(gw_req *r)
{
    gw_pacs p;
    page_req pg;
    const char *level = r->body ? json_string_value(json_object_get(r->body, "level")) : NULL;
    if (!r->body) {
        gw_fail(r, 400, "send {\"pacs\": ID, \"level\": \"STUDY\", \"keys\": {\"PatientName\": \"DOE*\"}}");
        return;
    }
    if (!level)
        level = "STUDY";
    dqr_error err = {0};
    dcm_dataset *check = gw_query_identifier(level, json_object_get(r->body, "keys"), &err);
    if (!check) {
        gw_fail_err(r, &err);
        return;
    }
    dcm_dataset_free(check);
    if (!pick_pacs(r, &p) || !read_page(r, &pg))
        return;
    GW_COUNT(r->g, queries);
    gw_query_result qr;
    long ms;
    dqr_status st = gw_query_recorded(r->g, r->user.id, &p, level, json_object_get(r->body, "keys"),
                                      (size_t)r->g->cfg.query_max_results, &qr, &ms, &err);
    gw_log(r->g, st == DQR_OK ? "info" : "warn", "query", "pacs=%lld level=%s results=%zu truncated=%d ms=%ld status=%s",
           (long long)p.id, level, qr.results ? json_array_size(qr.results) : 0, qr.truncated, ms,
           st == DQR_OK ? "ok" : "error");
    if (st != DQR_OK) {
        GW_COUNT(r->g, query_errors);
        gw_fail(r, 502, "%s", err.message);
        return;
    }
    atomic_fetch_add(&r->g->m.query_results, (long long)json_array_size(qr.results));
    json_t *meta = json_pack("{s:I,s:s,s:s,s:b}", "pacs", (json_int_t)p.id, "pacs_label", p.label, "level", level,
                             "truncated", qr.truncated);
    if (qr.truncated)
        json_object_set_new(meta, "message", json_string(qr.message));
    const char *project = json_string_value(json_object_get(r->body, "project")); /* "known_subject" per answer */
    if (project && gw_may_use(r, "project", project) && gw_registry_annotate_all(r->g, project, qr.results))
        json_object_set_new(meta, "project", json_string(project));
    char qid[33];
    json_incref(qr.results), json_incref(meta);
    gw_qcache_put(r->g->qc, r->user.id, qr.results, meta, qid);
    reply_page(r, qid, qr.results, meta, &pg);
    json_decref(qr.results), json_decref(meta);
}

static void query_page(gw_req *r)
{
    json_t *results, *meta;
    page_req pg;
    if (!read_page(r, &pg))
        return;
    if (!gw_qcache_get(r->g->qc, r->arg[0], r->user.id, &results, &meta)) {
        gw_fail(r, 404, "query %s is gone (results are kept 30 minutes): run it again", r->arg[0]);
        return;
    }
    reply_page(r, r->arg[0], results, meta, &pg);
    json_decref(results), json_decref(meta);
}

void gw_history_purge(gw *g)
{
    store_val old[] = {STORE_I(time(NULL) - (int64_t)g->cfg.history_retention_days * 86400)};
    int64_t q = 0, s = 0;
    store_exec(g->db, "DELETE FROM query_history WHERE at < ?", old, 1, NULL, NULL, &q, NULL);
    store_exec(g->db, "DELETE FROM import_sessions WHERE finished IS NOT NULL AND finished < ?", old, 1, NULL, NULL,
               &s, NULL);
    store_exec(g->db,
               "DELETE FROM import_requests WHERE id NOT IN (SELECT request_id FROM import_sessions) AND created < ?",
               old, 1, NULL, NULL, NULL, NULL);
    if (q || s)
        gw_log(g, "info", "purge", "queries=%lld import_sessions=%lld older_than_days=%d", (long long)q, (long long)s,
               g->cfg.history_retention_days);
}

static void history(gw_req *r)
{
    page_req pg;
    if (!read_page(r, &pg))
        return;
    gw_history_purge(r->g); /* the timer runs it too; here no page shows an entry past its retention */
    const char *mine = http_query(r->http, "mine");
    int64_t only = r->user.admin && !(mine && strcmp(mine, "0")) ? 0 : r->user.id;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT h.id, h.at, u.username AS user, h.pacs_id AS pacs, p.label AS pacs_label, h.level, "
                        "h.status, h.results, h.truncated, h.ms, h.error FROM query_history h "
                        "LEFT JOIN users u ON u.id = h.user_id LEFT JOIN pacs p ON p.id = h.pacs_id "
                        "WHERE (? = 0 OR h.user_id = ?) ORDER BY h.id DESC LIMIT ? OFFSET ?",
                        (store_val[]){STORE_I(only), STORE_I(only), STORE_I(pg.limit), STORE_I(pg.offset)}, 4, &err);
    a ? gw_reply(r, 200, json_pack("{s:o}", "queries", a)) : gw_fail_err(r, &err);
}

/* The original search keys of one history entry. */
static void history_keys(gw_req *r)
{
    static const gw_sealed_view keys = {
        "original search keys", "SELECT user_id, keys_enc AS sealed FROM query_history WHERE id = ?",
        "phi_view_query_keys",  "keys", "no query %s in your history", 500,
        "the keys of query %s cannot be opened (%s)"};
    gw_reveal(r, &keys);
}

const gw_route gw_routes_query[] = {
    {"POST", "/api/v1/query", GW_USER, query},
    {"GET", "/api/v1/query/{}", GW_USER, query_page},
    {"GET", "/api/v1/history/queries", GW_USER, history},
    {"GET", "/api/v1/history/queries/{}/keys", GW_USER, history_keys},
    {NULL, NULL, GW_PUBLIC, NULL},
};

/* dicomweb_items.c — what a DICOMweb path names, for every DICOMweb
 * service: the catalog scope of a target (project, study, series,
 * instance, and the asker's grants), the archived instances in it, and the
 * Accept header's media type and transfer syntax. */
#include "gateway/archive/dicomweb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

gw_cq gw_dw_scope(const gw_req *r, const gw_dw_target *t, gw_cq_level level)
{
    return (gw_cq){.level = level, .project = t->project, .user = r->user.id, .admin = r->user.admin,
                   .study = t->study, .series = t->series, .instance = t->instance};
}

/* ---- the instances of a scope ---- */

typedef struct collect {
    gw *g;
    gw_dw_item *items;
    size_t n, cap;
    bool nomem;
} collect;

static int add_item(void *ctx, const gw_cq_row *row)
{
    collect *c = ctx;
    size_t na;
    const gw_cq_attr *attrs = gw_cq_attrs(&na);
    if (!row->path)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        gw_dw_item *more = realloc(c->items, cap * sizeof *more);
        if (!more)
            return c->nomem = true;
        c->items = more, c->cap = cap;
    }
    gw_dw_item *it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    it->bytes = row->bytes;
    for (size_t i = 0; i < na; i++) {
        const char *v = row->value[i] ? row->value[i] : "";
        char *dst = attrs[i].tag == DCM_TAG(0x0020, 0x000D)   ? it->study
                    : attrs[i].tag == DCM_TAG(0x0020, 0x000E) ? it->series
                    : attrs[i].tag == DCM_TAG(0x0008, 0x0018) ? it->sop
                    : attrs[i].tag == DCM_TAG(0x0008, 0x3002) ? it->ts
                                                              : NULL;
        if (dst)
            snprintf(dst, 65, "%s", v);
    }
    if (asprintf(&it->path, "%s/%s", c->g->cfg.data_dir, row->path) < 0)
        return c->nomem = true;
    c->n++;
    return 0;
}

void gw_dw_items_free(gw_dw_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i].path);
    free(items);
}

dqr_status gw_dw_items(gw_req *r, const gw_dw_target *t, gw_dw_item **out, size_t *n, dqr_error *err)
{
    gw_cq q = gw_dw_scope(r, t, GW_CQ_INSTANCE);
    /* what retrieving needs, not the ~30 attributes of a search (1,000 instances: ~7 -> ~1 ms) */
    static const uint32_t need[] = {DCM_TAG(0x0020, 0x000D), DCM_TAG(0x0020, 0x000E), DCM_TAG(0x0008, 0x0018),
                                    DCM_TAG(0x0008, 0x3002)};
    q.want = need, q.nwant = sizeof need / sizeof need[0];
    collect c = {.g = r->g};
    dqr_status st = gw_cq_run(r->g, &q, add_item, &c, err);
    if (st == DQR_OK && c.nomem)
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (st == DQR_OK && c.n == 0)
        st = dqr_error_set(err, DQR_E_NOTFOUND, "no %s %s that you may read",
                           t->instance ? "instance" : t->series ? "series" : "study",
                           t->instance ? t->instance : t->series ? t->series : t->study);
    if (st != DQR_OK) {
        gw_dw_items_free(c.items, c.n);
        return st;
    }
    *out = c.items, *n = c.n;
    return DQR_OK;
}

/* ---- content negotiation ---- */

/* The value of parameter name in one media range ("" when absent), unquoted. */
static void param(const char *range, size_t len, const char *name, char *out, size_t cap)
{
    *out = '\0';
    size_t nl = strlen(name);
    for (const char *p = range; p < range + len; p++) {
        if ((p == range || p[-1] == ';' || p[-1] == ' ') && strncasecmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            bool quoted = *v == '"';
            v += quoted;
            size_t k = 0;
            while (v + k < range + len && v[k] != (quoted ? '"' : ';') && !(!quoted && isspace((unsigned char)v[k])))
                k++;
            snprintf(out, cap, "%.*s", (int)k, v);
            return;
        }
    }
}

bool gw_dw_accepts(const gw_req *r, const char *type, char ts[65])
{
    const char *h = http_header(r->http, "Accept");
    *ts = '\0';
    if (!h || !*h)
        return true;
    for (const char *range = h; *range;) {
        range += strspn(range, " ,");
        size_t len = strcspn(range, ",");
        char media[128], inner[128];
        snprintf(media, sizeof media, "%.*s", (int)strcspn(range, ";, "), range);
        param(range, len, "type", inner, sizeof inner);
        bool ok = strcmp(media, "*/*") == 0 || strcasecmp(media, type) == 0 ||
                  (strcasecmp(media, "multipart/related") == 0 && (!*inner || strcasecmp(inner, type) == 0));
        if (ok) {
            param(range, len, "transfer-syntax", ts, 65);
            return true;
        }
        range += len;
    }
    return false;
}

/* dicomweb.c — the /dicom-web routes: the path cut into its resource
 * (PS3.18 10.4 to 10.6 resource paths), the project checked against the
 * caller's grants, and the request handed to QIDO, WADO or STOW. */
#include "gateway/archive/dicomweb.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"

#include <stdio.h>
#include <string.h>

typedef struct segs {
    char buf[2048];
    const char *s[GW_DW_MAX_SEGS];
    size_t n;
} segs;

/* Split rest on '/' into sg; false when too long or too deep. */
static bool split(const char *rest, segs *sg)
{
    if (strlen(rest) >= sizeof sg->buf)
        return false;
    snprintf(sg->buf, sizeof sg->buf, "%s", rest);
    sg->n = 0;
    for (char *save = NULL, *t = strtok_r(sg->buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (sg->n == GW_DW_MAX_SEGS)
            return false;
        sg->s[sg->n++] = t;
    }
    return true;
}

static bool word(const segs *sg, size_t i, const char *w)
{
    return i < sg->n && strcmp(sg->s[i], w) == 0;
}

static bool is_view(const char *s)
{
    return strcmp(s, "metadata") == 0 || strcmp(s, "rendered") == 0 || strcmp(s, "thumbnail") == 0;
}

/* studies[/S[/series[/SE[/instances[/I[/frames/F|/bulkdata/...]]]]]]
 * with a view (metadata, rendered, thumbnail) after any object, or the
 * top-level searches series and instances. */
static bool parse(const segs *sg, size_t i, gw_dw_target *t)
{
    if (i + 1 == sg->n && (word(sg, i, "series") || word(sg, i, "instances") || word(sg, i, "studies"))) {
        t->resource = sg->s[i];
        return true;
    }
    const char **uid[] = {&t->study, &t->series, &t->instance};
    static const char *const level[] = {"studies", "series", "instances"};
    for (size_t l = 0; l < 3; l++) {
        if (!word(sg, i, level[l]))
            return false;
        if (i + 1 == sg->n) { /* a search below the objects named so far */
            t->resource = level[l];
            return l > 0;
        }
        *uid[l] = sg->s[i + 1];
        i += 2;
        if (i == sg->n)
            return true;
        if (i + 1 == sg->n && is_view(sg->s[i])) {
            t->resource = sg->s[i];
            return true;
        }
        if (l == 0 && word(sg, i, "instances") && i + 1 == sg->n) {
            t->resource = "instances"; /* studies/S/instances */
            return true;
        }
    }
    if ((word(sg, i, "frames") || word(sg, i, "bulkdata")) && i + 1 < sg->n) {
        t->resource = sg->s[i];
        t->tail = &sg->s[i + 1];
        t->ntail = sg->n - i - 1;
        if (strcmp(t->resource, "frames") == 0 && i + 3 == sg->n && is_view(sg->s[i + 2]))
            t->ntail = 1, t->resource = sg->s[i + 2]; /* frames/F/rendered */
        return true;
    }
    return false;
}

static void base_url(const gw_req *r, gw_dw_target *t)
{
    const char *host = http_header(r->http, "Host");
    snprintf(t->base, sizeof t->base, "%s://%s/dicom-web%s%s", http_server_tls(r->g->http) ? "https" : "http",
             host && *host && !strpbrk(host, "\"\\ <>") ? host : "127.0.0.1", t->project ? "/projects/" : "",
             t->project ? t->project : "");
}

static bool project_readable(gw_req *r, const char *project)
{
    int64_t one;
    return gw_may_use(r, "project", project) &&
           store_int(r->g->db, "SELECT 1 FROM projects WHERE id = ?", (store_val[]){STORE_S(project)}, 1, &one,
                     NULL) == DQR_OK;
}

/* WADO-RS: the resource a path names, to the service that answers it. */
static void wado(gw_req *r, const gw_dw_target *t)
{
    const char *res = t->resource;
    gw_dw_item *items = NULL;
    size_t n = 0;
    dqr_error err = {0};
    if (gw_dw_items(r, t, &items, &n, &err) != DQR_OK)
        return gw_fail_err(r, &err);
    if (res && (strcmp(res, "rendered") == 0 || strcmp(res, "thumbnail") == 0))
        return gw_wado_rendered(r, t, items, n);
    if (res && (strcmp(res, "frames") == 0 || strcmp(res, "bulkdata") == 0)) {
        strcmp(res, "frames") == 0 ? gw_wado_frames(r, t, &items[0]) : gw_wado_bulkdata(r, t, &items[0]);
        gw_dw_items_free(items, n);
        return;
    }
    gw_dw_retrieve(r, t, items, n, res && strcmp(res, "metadata") == 0);
}

static void dicomweb(gw_req *r)
{
    segs sg;
    gw_dw_target t = {0};
    size_t i = 0;
    if (!split(r->rest, &sg))
        return (void)gw_fail(r, 404, "no such DICOMweb resource");
    if (word(&sg, 0, "projects")) {
        if (sg.n < 2 || !project_readable(r, sg.s[1]))
            return (void)gw_fail(r, 404, "no project %s that you may read", sg.n < 2 ? "" : sg.s[1]);
        t.project = sg.s[1];
        i = 2;
    }
    if (!parse(&sg, i, &t))
        return (void)gw_fail(r, 404, "no such DICOMweb resource");
    base_url(r, &t);
    bool post = strcmp(http_method(r->http), "POST") == 0;
    bool search = t.resource && (strcmp(t.resource, "studies") == 0 || strcmp(t.resource, "series") == 0 ||
                                 strcmp(t.resource, "instances") == 0);
    if (post) {
        bool all = t.resource && strcmp(t.resource, "studies") == 0 && !t.study;
        if (!all && !(t.study && !t.series && !t.resource))
            return (void)gw_fail(r, 405, "STOW-RS takes POST on .../studies or .../studies/{study} only");
        gw_stow(r, &t);
    } else if (search) {
        gw_qido(r, &t);
    } else {
        wado(r, &t);
    }
}

const gw_route gw_routes_dicomweb[] = {
    {"GET", "/dicom-web/{*}", GW_USER, dicomweb},
    {"POST", "/dicom-web/{*}", GW_USER, dicomweb},
    {NULL, NULL, GW_PUBLIC, NULL},
};

/* api_pixels.c — looking at the archive's images: a thumbnail per series,
 * one frame of an instance as PNG with a window/level, and the instances of
 * a series with their frame counts (what the web UI's viewer scrolls).
 *
 * Every image here is rendered from the ARCHIVED file, which the pipeline
 * de-identified and pixel-cleaned: a thumbnail shows no pixel the archive
 * does not hold. Images are rendered in memory for each request and never
 * written to disk. Thumbnails are not cached: a 128-pixel thumbnail of a
 * 512 x 512 CT renders in a few milliseconds (docs/benchmarks.md), less than
 * a cache's bookkeeping would be worth. Permissions are the archive's: the
 * project must be granted (gw_archive_project_visible). */
#include "gateway/api/pixels.h"
#include "gateway/api/render.h"
#include "gateway/api/routes.h"
#include "gateway/accounts/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THUMBNAIL_MAX = 128 };

/* The named windows the viewer offers (centre, width in rescaled units,
 * Hounsfield for CT); "default" is the dataset's own window. */
static const struct preset {
    const char *name, *label;
    double center, width;
} presets[] = {
    {"soft-tissue", "CT soft tissue", 40, 400},
    {"lung", "CT lung", -600, 1500},
    {"bone", "CT bone", 300, 1500},
    {"brain", "CT brain", 40, 80},
};

static int first_text(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].s)
        snprintf(ctx, 4096, "%s", c[0].s);
    return 1;
}

/* The archived file the query's first row names (its path column), opened;
 * NULL after answering 404 (what) or 500. */
static dcm_file *open_archived(gw_req *r, const char *sql, const store_val *args, int nargs, const char *what)
{
    char rel[4096] = "", full[4200];
    dqr_error err = {0};
    store_exec(r->g->db, sql, args, nargs, first_text, rel, NULL, NULL);
    if (!rel[0]) {
        gw_fail(r, 404, "no %s in session %s of project %s", what, r->arg[1], r->arg[0]);
        return NULL;
    }
    snprintf(full, sizeof full, "%s/%s", r->g->cfg.data_dir, rel);
    dcm_file *f = dcm_file_open(full, &err);
    if (!f)
        gw_fail(r, 500, "the archived file of this %s cannot be read: %s", what, err.message);
    return f;
}

/* Answer a rendered PNG (or the error that kept it from being made). */
static void reply_png(gw_req *r, dqr_status st, uint8_t *png, size_t len, const dqr_error *err)
{
    if (st != DQR_OK) {
        free(png);
        gw_fail(r, st == DQR_E_NOTFOUND ? 404 : st == DQR_E_UNSUPPORTED ? 415 : 500, "%s", err->message);
        return;
    }
    http_respond(r->http, 200, "image/png", (char *)png, len);
}

static void thumbnail(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    /* the middle instance of the series in catalog order */
    int64_t n = 0;
    store_val args[] = {STORE_S(r->arg[0]), STORE_S(r->arg[1]), STORE_S(r->arg[2]), STORE_I(0)};
    store_int(r->g->db, "SELECT COUNT(*) FROM archive_instances WHERE project = ? AND session = ? AND series_uid = ?", args,
              3, &n, NULL);
    args[3] = STORE_I(n / 2);
    dcm_file *f = open_archived(r,
                                "SELECT path FROM archive_instances WHERE project = ? AND session = ? AND series_uid = ? "
                                "ORDER BY path LIMIT 1 OFFSET ?",
                                args, 4, "series");
    if (!f)
        return;
    uint8_t *png = NULL;
    size_t len = 0;
    dqr_error err = {0};
    gw_render_opts o = {.frame = 0, .max_size = THUMBNAIL_MAX};
    dqr_status st = gw_render_png(f, &o, &png, &len, &err);
    dcm_file_close(f);
    reply_png(r, st, png, len, &err);
}

/* The window the request asks for: ?preset=NAME, or ?wc=&ww=, else the
 * dataset's (o untouched). False after answering 400. */
static bool requested_window(gw_req *r, gw_render_opts *o)
{
    const char *preset = http_query(r->http, "preset"), *wc = http_query(r->http, "wc"),
               *ww = http_query(r->http, "ww");
    if (preset && strcmp(preset, "default") != 0) {
        for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
            if (strcmp(preset, presets[i].name) == 0) {
                o->window = true, o->center = presets[i].center, o->width = presets[i].width;
                return true;
            }
        return gw_fail(r, 400, "no window preset named %s (soft-tissue, lung, bone, brain, default)", preset);
    }
    if (!wc && !ww)
        return true;
    char *e1 = NULL, *e2 = NULL;
    double c = wc ? strtod(wc, &e1) : 0, w = ww ? strtod(ww, &e2) : 0;
    if (!wc || !ww || *e1 || *e2 || !(w >= 1) || c != c)
        return gw_fail(r, 400, "give both wc (window centre) and ww (window width, at least 1) as numbers");
    o->window = true, o->center = c, o->width = w;
    return true;
}

/* The frame number of a "N.png" (or "N") segment: 1-based, as DICOMweb counts. */
static bool frame_number(gw_req *r, uint32_t *n)
{
    char *end = NULL;
    unsigned long v = strtoul(r->arg[3], &end, 10);
    if (end == r->arg[3] || (*end && strcmp(end, ".png") != 0) || v < 1 || v > UINT32_MAX)
        return gw_fail(r, 400, "frames are numbered from 1: ask for frames/1.png");
    *n = (uint32_t)v;
    return true;
}

static void frame(gw_req *r)
{
    uint32_t n = 0;
    gw_render_opts o = {0};
    if (!gw_archive_project_visible(r) || !frame_number(r, &n) || !requested_window(r, &o))
        return;
    dcm_file *f = open_archived(r, "SELECT path FROM archive_instances WHERE project = ? AND session = ? AND sop_uid = ?",
                                (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1]), STORE_S(r->arg[2])}, 3,
                                "instance");
    if (!f)
        return;
    long frames = 1;
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0008), &frames);
    if (n > (frames > 1 ? (uint32_t)frames : 1u)) {
        dcm_file_close(f);
        gw_fail(r, 404, "this instance has %ld frame%s, not %u", frames > 1 ? frames : 1, frames > 1 ? "s" : "", n);
        return;
    }
    uint8_t *png = NULL;
    size_t len = 0;
    dqr_error err = {0};
    o.frame = n - 1;
    dqr_status st = gw_render_png(f, &o, &png, &len, &err);
    dcm_file_close(f);
    reply_png(r, st, png, len, &err);
}

/* A decimal string attribute (first value) as a JSON number, or null. */
static json_t *ds_number(const dcm_dataset *ds, uint32_t tag)
{
    char buf[64], *end = NULL;
    if (!dcm_dataset_get_string(ds, tag, buf, sizeof buf))
        return json_null();
    double v = strtod(buf, &end);
    return end != buf ? json_real(v) : json_null();
}

/* What the viewer needs of one instance: size, frame count, the dataset's window. */
static json_t *instance_json(const char *sop, const dcm_dataset *ds)
{
    long rows = 0, cols = 0, frames = 1, number = 0;
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &rows);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0011), &cols);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0008), &frames);
    bool has_number = dcm_dataset_get_int(ds, DCM_TAG(0x0020, 0x0013), &number);
    return json_pack("{s:s,s:o,s:I,s:I,s:I,s:{s:o,s:o}}", "sop_uid", sop, "number",
                     has_number ? json_integer(number) : json_null(), "frames", (json_int_t)(frames > 1 ? frames : 1),
                     "rows", (json_int_t)rows, "columns", (json_int_t)cols, "window", "center",
                     ds_number(ds, DCM_TAG(0x0028, 0x1050)), "width", ds_number(ds, DCM_TAG(0x0028, 0x1051)));
}

static json_t *presets_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:f,s:f}", "name", presets[i].name, "label", presets[i].label,
                                           "center", presets[i].center, "width", presets[i].width));
    return a;
}

static void instance(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    dcm_file *f = open_archived(r, "SELECT path FROM archive_instances WHERE project = ? AND session = ? AND sop_uid = ?",
                                (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1]), STORE_S(r->arg[2])}, 3,
                                "instance");
    if (!f)
        return;
    json_t *o = instance_json(r->arg[2], dcm_file_dataset(f));
    dcm_file_close(f);
    json_object_set_new(o, "presets", presets_json());
    gw_reply(r, 200, o);
}

typedef struct listing {
    gw_req *r;
    json_t *a;
} listing;

static int list_one(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    listing *l = ctx;
    char full[4200];
    if (n < 2 || !c[0].s || !c[1].s)
        return 0;
    snprintf(full, sizeof full, "%s/%s", l->r->g->cfg.data_dir, c[0].s);
    dcm_file *f = dcm_file_open(full, NULL); /* pixel data stays on disk: a header read */
    if (f)
        json_array_append_new(l->a, instance_json(c[1].s, dcm_file_dataset(f)));
    dcm_file_close(f);
    return 0;
}

/* Instance Number order, the catalog's (SOP UID) where numbers tie or lack. */
static int by_number(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    json_t *na = json_object_get(a, "number"), *nb = json_object_get(b, "number");
    if (json_is_integer(na) && json_is_integer(nb) && json_integer_value(na) != json_integer_value(nb))
        return json_integer_value(na) < json_integer_value(nb) ? -1 : 1;
    if (json_is_integer(na) != json_is_integer(nb))
        return json_is_integer(na) ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a, "sop_uid")), json_string_value(json_object_get(b, "sop_uid")));
}

static json_t *sorted(json_t *a)
{
    size_t n = json_array_size(a);
    json_t **v = malloc((n ? n : 1) * sizeof *v), *out = json_array();
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_array_get(a, i);
    if (v)
        qsort(v, n, sizeof *v, by_number);
    for (size_t i = 0; v && i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(a);
    return out;
}

static void series_instances(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    listing l = {r, json_array()};
    store_exec(r->g->db,
               "SELECT path, sop_uid FROM archive_instances WHERE project = ? AND session = ? AND series_uid = ? "
               "ORDER BY sop_uid",
               (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1]), STORE_S(r->arg[2])}, 3, list_one, &l, NULL, NULL);
    if (json_array_size(l.a) == 0) {
        json_decref(l.a);
        gw_fail(r, 404, "no series %s in session %s of project %s", r->arg[2], r->arg[1], r->arg[0]);
        return;
    }
    gw_reply(r, 200, json_pack("{s:s,s:s,s:s,s:o,s:o}", "project", r->arg[0], "session", r->arg[1], "series_uid",
                               r->arg[2], "instances", sorted(l.a), "presets", presets_json()));
}

char *gw_thumbnail_url(const char *project, const char *session, const char *series_uid)
{
    char buf[600];
    int n = snprintf(buf, sizeof buf, "/api/v1/projects/%s/sessions/%s/series/%s/thumbnail.png", project, session,
                     series_uid);
    return n > 0 && (size_t)n < sizeof buf ? strdup(buf) : NULL;
}

const gw_route gw_routes_pixels[] = {
    {"GET", "/api/v1/projects/{}/sessions/{}/series/{}/thumbnail.png", GW_USER, thumbnail},
    {"GET", "/api/v1/projects/{}/sessions/{}/series/{}/instances", GW_USER, series_instances},
    {"GET", "/api/v1/projects/{}/sessions/{}/instances/{}", GW_USER, instance},
    {"GET", "/api/v1/projects/{}/sessions/{}/instances/{}/frames/{}", GW_USER, frame},
    {NULL, NULL, GW_PUBLIC, NULL},
};

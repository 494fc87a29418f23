/* api_pixels.c — what the web UI's viewer reads about the archive's images:
 * the instances of a series with their frame counts, size, window and the
 * study and series UIDs that name them under /dicom-web, and the named
 * window presets; and the thumbnail URL each series row of the archive
 * browser carries.
 *
 * The images themselves are WADO-RS's (archive/dicomweb_render.c): the
 * viewer asks .../frames/{n}/rendered?window=c,w and the series rows link
 * .../thumbnail, so there is one render path for the UI and for DICOMweb
 * clients. They are rendered from the ARCHIVED file, which the pipeline
 * de-identified and pixel-cleaned. Permissions are the archive's: the
 * project must be granted (gw_archive_project_visible here, the same
 * grant on /dicom-web). */
#include "gateway/api/pixels.h"
#include "gateway/api/routes.h"
#include "gateway/accounts/accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An instance's catalog row: its archived file and study and series UIDs. */
typedef struct archived_row {
    char path[4096], study[65], series[65];
} archived_row;

static int first_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    archived_row *a = ctx;
    if (n >= 3 && c[0].s) {
        snprintf(a->path, sizeof a->path, "%s", c[0].s);
        snprintf(a->study, sizeof a->study, "%s", c[1].s ? c[1].s : "");
        snprintf(a->series, sizeof a->series, "%s", c[2].s ? c[2].s : "");
    }
    return 1;
}

/* The archived file of instance arg[2] of session arg[1] of project arg[0]
 * (its row into *a), opened; NULL after answering 404 or 500. */
static dcm_file *open_instance(gw_req *r, archived_row *a)
{
    char full[4200];
    dqr_error err = {0};
    store_exec(r->g->db,
               "SELECT path, study_uid, series_uid FROM archive_instances WHERE project = ? AND session = ? AND sop_uid = ?",
               (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1]), STORE_S(r->arg[2])}, 3, first_row, a, NULL, NULL);
    if (!a->path[0]) {
        gw_fail(r, 404, "no instance in session %s of project %s", r->arg[1], r->arg[0]);
        return NULL;
    }
    snprintf(full, sizeof full, "%s/%s", r->g->cfg.data_dir, a->path);
    dcm_file *f = dcm_file_open(full, &err);
    if (!f)
        gw_fail(r, 500, "the archived file of this instance cannot be read: %s", err.message);
    return f;
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

/* A catalog UID as JSON: null where the catalog lacks it (instances
 * archived before migration 13, which /dicom-web does not serve). */
static json_t *uid_json(const char *uid)
{
    return uid && *uid ? json_string(uid) : json_null();
}

/* What the viewer needs of one instance: its UIDs, size, frame count, the
 * dataset's window. */
static json_t *instance_json(const char *sop, const char *study, const char *series, const dcm_dataset *ds)
{
    long rows = 0, cols = 0, frames = 1, number = 0;
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &rows);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0011), &cols);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0008), &frames);
    bool has_number = dcm_dataset_get_int(ds, DCM_TAG(0x0020, 0x0013), &number);
    return json_pack("{s:s,s:o,s:o,s:o,s:I,s:I,s:I,s:{s:o,s:o}}", "sop_uid", sop, "study_uid", uid_json(study),
                     "series_uid", uid_json(series), "number",
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
    archived_row a = {0};
    dcm_file *f = open_instance(r, &a);
    if (!f)
        return;
    json_t *o = instance_json(r->arg[2], a.study, a.series, dcm_file_dataset(f));
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
    if (n < 4 || !c[0].s || !c[1].s)
        return 0;
    snprintf(full, sizeof full, "%s/%s", l->r->g->cfg.data_dir, c[0].s);
    dcm_file *f = dcm_file_open(full, NULL); /* pixel data stays on disk: a header read */
    if (f)
        json_array_append_new(l->a, instance_json(c[1].s, c[2].s, c[3].s, dcm_file_dataset(f)));
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
               "SELECT path, sop_uid, study_uid, series_uid FROM archive_instances WHERE project = ? AND session = ? AND series_uid = ? "
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

char *gw_thumbnail_url(const char *project, const char *study_uid, const char *series_uid)
{
    char buf[600];
    if (!study_uid || !*study_uid || !series_uid || !*series_uid)
        return NULL;
    int n = snprintf(buf, sizeof buf, "/dicom-web/projects/%s/studies/%s/series/%s/thumbnail", project, study_uid,
                     series_uid);
    return n > 0 && (size_t)n < sizeof buf ? strdup(buf) : NULL;
}

const gw_route gw_routes_pixels[] = {
    {"GET", "/api/v1/projects/{}/sessions/{}/series/{}/instances", GW_USER, series_instances},
    {"GET", "/api/v1/projects/{}/sessions/{}/instances/{}", GW_USER, instance},
    {NULL, NULL, GW_PUBLIC, NULL},
};

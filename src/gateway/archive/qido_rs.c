/* qido_rs.c — QIDO-RS searches of the archive (PS3.18 10.6): the query
 * parameters become a catalog query (catalog_query.c), each row a DICOM JSON
 * object written by the codec's JSON model (src/dicom/json.c) from a small
 * dataset of the row's values. */
#include "dicom/dict.h"
#include "dicom/vr.h"
#include "gateway/archive/dicomweb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct params {
    gw_cq q;
    bool include_all;
    uint32_t include[64];
    size_t ninclude;
    char bad[200]; /* why the request is refused; "" when it is fine */
} params;

static void refuse(params *p, const char *what, const char *name)
{
    if (!*p->bad)
        snprintf(p->bad, sizeof p->bad, what, name);
}

static void add_includes(params *p, const char *value)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", value);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint32_t tag;
        if (strcmp(t, "all") == 0)
            p->include_all = true;
        else if (dcm_tag_parse(t, &tag) != 0)
            refuse(p, "includefield: unknown attribute '%.60s'", t);
        else if (p->ninclude < sizeof p->include / sizeof p->include[0])
            p->include[p->ninclude++] = tag; /* an attribute the archive does not keep is left out */
    }
}

static bool number(const char *v, int64_t *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    *out = n;
    return *v && !*end && n >= 0;
}

static int on_arg(void *ctx, const char *name, const char *value)
{
    params *p = ctx;
    uint32_t tag;
    if (strcmp(name, "limit") == 0 || strcmp(name, "offset") == 0) {
        if (!number(value, name[0] == 'l' ? &p->q.limit : &p->q.offset))
            refuse(p, "%s must be a whole number of at least 0", name);
    } else if (strcmp(name, "fuzzymatching") == 0) {
        if (strcmp(value, "true") == 0)
            refuse(p, "fuzzymatching=true is not supported: this archive matches exactly (with * and ? wildcards)%s",
                   "");
    } else if (strcmp(name, "includefield") == 0) {
        add_includes(p, value);
    } else if (dcm_tag_parse(name, &tag) != 0) {
        refuse(p, "unknown query parameter or attribute '%.60s'", name);
    } else {
        const gw_cq_attr *a = gw_cq_attr_of(tag);
        if (!a)
            refuse(p, "the archive cannot match on %.60s", name);
        else if (a->level > p->q.level)
            refuse(p, "%.60s is an attribute of a lower level than this search", name);
        else if (p->q.nmatch == GW_CQ_MAX_MATCH)
            refuse(p, "too many matching keys%s", "");
        else
            p->q.match[p->q.nmatch++] = (gw_cq_match){a, value};
    }
    return 0;
}

static bool included(const params *p, const gw_cq_attr *a)
{
    if (a->level > p->q.level)
        return false;
    if (a->standard || p->include_all)
        return true;
    for (size_t i = 0; i < p->ninclude; i++)
        if (p->include[i] == a->tag)
            return true;
    return false;
}

typedef struct out {
    const params *p;
    const gw_dw_target *t;
    FILE *f;
    size_t n;
    dqr_status st;
    dqr_error err;
} out;

static void retrieve_url(const out *o, const gw_cq_row *row, const char *const *uid, dcm_dataset *ds)
{
    char url[1024];
    int n = snprintf(url, sizeof url, "%s/studies/%s", o->t->base, uid[0] ? uid[0] : "");
    if (o->p->q.level >= GW_CQ_SERIES && n > 0 && (size_t)n < sizeof url)
        n += snprintf(url + n, sizeof url - (size_t)n, "/series/%s", uid[1] ? uid[1] : "");
    if (o->p->q.level == GW_CQ_INSTANCE && n > 0 && (size_t)n < sizeof url)
        snprintf(url + n, sizeof url - (size_t)n, "/instances/%s", uid[2] ? uid[2] : "");
    (void)row;
    dcm_dataset_set_text(ds, DCM_TAG(0x0008, 0x1190), DCM_VR_UR, url, NULL, NULL);
}

static int on_row(void *ctx, const gw_cq_row *row)
{
    out *o = ctx;
    size_t n;
    const gw_cq_attr *attrs = gw_cq_attrs(&n);
    dcm_dataset *ds = dcm_dataset_new();
    if (!ds) {
        o->st = dqr_error_set(&o->err, DQR_E_NOMEM, "out of memory");
        return 1;
    }
    const char *uid[3] = {NULL, NULL, NULL};
    bool utf8 = false;
    for (size_t i = 0; i < n; i++) {
        const char *v = row->value[i];
        if (attrs[i].tag == DCM_TAG(0x0020, 0x000D))
            uid[0] = v;
        else if (attrs[i].tag == DCM_TAG(0x0020, 0x000E))
            uid[1] = v;
        else if (attrs[i].tag == DCM_TAG(0x0008, 0x0018))
            uid[2] = v;
        if (!included(o->p, &attrs[i]))
            continue;
        utf8 = utf8 || !gw_cq_ascii(v);
        dcm_vr vr = dcm_vr_from_chars(attrs[i].vr[0], attrs[i].vr[1]);
        if (!dcm_dataset_set_text(ds, attrs[i].tag, vr, v ? v : "", NULL, NULL))
            dcm_dataset_set_text(ds, attrs[i].tag, vr, "", NULL, NULL); /* a value not of its VR: left empty */
    }
    if (utf8) /* the catalog's text is UTF-8 (import/index.c) */
        dcm_dataset_set_text(ds, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192", NULL, NULL);
    dcm_dataset_set_text(ds, DCM_TAG(0x0008, 0x0056), DCM_VR_CS, "ONLINE", NULL, NULL);
    retrieve_url(o, row, uid, ds);
    fputs(o->n++ ? "," : "[", o->f);
    o->st = dcm_dump_json(ds, o->f, 0, &o->err);
    dcm_dataset_free(ds);
    return o->st != DQR_OK;
}

static gw_cq_level level_of(const char *resource)
{
    return strcmp(resource, "studies") == 0 ? GW_CQ_STUDY
           : strcmp(resource, "series") == 0 ? GW_CQ_SERIES
                                             : GW_CQ_INSTANCE;
}

/* A nested search under a study or series the caller cannot see is 404,
 * as its retrieval would be. */
static int any_row(void *ctx, const gw_cq_row *row)
{
    (void)row;
    *(bool *)ctx = true;
    return 1;
}

static bool scope_exists(gw_req *r, const gw_dw_target *t)
{
    if (!t->study)
        return true;
    gw_cq q = gw_dw_scope(r, t, t->series ? GW_CQ_SERIES : GW_CQ_STUDY);
    q.limit = 1;
    bool found = false;
    gw_cq_run(r->g, &q, any_row, &found, NULL);
    return found;
}

void gw_qido(gw_req *r, const gw_dw_target *t)
{
    params p = {.q = gw_dw_scope(r, t, level_of(t->resource))};
    http_query_each(r->http, on_arg, &p);
    if (*p.bad)
        return (void)gw_fail(r, 400, "%s", p.bad);
    if (!scope_exists(r, t))
        return (void)gw_fail(r, 404, "no %s %s that you may read", t->series ? "series" : "study",
                             t->series ? t->series : t->study);
    char *text = NULL;
    size_t len = 0;
    out o = {.p = &p, .t = t, .f = open_memstream(&text, &len)};
    if (!o.f)
        return (void)gw_fail(r, 500, "out of memory");
    dqr_status st = gw_cq_run(r->g, &p.q, on_row, &o, &o.err);
    fputs(o.n ? "]" : "[]", o.f);
    fclose(o.f);
    if (st == DQR_OK)
        st = o.st;
    if (st != DQR_OK) {
        free(text);
        return gw_fail_err(r, &o.err);
    }
    http_respond(r->http, 200, "application/dicom+json", text, len);
}

/* catalog_query.c — study / series / instance searches on the archive index
 * (catalog_query.h). One table says which catalog column holds which DICOM
 * attribute; the matching keys become a WHERE clause with ? parameters (no
 * value is ever spliced into SQL), the study and series levels are GROUP BYs
 * of the instance rows. A page of studies (a limit) is chosen first from
 * the keys alone, and only its studies are aggregated: the whole catalog's
 * rows are not grouped with every attribute to keep a hundred of them. */
#include "gateway/archive/catalog_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T(g, e) DCM_TAG(0x##g, 0x##e)

/* Computed attributes have no column: their SQL is in computed_sql. */
static const gw_cq_attr ATTRS[] = {
    {"PatientName", T(0010, 0010), "PN", GW_CQ_PATIENT, "patient_name", true},
    {"PatientID", T(0010, 0020), "LO", GW_CQ_PATIENT, "patient_id", true},
    {"PatientBirthDate", T(0010, 0030), "DA", GW_CQ_PATIENT, "patient_birth_date", true},
    {"PatientSex", T(0010, 0040), "CS", GW_CQ_PATIENT, "patient_sex", true},
    {"NumberOfPatientRelatedStudies", T(0020, 1200), "IS", GW_CQ_PATIENT, NULL, false},
    {"NumberOfPatientRelatedSeries", T(0020, 1202), "IS", GW_CQ_PATIENT, NULL, false},
    {"NumberOfPatientRelatedInstances", T(0020, 1204), "IS", GW_CQ_PATIENT, NULL, false},
    {"StudyInstanceUID", T(0020, 000D), "UI", GW_CQ_STUDY, "study_uid", true},
    {"StudyDate", T(0008, 0020), "DA", GW_CQ_STUDY, "study_date", true},
    {"StudyTime", T(0008, 0030), "TM", GW_CQ_STUDY, "study_time", true},
    {"AccessionNumber", T(0008, 0050), "SH", GW_CQ_STUDY, "accession", true},
    {"StudyID", T(0020, 0010), "SH", GW_CQ_STUDY, "study_id", true},
    {"StudyDescription", T(0008, 1030), "LO", GW_CQ_STUDY, "study_description", false},
    {"ReferringPhysicianName", T(0008, 0090), "PN", GW_CQ_STUDY, NULL, true},
    {"ModalitiesInStudy", T(0008, 0061), "CS", GW_CQ_STUDY, NULL, true},
    {"NumberOfStudyRelatedSeries", T(0020, 1206), "IS", GW_CQ_STUDY, NULL, true},
    {"NumberOfStudyRelatedInstances", T(0020, 1208), "IS", GW_CQ_STUDY, NULL, true},
    {"Modality", T(0008, 0060), "CS", GW_CQ_SERIES, "modality", true},
    {"SeriesInstanceUID", T(0020, 000E), "UI", GW_CQ_SERIES, "series_uid", true},
    {"SeriesNumber", T(0020, 0011), "IS", GW_CQ_SERIES, "series_number", true},
    {"SeriesDescription", T(0008, 103E), "LO", GW_CQ_SERIES, "series_description", true},
    {"NumberOfSeriesRelatedInstances", T(0020, 1209), "IS", GW_CQ_SERIES, NULL, true},
    {"SOPClassUID", T(0008, 0016), "UI", GW_CQ_INSTANCE, "sop_class_uid", true},
    {"SOPInstanceUID", T(0008, 0018), "UI", GW_CQ_INSTANCE, "sop_uid", true},
    {"InstanceNumber", T(0020, 0013), "IS", GW_CQ_INSTANCE, "instance_number", true},
    {"Rows", T(0028, 0010), "US", GW_CQ_INSTANCE, "rows_n", true},
    {"Columns", T(0028, 0011), "US", GW_CQ_INSTANCE, "columns_n", true},
    {"NumberOfFrames", T(0028, 0008), "IS", GW_CQ_INSTANCE, "frames_n", true},
    {"BitsAllocated", T(0028, 0100), "US", GW_CQ_INSTANCE, "bits_allocated", true},
    {"AvailableTransferSyntaxUID", T(0008, 3002), "UI", GW_CQ_INSTANCE, "transfer_syntax", false},
};
#define NATTRS (sizeof ATTRS / sizeof ATTRS[0])

const gw_cq_attr *gw_cq_attrs(size_t *n)
{
    *n = NATTRS;
    return ATTRS;
}

const gw_cq_attr *gw_cq_attr_of(uint32_t tag)
{
    for (size_t i = 0; i < NATTRS; i++)
        if (ATTRS[i].tag == tag)
            return &ATTRS[i];
    return NULL;
}

/* The SQL of a computed attribute at its own level; NULL at other levels. */
static const char *computed_sql(const gw_cq_attr *a, gw_cq_level level, bool postgres)
{
    if (a->level != level)
        return NULL;
    switch (a->tag) {
    case T(0008, 0061): /* a list: ',' becomes '\' when read */
        return postgres ? "string_agg(DISTINCT a.modality, ',')" : "group_concat(DISTINCT a.modality)";
    case T(0020, 1200): return "COUNT(DISTINCT a.study_uid)";
    case T(0020, 1202): /* series UIDs are unique across studies */
    case T(0020, 1206): return "COUNT(DISTINCT a.series_uid)";
    case T(0020, 1204):
    case T(0020, 1208):
    case T(0020, 1209): return "COUNT(*)";
    default: return "NULL"; /* not kept by the archive: returned empty */
    }
}

/* ---- the query text and its parameters ---- */

enum { MAX_ARGS = 512 }; /* a paged search uses its matching keys twice */

typedef struct sqlb {
    FILE *f;
    char *text;
    size_t len;
    char having[512]; /* study-level conditions on the group (ModalitiesInStudy) */
    store_val hargs[8];
    int nhargs;
    store_val args[MAX_ARGS];
    int nargs;
    char *owned[MAX_ARGS]; /* parameter strings made here (LIKE patterns, list items) */
    int nowned;
    bool overflow;
    gw_cq_level level;
} sqlb;

static void arg_s(sqlb *b, const char *s)
{
    if (b->nargs == MAX_ARGS) {
        b->overflow = true;
        return;
    }
    b->args[b->nargs++] = STORE_S(s);
}

static char *own(sqlb *b, char *s)
{
    if (!s || b->nowned == MAX_ARGS) {
        free(s);
        b->overflow = true;
        return NULL;
    }
    return b->owned[b->nowned++] = s;
}

/* DICOM wildcards to a LIKE pattern (escape \): * -> %, ? -> _. */
static char *like_pattern(const char *v)
{
    char *out = malloc(strlen(v) * 2 + 1), *o = out;
    if (!out)
        return NULL;
    for (; *v; v++) {
        if (*v == '%' || *v == '_' || *v == '\\')
            *o++ = '\\', *o++ = *v;
        else
            *o++ = *v == '*' ? '%' : *v == '?' ? '_' : *v;
    }
    *o = '\0';
    return out;
}

/* UID list: "a\b" or "a,b" -> col IN (?, ?). */
static dqr_status match_list(sqlb *b, const char *col, const char *v, dqr_error *err)
{
    char *copy = own(b, strdup(v));
    if (!copy)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    fprintf(b->f, " AND %s IN (", col);
    int n = 0;
    for (char *save = NULL, *t = strtok_r(copy, "\\,", &save); t; t = strtok_r(NULL, "\\,", &save)) {
        fprintf(b->f, "%s?", n++ ? ", " : "");
        arg_s(b, t);
    }
    if (!n)
        return dqr_error_set(err, DQR_E_USAGE, "an empty list of UIDs");
    fputc(')', b->f);
    return DQR_OK;
}

/* Date / time range "a-b", "a-", "-b", or one value. An upper time bound
 * takes in its whole last unit: "1030" ends at 103059.999999, as the text
 * of a later time compares greater. */
static void match_range(sqlb *b, const char *col, const char *v, bool time)
{
    const char *dash = strchr(v, '-');
    if (!dash) {
        char *pat = NULL; /* one time: any fraction of it */
        if (time && (asprintf(&pat, "%s%%", v) < 0 || !own(b, pat)))
            return;
        fprintf(b->f, time ? " AND %s LIKE ?" : " AND %s = ?", col);
        arg_s(b, time ? pat : v);
        return;
    }
    fprintf(b->f, " AND %s <> ''", col); /* an empty value is in no range */
    char *lo = own(b, strndup(v, (size_t)(dash - v)));
    if (lo && *lo) {
        fprintf(b->f, " AND %s >= ?", col);
        arg_s(b, lo);
    }
    if (dash[1]) {
        char *hi = NULL;
        size_t len = strlen(dash + 1);
        if (asprintf(&hi, "%s%.*s%s", dash + 1, time && len < 6 ? (int)(6 - len) : 0, "999999",
                     time && !strchr(dash + 1, '.') ? ".999999" : "") >= 0 && own(b, hi)) {
            fprintf(b->f, " AND %s <= ?", col);
            arg_s(b, hi);
        }
    }
}

/* HAVING SUM(CASE WHEN a.modality IN (?, ...) THEN 1 ELSE 0 END) > 0 */
static dqr_status having_modalities(sqlb *b, const char *v, dqr_error *err)
{
    char *copy = own(b, strdup(v));
    if (!copy)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    size_t len = strlen(b->having);
    len += (size_t)snprintf(b->having + len, sizeof b->having - len, "%sSUM(CASE WHEN a.modality IN (",
                            len ? " AND " : " HAVING ");
    int n = 0;
    for (char *save = NULL, *t = strtok_r(copy, "\\,", &save); t && len < sizeof b->having - 8;
         t = strtok_r(NULL, "\\,", &save)) {
        if (b->nhargs == (int)(sizeof b->hargs / sizeof b->hargs[0]))
            return dqr_error_set(err, DQR_E_USAGE, "ModalitiesInStudy: at most 8 modalities");
        len += (size_t)snprintf(b->having + len, sizeof b->having - len, "%s?", n++ ? ", " : "");
        b->hargs[b->nhargs++] = STORE_S(t);
    }
    if (!n)
        return dqr_error_set(err, DQR_E_USAGE, "ModalitiesInStudy: an empty list");
    snprintf(b->having + len, sizeof b->having - len, ") THEN 1 ELSE 0 END) > 0");
    return DQR_OK;
}

static dqr_status match_one(sqlb *b, const gw_cq_match *m, dqr_error *err)
{
    const gw_cq_attr *a = m->attr;
    const char *v = m->value;
    if (!v || !*v || strcmp(v, "*") == 0)
        return DQR_OK; /* universal matching */
    if (a->tag == T(0008, 0061) && b->level == GW_CQ_STUDY) /* on the study's group: no subquery per row */
        return having_modalities(b, v, err);
    if (a->tag == T(0008, 0061)) { /* ModalitiesInStudy: some series of one of these modalities */
        fputs(" AND EXISTS (SELECT 1 FROM archive_instances m WHERE m.project = a.project AND "
              "m.study_uid = a.study_uid",
              b->f);
        FILE *outer = b->f;
        dqr_status st = match_list(b, "m.modality", v, err);
        fputc(')', outer);
        return st;
    }
    if (!a->column)
        return dqr_error_set(err, DQR_E_USAGE, "%s cannot be matched (the archive computes it)", a->keyword);
    char col[64];
    snprintf(col, sizeof col, "a.%s", a->column);
    if (strcmp(a->vr, "UI") == 0)
        return match_list(b, col, v, err);
    if (strcmp(a->vr, "DA") == 0 || strcmp(a->vr, "TM") == 0) {
        match_range(b, col, v, a->vr[0] == 'T');
        return DQR_OK;
    }
    bool pn = strcmp(a->vr, "PN") == 0, wild = strpbrk(v, "*?") != NULL;
    if (wild || pn) { /* person names match without regard to case, as most archives do */
        char *pat = own(b, like_pattern(v));
        if (!pat)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        fprintf(b->f, pn ? " AND LOWER(%s) LIKE LOWER(?) ESCAPE '\\'" : " AND %s LIKE ? ESCAPE '\\'", col);
        arg_s(b, pat);
    } else {
        fprintf(b->f, " AND %s = ?", col);
        arg_s(b, v);
    }
    return DQR_OK;
}

static bool wanted(const gw_cq *q, uint32_t tag)
{
    for (size_t i = 0; q->want && i < q->nwant; i++)
        if (q->want[i] == tag)
            return true;
    return !q->want;
}

static void select_list(sqlb *b, const gw_cq *q, bool postgres)
{
    gw_cq_level level = q->level;
    bool grouped = level != GW_CQ_INSTANCE;
    fputs(grouped ? "SELECT a.project, NULL, NULL" : "SELECT a.project, a.path, a.bytes", b->f);
    for (size_t i = 0; i < NATTRS; i++) {
        const gw_cq_attr *a = &ATTRS[i];
        const char *sql = a->column ? NULL : computed_sql(a, level, postgres);
        if (a->level > level || (!a->column && !sql) || !wanted(q, a->tag))
            fputs(", NULL", b->f);
        else if (!a->column)
            fprintf(b->f, ", %s", sql);
        else
            fprintf(b->f, grouped ? ", MIN(a.%s)" : ", a.%s", a->column);
    }
}

/* The rows the search runs on: the matching instances (from: their FROM). */
static dqr_status where(sqlb *b, const gw_cq *q, const char *from, dqr_error *err)
{
    fprintf(b->f, " FROM %s WHERE a.study_uid IS NOT NULL", from);
    if (q->client) { /* a DICOM client: its projects, and those of a C-MOVE's destination */
        fputs(" AND a.project IN (SELECT project FROM dicom_client_projects WHERE client_id = ?)"
              " AND a.project IN (SELECT project FROM dicom_client_projects WHERE client_id = ?)",
              b->f);
        b->args[b->nargs++] = STORE_I(q->client);
        b->args[b->nargs++] = STORE_I(q->dest ? q->dest : q->client);
    } else if (!q->admin) { /* never another project, whatever the caller checked */
        fputs(" AND a.project IN (SELECT target FROM grants WHERE kind = 'project' AND user_id = ?)", b->f);
        b->args[b->nargs++] = STORE_I(q->user);
    }
    const char *scope[][2] = {{"a.project", q->project},
                              {"a.study_uid", q->study},
                              {"a.series_uid", q->series},
                              {"a.sop_uid", q->instance}};
    for (size_t i = 0; i < 4; i++)
        if (scope[i][1]) {
            fprintf(b->f, " AND %s = ?", scope[i][0]);
            arg_s(b, scope[i][1]);
        }
    for (size_t i = 0; i < q->nmatch; i++) {
        dqr_status st = match_one(b, &q->match[i], err);
        if (st != DQR_OK)
            return st;
    }
    return DQR_OK;
}

/* GROUP BY, then (for the page, or a search not paged) HAVING and LIMIT,
 * then ORDER BY: the same order for the page and its rows. */
static void group_order(sqlb *b, const gw_cq *q, bool page)
{
    static const char *const group[] = {" GROUP BY a.project, a.patient_id", " GROUP BY a.project, a.study_uid",
                                        " GROUP BY a.project, a.study_uid, a.series_uid", ""};
    static const char *const order[] = {
        " ORDER BY a.project, a.patient_id",
        " ORDER BY MIN(a.study_date), a.study_uid, a.project",
        " ORDER BY a.study_uid, a.series_uid, a.project",
        " ORDER BY a.study_uid, a.series_uid, a.sop_uid, a.project",
    };
    fputs(group[q->level], b->f);
    if (page) {
        fputs(b->having, b->f);
        for (int i = 0; i < b->nhargs && b->nargs < MAX_ARGS; i++)
            b->args[b->nargs++] = b->hargs[i];
    }
    fputs(order[q->level], b->f);
    if (page && (q->limit > 0 || q->offset > 0)) {
        fputs(" LIMIT ? OFFSET ?", b->f);
        b->args[b->nargs++] = STORE_I(q->limit > 0 ? q->limit : INT64_MAX);
        b->args[b->nargs++] = STORE_I(q->offset > 0 ? q->offset : 0);
    }
}

/* ---- rows ---- */

typedef struct runctx {
    gw_cq_level level;
    gw_cq_row_fn fn;
    void *ctx;
} runctx;

static int on_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    runctx *rc = ctx;
    if (n != (int)NATTRS + 3)
        return 1;
    char nums[NATTRS][24], lists[NATTRS][128];
    const char *value[NATTRS];
    for (size_t i = 0; i < NATTRS; i++) {
        const store_val *v = &c[i + 3];
        value[i] = NULL;
        if (v->type == STORE_INT) {
            snprintf(nums[i], sizeof nums[i], "%lld", (long long)v->i);
            value[i] = nums[i];
        } else if (v->type == STORE_TEXT && v->s && *v->s) {
            value[i] = v->s;
            if (ATTRS[i].tag == T(0008, 0061)) { /* the aggregate's ',' is DICOM's '\' */
                snprintf(lists[i], sizeof lists[i], "%s", v->s);
                for (char *p = lists[i]; *p; p++)
                    *p = *p == ',' ? '\\' : *p;
                value[i] = lists[i];
            }
        }
    }
    gw_cq_row row = {c[0].s, c[1].type == STORE_TEXT ? c[1].s : NULL, c[2].type == STORE_INT ? c[2].i : -1, value};
    return rc->fn(rc->ctx, &row);
}

dqr_status gw_cq_run(gw *g, const gw_cq *q, gw_cq_row_fn fn, void *ctx, dqr_error *err)
{
    sqlb b = {.level = q->level};
    if (!(b.f = open_memstream(&b.text, &b.len)))
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    bool postgres = strcmp(store_backend(g->db), "postgresql") == 0;
    dqr_status st = DQR_OK;
    bool paged = q->level == GW_CQ_STUDY && q->limit > 0;
    if (paged) { /* the page's studies, in the search's order, from the study index */
        fputs("WITH page AS (SELECT a.project AS p, a.study_uid AS s", b.f);
        st = where(&b, q, "archive_instances a", err);
        group_order(&b, q, true);
        fputs(") ", b.f);
        b.having[0] = '\0', b.nhargs = 0; /* the page's group conditions, not the rows' */
    }
    select_list(&b, q, postgres);
    if (st == DQR_OK) /* a study's values from its matching instances, as without the page */
        st = where(&b, q, paged ? "page JOIN archive_instances a ON a.project = page.p AND a.study_uid = page.s"
                                : "archive_instances a", err);
    group_order(&b, q, !paged);
    fclose(b.f);
    if (st == DQR_OK && (b.overflow || !b.text))
        st = dqr_error_set(err, DQR_E_USAGE, "too many matching values in one search");
    if (st == DQR_OK) {
        runctx rc = {q->level, fn, ctx};
        st = store_exec(g->db, b.text, b.args, b.nargs, on_row, &rc, NULL, err);
    }
    free(b.text);
    for (int i = 0; i < b.nowned; i++)
        free(b.owned[i]);
    return st;
}

bool gw_cq_ascii(const char *v)
{
    for (const char *c = v; c && *c; c++)
        if ((unsigned char)*c >= 0x80)
            return false;
    return true;
}

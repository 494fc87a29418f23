/* query.c — C-FIND for the query service. */
#include "dicom/dict.h"
#include "gateway/query.h"

#include <stdlib.h>
#include <string.h>

/* What each level returns when the caller does not ask for more. The
 * issuer with the PatientID: together they find a returning patient in
 * the pseudonym registry (import/registry.h). */
static const char *const return_keys[3][15] = {
    {"PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
     "NumberOfPatientRelatedStudies", NULL},
    {"StudyInstanceUID", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "AccessionNumber",
     "StudyDate", "StudyTime", "StudyDescription", "ModalitiesInStudy", "ReferringPhysicianName", "StudyID",
     "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", NULL},
    {"StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality", "SeriesDate",
     "BodyPartExamined", "NumberOfSeriesRelatedInstances", NULL},
};

const char *const *gw_query_return_keys(int level)
{
    return return_keys[level];
}

const char *gw_query_key(int level, const char *key)
{
    return level == 1 && strcmp(key, "Modality") == 0 ? "ModalitiesInStudy" : key;
}

int gw_query_level(const char *level)
{
    return !level ? -1 : strcmp(level, "PATIENT") == 0 ? 0 : strcmp(level, "STUDY") == 0 ? 1
                     : strcmp(level, "SERIES") == 0    ? 2
                                                       : -1;
}

dcm_dataset *gw_query_identifier(const char *level, const json_t *keys, dqr_error *err)
{
    int li = gw_query_level(level);
    if (li < 0) {
        dqr_error_set(err, DQR_E_USAGE, "'level' is PATIENT, STUDY or SERIES");
        return NULL;
    }
    if (keys && !json_is_object(keys)) {
        dqr_error_set(err, DQR_E_USAGE, "'keys' must be an object of DICOM keyword -> value");
        return NULL;
    }
    dcm_dataset *id = dcm_dataset_new();
    if (!id) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, level, err);
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192", err);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)keys, key, v)
    {
        char num[32];
        const char *text = json_string_value(v);
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), text = num;
        else if (!json_is_string(v) && !json_is_null(v)) {
            dqr_error_set(err, DQR_E_USAGE, "keys.%s must be a string", key);
            dcm_dataset_free(id);
            return NULL;
        }
        const char *name = gw_query_key(li, key);
        if (!dcm_dataset_set_key(id, name, text, err)) {
            dqr_error_prefix(err, "keys: ");
            dcm_dataset_free(id);
            return NULL;
        }
    }
    for (const char *const *k = return_keys[li]; *k; k++) {
        uint32_t tag;
        if (dcm_tag_parse(*k, &tag) == 0 && !dcm_dataset_get(id, tag))
            dcm_dataset_set_key(id, *k, "", err);
    }
    char uid[80];
    if (li == 2 && (!dcm_dataset_get_string(id, DCM_TAG(0x0020, 0x000D), uid, sizeof uid) || !*uid)) {
        dqr_error_set(err, DQR_E_USAGE, "a SERIES query needs keys.StudyInstanceUID (the study to list)");
        dcm_dataset_free(id);
        return NULL;
    }
    return id;
}

typedef struct collect {
    json_t *results;
    size_t max;
    bool cancelled;
} collect;

static bool skipped(uint32_t tag)
{
    return tag == DCM_TAG(0x0008, 0x0005) || tag == DCM_TAG(0x0008, 0x0052) || tag == DCM_TAG(0x0008, 0x0054) ||
           tag == DCM_TAG(0x0008, 0x0056);
}

static int on_match(void *ctx, const dcm_dataset *ds)
{
    collect *c = ctx;
    if (json_array_size(c->results) >= c->max) {
        c->cancelled = true;
        return 1;
    }
    dcm_charset *owned = NULL;
    const dcm_charset *cs = dcm_dataset_charset(ds, NULL, &owned, NULL);
    json_t *o = json_object();
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        const dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        const char *kw = dcm_dict_keyword(tag);
        if (skipped(tag) || !kw || dcm_element_is_sequence(el))
            continue;
        char *text = dcm_element_text(el, cs);
        json_object_set_new(o, kw, json_string(text ? text : ""));
        free(text);
    }
    dcm_charset_free(owned);
    json_array_append_new(c->results, o);
    return 0;
}

dqr_status gw_query_run(gw *g, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                        gw_query_result *out, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(p->protocol, "dicomweb") == 0)
        return gw_qido_run(g, p, level, keys, max, out, err);
    dcm_dataset *id = gw_query_identifier(level, keys, err);
    if (!id)
        return err->code;
    const char *model = strcmp(level, "PATIENT") == 0 ? NET_PATIENT_ROOT_FIND : NET_STUDY_ROOT_FIND;
    collect c = {json_array(), max, false};
    net_assoc *a = gw_pacs_connect(g, p, model, false, err);
    dqr_status st = a ? net_find(a, model, id, on_match, &c, &out->status, err) : err->code;
    if (st == DQR_OK)
        net_release(a, NULL);
    net_assoc_free(a);
    dcm_dataset_free(id);
    if (st != DQR_OK) {
        json_decref(c.results);
        return st;
    }
    out->results = c.results;
    size_t n = json_array_size(c.results);
    if (c.cancelled) {
        out->truncated = true;
        snprintf(out->message, sizeof out->message,
                 "showing the first %zu results (dqr's query_max_results); narrow the search to see the rest", n);
    } else if (out->status == 0xFE00 || (out->status == 0xA700 && n > 0) || (out->status & 0xF000) == 0xB000) {
        out->truncated = true;
        snprintf(out->message, sizeof out->message,
                 "the PACS stopped after %zu results (status 0x%04X %s): it has its own result limit; narrow the "
                 "search",
                 n, out->status, net_status_str(out->status));
    } else if (out->status != 0) {
        json_decref(c.results);
        out->results = NULL;
        return dqr_error_set(err, DQR_E_IO, "PACS %s refused the query: 0x%04X %s", p->label, out->status,
                             net_status_str(out->status));
    }
    return DQR_OK;
}

/* The history row of one query: qr NULL when it failed (err says why). */
static void history_add(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys,
                        const gw_query_result *qr, long ms, const dqr_error *err)
{
    char *text = keys ? json_dumps(keys, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    char *sealed = text ? store_vault_seal(g->vault, text, strlen(text)) : NULL;
    gw_wipe(text);
    size_t n = qr && qr->results ? json_array_size(qr->results) : 0;
    store_exec(g->db,
               "INSERT INTO query_history(user_id, at, pacs_id, level, status, results, truncated, ms, error, keys_enc) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (store_val[]){STORE_I(user), STORE_I(time(NULL)), STORE_I(p->id), STORE_S(level),
                             STORE_S(err ? "error" : "ok"), STORE_I(n), STORE_I(qr && qr->truncated), STORE_I(ms),
                             STORE_S(err ? err->message : NULL), STORE_S(sealed)},
               10, NULL, NULL, NULL, NULL);
    free(sealed);
}

dqr_status gw_query_recorded(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                             gw_query_result *out, long *ms, dqr_error *err)
{
    double t0 = gw_clock_ms();
    dqr_status st = gw_query_run(g, p, level, keys, max, out, err);
    *ms = (long)(gw_clock_ms() - t0);
    history_add(g, user, p, level, keys, st == DQR_OK ? out : NULL, *ms, st == DQR_OK ? NULL : err);
    return st;
}

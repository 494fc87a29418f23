/* qido.c — the query service for a DICOMweb PACS: QIDO-RS searches
 * (PS3.18 10.6) with the same keys, levels and answers as C-FIND. QIDO has
 * no patient level: PATIENT searches studies and keeps one row per patient. */
#include "dicom/dict.h"
#include "gateway/pacs/qido.h"
#include "web/client.h"

#include <stdlib.h>
#include <string.h>

/* Append "&name=value" (value escaped) to the growing URL. */
static bool add_param(char **url, const char *name, const char *value)
{
    char *esc = http_escape(value ? value : "");
    char *next = NULL;
    bool ok = esc && asprintf(&next, "%s%s%s=%s", *url, strchr(*url, '?') ? "&" : "?", name, esc) >= 0;
    free(esc);
    if (ok) {
        free(*url);
        *url = next;
    }
    return ok;
}

/* The QIDO URL for level and keys; NULL with err on a bad key. */
static char *qido_url(const gw_pacs *p, int li, const json_t *keys, size_t max, dqr_error *err)
{
    const char *base = p->url;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    const char *study = json_string_value(json_object_get(keys, "StudyInstanceUID"));
    char *url = NULL;
    if (li == 2) {
        if (!study || !*study) {
            dqr_error_set(err, DQR_E_USAGE, "a SERIES query needs keys.StudyInstanceUID (the study to list)");
            return NULL;
        }
        char *esc = http_escape(study);
        if (asprintf(&url, "%.*s/studies/%s/series", (int)bl, base, esc ? esc : "") < 0)
            url = NULL;
        free(esc);
    } else if (asprintf(&url, "%.*s/studies", (int)bl, base) < 0) {
        url = NULL;
    }
    const char *key;
    json_t *v;
    bool ok = url != NULL;
    json_object_foreach((json_t *)keys, key, v)
    {
        uint32_t tag;
        const char *name = gw_query_key(li, key);
        if (!ok)
            break;
        if (dcm_tag_parse(name, &tag) != 0) {
            dqr_error_set(err, DQR_E_USAGE, "keys: unknown attribute '%s'", key);
            ok = false;
            break;
        }
        const char *text = json_string_value(v);
        if (li == 2 && tag == DCM_TAG(0x0020, 0x000D))
            continue; /* in the path */
        char tagname[9];
        snprintf(tagname, sizeof tagname, "%08X", tag);
        ok = text && *text ? add_param(&url, tagname, text) : add_param(&url, "includefield", tagname);
    }
    for (const char *const *k = gw_query_return_keys(li); ok && *k; k++) {
        uint32_t tag;
        if (dcm_tag_parse(*k, &tag) == 0) {
            char tagname[9];
            snprintf(tagname, sizeof tagname, "%08X", tag);
            ok = add_param(&url, "includefield", tagname);
        }
    }
    char lim[32];
    snprintf(lim, sizeof lim, "%zu", max + 1); /* one more tells us there are more */
    if (ok && li != 0)
        ok = add_param(&url, "limit", lim);
    if (!ok) {
        if (err && err->code == DQR_OK)
            dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        free(url);
        return NULL;
    }
    return url;
}

/* One DICOM JSON value as text: person names by their alphabetic group,
 * numbers as written, several values joined by backslash. */
static char *value_text(const json_t *attr)
{
    const json_t *vals = json_object_get(attr, "Value");
    size_t cap = 256, len = 0;
    char *out = calloc(1, cap);
    size_t i;
    const json_t *v;
    json_array_foreach(vals, i, v)
    {
        char num[64];
        const char *s = json_is_string(v)    ? json_string_value(v)
                        : json_is_object(v)  ? json_string_value(json_object_get(v, "Alphabetic"))
                        : json_is_integer(v) ? (snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), num)
                        : json_is_real(v)    ? (snprintf(num, sizeof num, "%g", json_real_value(v)), num)
                                             : "";
        size_t n = strlen(s ? s : "");
        char *grown = len + n + 2 > cap ? realloc(out, cap = len + n + 2) : out;
        if (!grown)
            break;
        out = grown;
        if (i)
            out[len++] = '\\';
        memcpy(out + len, s ? s : "", n);
        len += n;
        out[len] = '\0';
    }
    return out;
}

/* A DICOM JSON object (tags as keys) flattened to keyword -> text. */
static json_t *flatten(const json_t *obj)
{
    json_t *o = json_object();
    const char *key;
    json_t *attr;
    json_object_foreach((json_t *)obj, key, attr)
    {
        uint32_t tag = (uint32_t)strtoul(key, NULL, 16);
        const char *kw = dcm_dict_keyword(tag);
        const char *vr = json_string_value(json_object_get(attr, "vr"));
        if (!kw || (vr && strcmp(vr, "SQ") == 0) || tag == DCM_TAG(0x0008, 0x0005) ||
            tag == DCM_TAG(0x0008, 0x0056) || tag == DCM_TAG(0x0008, 0x1190))
            continue;
        char *text = value_text(attr);
        json_object_set_new(o, kw, json_string(text ? text : ""));
        free(text);
    }
    return o;
}

/* PATIENT level: one row per PatientID, with its number of studies. */
static json_t *patients_of(json_t *studies)
{
    json_t *rows = json_array(), *seen = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(studies, i, s)
    {
        const char *pid = json_string_value(json_object_get(s, "PatientID"));
        json_t *row = json_object_get(seen, pid ? pid : "");
        if (!row) {
            row = json_object();
            static const char *const keep[] = {"PatientName", "PatientID", "PatientBirthDate", "PatientSex", NULL};
            for (const char *const *k = keep; *k; k++)
                json_object_set(row, *k, json_object_get(s, *k) ? json_object_get(s, *k) : json_string(""));
            json_object_set_new(row, "NumberOfPatientRelatedStudies", json_string("0"));
            json_object_set_new(seen, pid ? pid : "", row);
            json_array_append(rows, row);
        }
        char n[32];
        snprintf(n, sizeof n, "%lld",
                 atoll(json_string_value(json_object_get(row, "NumberOfPatientRelatedStudies"))) + 1);
        json_object_set_new(row, "NumberOfPatientRelatedStudies", json_string(n));
    }
    json_decref(seen);
    return rows;
}

dqr_status gw_qido_run(gw *g, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                       gw_query_result *out, dqr_error *err)
{
    int li = gw_query_level(level);
    if (li < 0)
        return dqr_error_set(err, DQR_E_USAGE, "'level' is PATIENT, STUDY or SERIES");
    char *url = qido_url(p, li, keys, max, err);
    if (!url)
        return err->code;
    char *pw = *p->username ? gw_pacs_password(g, p->id) : NULL;
    http_get req = {.url = url, .accept = "application/dicom+json", .user = *p->username ? p->username : NULL,
                    .password = pw, .timeout_s = g->cfg.query_timeout};
    http_answer ans;
    dqr_status st = http_get_json(&req, &ans, err);
    gw_wipe(pw);
    free(url);
    if (st != DQR_OK) {
        dqr_error_prefix(err, "PACS %s (DICOMweb): ", p->label);
        return st;
    }
    if (ans.json && !json_is_array(ans.json)) {
        json_decref(ans.json);
        return dqr_error_set(err, DQR_E_PARSE, "PACS %s (DICOMweb): the answer is not a list of results", p->label);
    }
    json_t *rows = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ans.json, i, v) json_array_append_new(rows, flatten(v));
    json_decref(ans.json);
    if (li == 0) {
        json_t *pts = patients_of(rows);
        json_decref(rows);
        rows = pts;
    }
    out->results = rows;
    if (json_array_size(rows) > max) {
        while (json_array_size(rows) > max)
            json_array_remove(rows, json_array_size(rows) - 1);
        out->truncated = true;
        snprintf(out->message, sizeof out->message,
                 "showing the first %zu results (dqr's query_max_results); narrow the search to see the rest", max);
    } else if (*ans.warning) {
        out->truncated = true;
        snprintf(out->message, sizeof out->message,
                 "the PACS says it cut the list after %zu results (%.150s); narrow the search", json_array_size(rows),
                 ans.warning);
    }
    return DQR_OK;
}

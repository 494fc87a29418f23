/* query.c — C-FIND for the query service. */
#include "dicom/dict.h"
#include "gateway/pacs/qido.h"
#include "gateway/pacs/query.h"

#include <stdlib.h>
#include <string.h>

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

/* The answer's final status as a result (truncated, with why) or an error. */
static dqr_status interpret(const gw_pacs *p, collect *c, gw_query_result *out, dqr_error *err)
{
    out->results = c->results;
    size_t n = json_array_size(c->results);
    if (c->cancelled) {
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
        json_decref(c->results);
        out->results = NULL;
        return dqr_error_set(err, DQR_E_IO, "PACS %s refused the query: 0x%04X %s", p->label, out->status,
                             net_status_str(out->status));
    }
    return DQR_OK;
}

static const char *find_model(const char *level)
{
    return strcmp(level, "PATIENT") == 0 ? NET_PATIENT_ROOT_FIND : NET_STUDY_ROOT_FIND;
}

dqr_status gw_query_on(net_assoc *a, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                       gw_query_result *out, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    dcm_dataset *id = gw_query_identifier(level, keys, err);
    if (!id)
        return err->code;
    collect c = {json_array(), max, false};
    dqr_status st = net_find(a, find_model(level), id, on_match, &c, &out->status, err);
    dcm_dataset_free(id);
    if (st != DQR_OK) {
        json_decref(c.results);
        out->lost = true;
        return st;
    }
    return interpret(p, &c, out, err);
}

net_assoc *gw_query_connect(gw *g, const gw_pacs *p, const char *level, dqr_error *err)
{
    return gw_pacs_connect(g, p, find_model(level), false, err);
}

dqr_status gw_query_run(gw *g, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                        gw_query_result *out, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(p->protocol, "dicomweb") == 0)
        return gw_qido_run(g, p, level, keys, max, out, err);
    dcm_dataset *id = gw_query_identifier(level, keys, err);
    if (!id) /* a bad key is said before any connection */
        return err->code;
    dcm_dataset_free(id);
    net_assoc *a = gw_query_connect(g, p, level, err);
    dqr_status st = a ? gw_query_on(a, p, level, keys, max, out, err) : err->code;
    if (a && !out->lost)
        net_release(a, NULL);
    net_assoc_free(a);
    return st;
}

void gw_query_record(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys,
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
    gw_query_record(g, user, p, level, keys, st == DQR_OK ? out : NULL, *ms, st == DQR_OK ? NULL : err);
    return st;
}

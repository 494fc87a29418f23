/* phi.c — what identifying values a dataset still holds, judged by the
 * Annex E Basic profile: an attribute the profile removes (X) that is
 * present with a value, one it empties (Z) that has a value, one it gives a
 * dummy (D) whose value is not dqr's dummy, a UID it replaces (U) that is not
 * under 2.25 (where replaced UIDs live), and any private data element. */
#include "anon/anon.h"
#include "anon/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scan {
    const uint32_t *ignore;
    size_t nignore;
    anon_phi_fn fn;
    void *ctx;
    size_t found;
    char path[512];
} scan;

static bool ignored(const scan *s, uint32_t tag)
{
    for (size_t i = 0; i < s->nignore; i++)
        if (s->ignore[i] == tag)
            return true;
    return false;
}

/* dqr's dummies (profile_apply.c): the texts below, a UID under 2.25, and
 * zeros for binary values (whose text is then "" or "0"). */
static bool is_dummy(dcm_vr vr, const char *v)
{
    static const char *const DUMMIES[] = {"ANONYMIZED", "19000101", "000000", "19000101000000", "000D", "0", "", NULL};
    if (vr == DCM_VR_UI)
        return strncmp(v, "2.25.", 5) == 0;
    for (int i = 0; DUMMIES[i]; i++)
        if (strcmp(v, DUMMIES[i]) == 0)
            return true;
    return false;
}

/* A D sequence as dqr writes it: items whose every value is a dummy. */
static bool dummy_tree(const dcm_element *seq)
{
    for (size_t k = 0; k < dcm_element_item_count(seq); k++) {
        const dcm_dataset *item = dcm_element_item(seq, k);
        for (size_t i = 0; i < dcm_dataset_count(item); i++) {
            const dcm_element *el = dcm_dataset_at(item, i);
            if (dcm_element_is_sequence(el)) {
                if (!dummy_tree(el))
                    return false;
                continue;
            }
            char *text = dcm_element_text(el, NULL);
            bool dummy = text && is_dummy(dcm_element_vr(el), text);
            free(text);
            if (!dummy)
                return false;
        }
    }
    return true;
}

static const char *verdict(const anon_annex_e_row *row, const dcm_element *el, const char *text)
{
    anon_action a = row ? anon_row_action(row, (bool[ANON_OPT_COUNT]){0}) : ACT_X;
    bool has_value = dcm_element_is_sequence(el) ? dcm_element_item_count(el) > 0
                                                 : dcm_element_length(el) > 0 && (!text || *text);
    if (!has_value)
        return NULL;
    switch (a) {
    case ACT_X: return "present; Basic removes it";
    case ACT_Z: return "has a value; Basic empties it";
    case ACT_D:
        if (dcm_element_is_sequence(el))
            return dummy_tree(el) ? NULL : "original items; Basic replaces them with a dummy item";
        return text && is_dummy(dcm_element_vr(el), text) ? NULL : "has a value; Basic replaces it";
    case ACT_U: return text && strncmp(text, "2.25.", 5) == 0 ? NULL : "original UID; Basic replaces it";
    default: return NULL;
    }
}

static void scan_ds(scan *s, const dcm_dataset *ds)
{
    size_t base = strlen(s->path);
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        const dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        char t[12];
        snprintf(s->path + base, sizeof s->path - base, "%s%s", base ? "/" : "", dcm_tag_str(tag, t));
        bool private_creator = (DCM_GROUP(tag) & 1) && DCM_ELEM(tag) < 0x100;
        const anon_annex_e_row *row = anon_annex_e_find(tag);
        if (!ignored(s, tag) && !private_creator && (row || (DCM_GROUP(tag) & 1))) {
            char *text = dcm_element_is_sequence(el) || dcm_element_is_encapsulated(el) ? NULL
                                                                                         : dcm_element_text(el, NULL);
            const char *why = verdict(row, el, text);
            if (why) {
                s->found++;
                const char *kw = dcm_dict_keyword(tag);
                s->fn(s->ctx, s->path, kw[0] ? kw : (DCM_GROUP(tag) & 1 ? "private" : "?"), why, text);
            }
            free(text);
            if (why && dcm_element_is_sequence(el))
                continue; /* the sequence is reported; its items go with it */
        }
        for (size_t k = 0; k < dcm_element_item_count(el); k++) {
            size_t b2 = strlen(s->path);
            snprintf(s->path + b2, sizeof s->path - b2, "[%zu]", k);
            scan_ds(s, dcm_element_item(el, k));
            s->path[b2] = '\0';
        }
    }
    s->path[base] = '\0';
}

size_t anon_phi_scan(const dcm_dataset *ds, const uint32_t *ignore, size_t nignore, anon_phi_fn fn,
                     void *ctx)
{
    scan s = {ignore, nignore, fn, ctx, 0, ""};
    scan_ds(&s, ds);
    return s.found;
}

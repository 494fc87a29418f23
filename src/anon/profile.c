/* profile.c — the Basic Application Level Confidentiality Profile and its
 * options (PS3.15 Table E.1-1), from the generated anon_annex_e_table.
 *
 * Action codes as dqr applies them (docs/deidentification.md):
 *   X remove · Z empty value · D dummy value of the VR · K keep ·
 *   U UID replaced by a secret-keyed hash (same UID in, same UID out) ·
 *   C clean: dates shifted by a per-patient offset (retain modified dates),
 *     free text with the instance's identifiers masked (clean descriptors),
 *     sequences kept and their items processed (clean structured content),
 *     graphics removed (clean graphics: dqr cannot redraw them).
 * Combined codes keep the IOD valid: X/Z -> Z; X/D, Z/D, X/Z/D -> D; X/Z/U* -> U
 * (on a sequence: kept, with the UIDs inside replaced by their own rows).
 * Private attributes (odd groups) are removed; retain-safe-private keeps
 * those of PS3.15 Table E.3.10-1 and of the site file (safe_private.c),
 * and the creators of the blocks they are in.
 */
#include "anon/datetime.h"
#include "anon/profile.h"

#include <ctype.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *code, *meaning;
} OPTIONS[ANON_OPT_COUNT] = {
    [ANON_OPT_RETAIN_SAFE_PRIVATE] = {"retain-safe-private", "113111", "Retain Safe Private Option"},
    [ANON_OPT_RETAIN_UIDS] = {"retain-uids", "113110", "Retain UIDs Option"},
    [ANON_OPT_RETAIN_DEVICE_ID] = {"retain-device-id", "113109", "Retain Device Identity Option"},
    [ANON_OPT_RETAIN_INSTITUTION_ID] = {"retain-institution-id", "113112", "Retain Institution Identity Option"},
    [ANON_OPT_RETAIN_PATIENT_CHARS] = {"retain-patient-chars", "113108", "Retain Patient Characteristics Option"},
    [ANON_OPT_RETAIN_LONG_FULL_DATES] = {"retain-long-full-dates", "113106",
                                         "Retain Longitudinal Temporal Information Full Dates Option"},
    [ANON_OPT_RETAIN_LONG_MODIFIED_DATES] = {"retain-long-modified-dates", "113107",
                                             "Retain Longitudinal Temporal Information Modified Dates Option"},
    [ANON_OPT_CLEAN_DESCRIPTORS] = {"clean-descriptors", "113105", "Clean Descriptors Option"},
    [ANON_OPT_CLEAN_STRUCTURED_CONTENT] = {"clean-structured-content", "113104", "Clean Structured Content Option"},
    [ANON_OPT_CLEAN_GRAPHICS] = {"clean-graphics", "113103", "Clean Graphics Option"},
};

struct anon_profile {
    bool opt[ANON_OPT_COUNT];
    char name[400];
    anon_safe_list *safe; /* site file of extra safe private attributes, or NULL */
};

const char *anon_option_name(int opt) { return OPTIONS[opt].name; }
const char *anon_profile_name(const anon_profile *p) { return p->name; }

anon_profile *anon_profile_parse(const char *spec, dqr_error *err)
{
    anon_profile *p = calloc(1, sizeof *p);
    char *copy = strdup(spec ? spec : "");
    if (!p || !copy) {
        free(p);
        free(copy);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    char *save = NULL;
    int k = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++) {
        if (k == 0) {
            if (strcmp(tok, "basic") != 0) {
                dqr_error_set(err, DQR_E_USAGE, "unknown profile '%s' (the profile is 'basic', options follow it: basic,retain-uids,...)", tok);
                goto fail;
            }
            continue;
        }
        int o;
        for (o = 0; o < ANON_OPT_COUNT && strcmp(tok, OPTIONS[o].name) != 0; o++)
            ;
        if (o == ANON_OPT_COUNT) {
            dqr_error_set(err, DQR_E_USAGE, "unknown profile option '%s'", tok);
            goto fail;
        }
        p->opt[o] = true;
    }
    if (k == 0) {
        dqr_error_set(err, DQR_E_USAGE, "empty profile (use 'basic')");
        goto fail;
    }
    if (p->opt[ANON_OPT_RETAIN_LONG_FULL_DATES] && p->opt[ANON_OPT_RETAIN_LONG_MODIFIED_DATES]) {
        dqr_error_set(err, DQR_E_USAGE, "retain-long-full-dates and retain-long-modified-dates exclude each other");
        goto fail;
    }
    snprintf(p->name, sizeof p->name, "basic");
    for (int o = 0; o < ANON_OPT_COUNT; o++)
        if (p->opt[o]) {
            strncat(p->name, ",", sizeof p->name - strlen(p->name) - 1);
            strncat(p->name, OPTIONS[o].name, sizeof p->name - strlen(p->name) - 1);
        }
    free(copy);
    return p;
fail:
    free(copy);
    free(p);
    return NULL;
}

void anon_profile_free(anon_profile *p)
{
    if (p)
        anon_safe_list_free(p->safe);
    free(p);
}

dqr_status anon_profile_add_safe_private(anon_profile *p, const char *path, dqr_error *err)
{
    anon_safe_list *l = anon_safe_list_load(path, err);
    if (!l)
        return err ? err->code : DQR_E_NOMEM;
    anon_safe_list_free(p->safe);
    p->safe = l;
    return DQR_OK;
}

const anon_safe_list *anon_profile_safe_list(const anon_profile *p) { return p->safe; }

bool anon_profile_has(const anon_profile *p, int opt) { return p->opt[opt]; }

dqr_status anon_profile_record(const anon_profile *p, dcm_element *seq, dqr_error *err)
{
    for (int o = -1; o < ANON_OPT_COUNT; o++) {
        if (o >= 0 && !p->opt[o])
            continue;
        dcm_dataset *item = dcm_element_append_item(seq, err);
        const char *code = o < 0 ? "113100" : OPTIONS[o].code;
        const char *meaning = o < 0 ? "Basic Application Confidentiality Profile" : OPTIONS[o].meaning;
        if (!item || !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0100), DCM_VR_SH, code, err) ||
            !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0102), DCM_VR_SH, "DCM", err) ||
            !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0104), DCM_VR_LO, meaning, err))
            return err ? err->code : DQR_E_NOMEM;
    }
    return DQR_OK;
}

/* ---- actions ----------------------------------------------------------- */

static anon_action code_action(const char *code)
{
    if (!code[0])
        return ACT_NONE;
    if (strchr(code, 'U'))
        return ACT_U;
    if (strchr(code, 'D'))
        return ACT_D;
    if (strchr(code, 'Z'))
        return ACT_Z;
    switch (code[0]) {
    case 'X': return ACT_X;
    case 'K': return ACT_K;
    case 'C': return ACT_C;
    default: return ACT_X; /* unknown code: the safe side */
    }
}

anon_action anon_row_action(const anon_annex_e_row *row, const bool opt[ANON_OPT_COUNT])
{
    anon_action a = code_action(row->basic);
    anon_action by_option = ACT_NONE;
    for (int o = 0; o < ANON_OPT_COUNT; o++) {
        if (!opt[o] || !row->option[o][0])
            continue;
        anon_action oa = code_action(row->option[o]);
        if (by_option == ACT_NONE || oa == ACT_K) /* keeping wins over cleaning */
            by_option = oa;
    }
    return by_option != ACT_NONE ? by_option : a;
}

const anon_annex_e_row *anon_annex_e_find(uint32_t tag)
{
    size_t lo = 0, hi = anon_annex_e_exact_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (anon_annex_e_table[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < anon_annex_e_exact_len && anon_annex_e_table[lo].tag == tag)
        return &anon_annex_e_table[lo];
    for (size_t i = anon_annex_e_exact_len; i < anon_annex_e_table_len; i++) {
        const anon_annex_e_row *r = &anon_annex_e_table[i];
        if ((tag & r->mask) == r->tag)
            return r;
    }
    return NULL;
}

anon_action anon_profile_action(const anon_profile *p, uint32_t tag)
{
    const anon_annex_e_row *row = anon_annex_e_find(tag);
    if (!row)
        return (DCM_GROUP(tag) & 1) ? ACT_X : ACT_NONE;
    return anon_row_action(row, p->opt);
}

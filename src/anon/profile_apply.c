/* profile_apply.c — apply an Annex E profile to a dataset tree (the actions
 * are described at the top of profile.c). */
#include "anon/datetime.h"
#include "anon/profile.h"
#include "anon/valuemap.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS 32

typedef struct pctx {
    const anon_profile *p;
    const bool *opt;
    const anon_engine *e;
    long shift_days;          /* retain-long-modified-dates: days subtracted */
    char *ids[MAX_IDS];       /* identifying strings masked by clean-descriptors */
    size_t nids;
    dqr_error *err;
} pctx;

/* ---- dummies ----------------------------------------------------------- */

static const char *dummy_text(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_DA: return "19000101";
    case DCM_VR_TM: return "000000";
    case DCM_VR_DT: return "19000101000000";
    case DCM_VR_AS: return "000D";
    case DCM_VR_IS: case DCM_VR_DS: return "0";
    default: return "ANONYMIZED";
    }
}

/* A dummy of vr, never empty (PS3.15 E.3.1: D is a non-zero-length value
 * consistent with the VR): text as dummy_text, a UID as its keyed hash (the
 * same UID in, the same dummy out), binary numbers and byte VRs (OB, UN, OW,
 * OF, ...) as zeros of one unit, an even byte count. */
static dqr_status set_dummy(pctx *c, dcm_dataset *ds, uint32_t tag, dcm_vr vr, const dcm_element *orig)
{
    static const uint8_t zeros[8];
    dcm_element *el;
    if (vr == DCM_VR_UI) {
        char *old = orig ? dcm_element_text(orig, NULL) : NULL;
        char seed[16], uid[64];
        if (!old || !old[0])
            dcm_tag_str(tag, seed);
        anon_secret_uid(c->e, "2.25", old && old[0] ? old : seed, uid);
        free(old);
        el = dcm_dataset_set_string(ds, tag, vr, uid, c->err);
    } else if (dcm_vr_is_string(vr)) {
        el = dcm_dataset_set_string(ds, tag, vr, dummy_text(vr), c->err);
    } else {
        size_t unit = vr == DCM_VR_AT ? 4 : dcm_vr_swap_unit(vr);
        el = dcm_dataset_set_bytes(ds, tag, vr, zeros, unit < 2 ? 2 : unit, c->err);
    }
    return el ? DQR_OK : (c->err ? c->err->code : DQR_E_NOMEM);
}

static dqr_status dummy_sequence(pctx *c, dcm_dataset *ds, uint32_t tag, const dcm_dataset *model);

/* Fill item with a dummy of every attribute of model (nested sequences alike). */
static dqr_status dummy_item(pctx *c, dcm_dataset *item, const dcm_dataset *model)
{
    dqr_status st = DQR_OK;
    for (size_t i = 0; i < dcm_dataset_count(model) && !st; i++) {
        const dcm_element *el = dcm_dataset_at(model, i);
        uint32_t tag = dcm_element_tag(el);
        if (dcm_element_is_sequence(el))
            st = dummy_sequence(c, item, tag, dcm_element_item_count(el) ? dcm_element_item(el, 0) : NULL);
        else
            st = set_dummy(c, item, tag, dcm_element_vr(el), el);
    }
    return st;
}

/* D on a sequence: one item holding dummies of the attributes of the
 * original's first item (which a valid input has: its required ones); with
 * no item to follow, a code sequence gets the three attributes a code needs
 * and any other sequence one empty item. */
static dqr_status dummy_sequence(pctx *c, dcm_dataset *ds, uint32_t tag, const dcm_dataset *model)
{
    dcm_element *seq = dcm_dataset_set_sequence(ds, tag, c->err);
    dcm_dataset *item = seq ? dcm_element_append_item(seq, c->err) : NULL;
    if (!item)
        return c->err ? c->err->code : DQR_E_NOMEM;
    if (model)
        return dummy_item(c, item, model);
    const char *kw = dcm_dict_keyword(tag);
    if (kw && strstr(kw, "CodeSequence")) {
        static const struct { uint32_t tag; dcm_vr vr; } CODE[] = {
            {DCM_TAG(0x0008, 0x0100), DCM_VR_SH}, {DCM_TAG(0x0008, 0x0102), DCM_VR_SH},
            {DCM_TAG(0x0008, 0x0104), DCM_VR_LO}};
        for (size_t i = 0; i < sizeof CODE / sizeof CODE[0]; i++) {
            dqr_status st = set_dummy(c, item, CODE[i].tag, CODE[i].vr, NULL);
            if (st)
                return st;
        }
    }
    return DQR_OK;
}

/* D on el, which may be a sequence (its first item is the model, copied
 * first since replacing the sequence frees it). */
static dqr_status apply_dummy(pctx *c, dcm_dataset *ds, dcm_element *el)
{
    uint32_t tag = dcm_element_tag(el);
    if (!dcm_element_is_sequence(el))
        return set_dummy(c, ds, tag, dcm_element_vr(el), el);
    dcm_dataset *model = dcm_element_item_count(el) ? dcm_dataset_copy(dcm_element_item(el, 0)) : NULL;
    if (dcm_element_item_count(el) && !model)
        return dqr_error_set(c->err, DQR_E_NOMEM, "out of memory");
    dqr_status st = dummy_sequence(c, ds, tag, model);
    dcm_dataset_free(model);
    return st;
}

static dqr_status set_empty(pctx *c, dcm_dataset *ds, uint32_t tag, dcm_vr vr)
{
    if (vr == DCM_VR_SQ || dcm_element_is_sequence(dcm_dataset_get(ds, tag)))
        return dcm_dataset_set_sequence(ds, tag, c->err) ? DQR_OK : DQR_E_NOMEM;
    return dcm_dataset_set_bytes(ds, tag, vr, "", 0, c->err) ? DQR_OK : DQR_E_NOMEM;
}

/* ---- U, C -------------------------------------------------------------- */

static int secret_uid(void *ctx, const char *value, char out[ANON_VALUE_MAX])
{
    anon_secret_uid(((pctx *)ctx)->e, "2.25", value, out);
    return 0;
}

static int shift_back(void *ctx, const char *value, char out[ANON_VALUE_MAX])
{
    return anon_shift_datetime(value, -(long long)((pctx *)ctx)->shift_days * 86400, out, ANON_VALUE_MAX);
}

/* Every value of el through fn; a value fn refuses empties the attribute. */
static dqr_status map_element(pctx *c, dcm_dataset *ds, dcm_element *el, anon_value_fn fn)
{
    char *text = dcm_element_text(el, NULL);
    if (!text)
        return DQR_OK;
    const char *refused;
    char *out = anon_map_values(text, fn, c, &refused);
    dqr_status st;
    if (out)
        st = dcm_dataset_set_string(ds, dcm_element_tag(el), dcm_element_vr(el), out, c->err) ? DQR_OK : DQR_E_NOMEM;
    else if (refused) /* a date dqr cannot read cannot be shifted: it is emptied instead */
        st = set_empty(c, ds, dcm_element_tag(el), dcm_element_vr(el));
    else
        st = dqr_error_set(c->err, DQR_E_NOMEM, "out of memory");
    free(out);
    free(text);
    return st;
}


/* Free text: mask every identifying string of the instance (case-insensitive). */
static dqr_status clean_text(pctx *c, dcm_dataset *ds, dcm_element *el)
{
    char *text = dcm_element_text(el, NULL);
    if (!text)
        return DQR_OK;
    bool changed = false;
    for (size_t k = 0; k < c->nids; k++) {
        size_t n = strlen(c->ids[k]);
        for (char *hit = strcasestr(text, c->ids[k]); hit; hit = strcasestr(hit + n, c->ids[k])) {
            memset(hit, '*', n);
            changed = true;
        }
    }
    dqr_status st = DQR_OK;
    if (changed && !dcm_dataset_set_string(ds, dcm_element_tag(el), dcm_element_vr(el), text, c->err))
        st = DQR_E_NOMEM;
    free(text);
    return st;
}

static dqr_status apply_ds(pctx *c, dcm_dataset *ds);

static dqr_status clean(pctx *c, dcm_dataset *ds, dcm_element *el)
{
    dcm_vr vr = dcm_element_vr(el);
    if (dcm_element_is_sequence(el)) {
        for (size_t k = 0; k < dcm_element_item_count(el); k++) {
            dqr_status st = apply_ds(c, dcm_element_item(el, k));
            if (st)
                return st;
        }
        return DQR_OK;
    }
    if (vr == DCM_VR_DA || vr == DCM_VR_DT)
        return c->opt[ANON_OPT_RETAIN_LONG_MODIFIED_DATES] ? map_element(c, ds, el, shift_back)
                                                               : set_empty(c, ds, dcm_element_tag(el), vr);
    if (vr == DCM_VR_TM)
        return DQR_OK; /* dates move by whole days: times stay */
    if (dcm_vr_uses_charset(vr) || vr == DCM_VR_CS)
        return clean_text(c, ds, el);
    dcm_dataset_remove(ds, dcm_element_tag(el)); /* graphics, private data: cannot be cleaned here */
    return DQR_OK;
}

/* Is any data element of the block creator (gggg,00xx) reserves still in ds? */
static bool block_in_use(const dcm_dataset *ds, uint32_t creator)
{
    uint16_t group = DCM_GROUP(creator), block = DCM_ELEM(creator);
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        uint32_t t = dcm_element_tag(dcm_dataset_at(ds, i));
        if (DCM_GROUP(t) == group && DCM_ELEM(t) >> 8 == block)
            return true;
    }
    return false;
}

/* Retain Safe Private: a safe private data element is kept (a sequence's
 * items are still de-identified), the rest removed; a creator stays while
 * its block keeps an element. apply_ds walks backwards, so a block's data
 * elements (gggg,xxEE) are judged before their creator (gggg,00xx). */
static anon_action private_action(pctx *c, const dcm_dataset *ds, uint32_t tag)
{
    uint16_t elem = DCM_ELEM(tag);
    char why[8];
    if (elem >= 0x10 && elem <= 0xFF)
        return block_in_use(ds, tag) ? ACT_K : ACT_X;
    if (elem < 0x1000)
        return ACT_X;
    return anon_safe_private_why(anon_profile_safe_list(c->p), ds, tag, why, sizeof why) ? ACT_K : ACT_X;
}

static dqr_status apply_ds(pctx *c, dcm_dataset *ds)
{
    for (size_t i = dcm_dataset_count(ds); i-- > 0;) {
        dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        dcm_vr vr = dcm_element_vr(el);
        dqr_status st = DQR_OK;
        bool safe_private = (DCM_GROUP(tag) & 1) && c->opt[ANON_OPT_RETAIN_SAFE_PRIVATE];
        switch (safe_private ? private_action(c, ds, tag) : anon_profile_action(c->p, tag)) {
        case ACT_NONE:
        case ACT_K:
            for (size_t k = 0; k < dcm_element_item_count(el) && !st; k++)
                st = apply_ds(c, dcm_element_item(el, k));
            break;
        case ACT_X:
            dcm_dataset_remove(ds, tag);
            break;
        case ACT_Z:
            st = set_empty(c, ds, tag, vr);
            break;
        case ACT_D:
            st = apply_dummy(c, ds, el);
            break;
        case ACT_U:
            if (dcm_element_is_sequence(el)) /* "U*": keep it, replace the UIDs inside */
                for (size_t k = 0; k < dcm_element_item_count(el) && !st; k++)
                    st = apply_ds(c, dcm_element_item(el, k));
            else
                st = vr == DCM_VR_UI ? map_element(c, ds, el, secret_uid) : set_empty(c, ds, tag, vr);
            break;
        case ACT_C:
            st = clean(c, ds, el);
            break;
        }
        if (st)
            return st;
    }
    return DQR_OK;
}

/* ---- per-instance context ---------------------------------------------- */

static void add_id(pctx *c, const char *s)
{
    if (c->nids < MAX_IDS && s && strlen(s) >= 2 && strspn(s, " ") != strlen(s))
        c->ids[c->nids++] = strdup(s);
}

static void collect_ids(pctx *c, const dcm_dataset *ds)
{
    static const uint32_t TAGS[] = {
        DCM_TAG(0x0010, 0x0020), DCM_TAG(0x0010, 0x1000), DCM_TAG(0x0008, 0x0050),
        DCM_TAG(0x0010, 0x0030), DCM_TAG(0x0020, 0x0010), DCM_TAG(0x0010, 0x1040),
    };
    char buf[256];
    for (size_t i = 0; i < sizeof TAGS / sizeof TAGS[0]; i++)
        add_id(c, dcm_dataset_get_string(ds, TAGS[i], buf, sizeof buf));
    if (dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0010), buf, sizeof buf)) {
        char *save = NULL; /* each name component on its own */
        for (char *tok = strtok_r(buf, "^=", &save); tok; tok = strtok_r(NULL, "^=", &save))
            add_id(c, tok);
    }
}

/* Days (1..3650) a patient's dates move back: keyed by the secret and the
 * PatientID, so all of a patient's studies keep their intervals. */
static long patient_shift(const anon_engine *e, const dcm_dataset *ds)
{
    char pid[128] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0020), pid, sizeof pid);
    char msg[160];
    int n = snprintf(msg, sizeof msg, "dqr-date-shift:%s", pid);
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), e->settings.uid_secret, sizeof e->settings.uid_secret, (const uint8_t *)msg,
         (size_t)n, mac, &len);
    uint32_t v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
    return 1 + (long)(v % 3650);
}

dqr_status anon_profile_apply(const anon_profile *p, const anon_engine *e, dcm_dataset *ds,
                              dqr_error *err)
{
    pctx c = {.p = p, .opt = NULL, .e = e, .err = err};
    bool opt[ANON_OPT_COUNT];
    for (int o = 0; o < ANON_OPT_COUNT; o++)
        opt[o] = anon_profile_has(p, o);
    c.opt = opt;
    if (opt[ANON_OPT_CLEAN_DESCRIPTORS] || opt[ANON_OPT_CLEAN_STRUCTURED_CONTENT])
        collect_ids(&c, ds);
    if (opt[ANON_OPT_RETAIN_LONG_MODIFIED_DATES])
        c.shift_days = patient_shift(e, ds);
    dqr_status st = apply_ds(&c, ds);
    for (size_t i = 0; i < c.nids; i++)
        free(c.ids[i]);
    if (st)
        return st;
    const char *temporal = opt[ANON_OPT_RETAIN_LONG_FULL_DATES]       ? "UNMODIFIED"
                           : opt[ANON_OPT_RETAIN_LONG_MODIFIED_DATES] ? "MODIFIED"
                                                                      : "REMOVED";
    if (!dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0303), DCM_VR_CS, temporal, err))
        return err ? err->code : DQR_E_NOMEM;
    return DQR_OK;
}

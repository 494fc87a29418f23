/* api_dryrun.c — POST /api/v1/projects/{p}/dry-run: the site and project
 * scripts applied to a sample instance in memory, answered as the list of
 * attributes they change, before and after. The sample is the caller's own
 * file (sent as base64, never stored) or the built-in synthetic instance
 * (anon_sample_dataset, which `dqr lint` runs scripts over too). A sample
 * with pixel data also gets its first frame as PNG before and after
 * (images.before / images.after, base64): rendered in memory, answered only
 * to the uploader in this response, never stored. */
#include "dicom/dict.h"
#include "gateway/import/deid.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"
#include "gateway/api/render.h"
#include "gateway/import/pixel_clean.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static char *shown(const dcm_element *el, const dcm_charset *cs)
{
    char buf[64];
    if (!el)
        return NULL;
    if (dcm_element_is_sequence(el)) {
        snprintf(buf, sizeof buf, "(sequence of %zu items)", dcm_element_item_count(el));
        return strdup(buf);
    }
    dcm_vr vr = dcm_element_vr(el);
    if (vr == DCM_VR_OB || vr == DCM_VR_OW || vr == DCM_VR_UN || vr == DCM_VR_OF || vr == DCM_VR_OD ||
        dcm_element_is_encapsulated(el)) {
        snprintf(buf, sizeof buf, "(%llu bytes)", (unsigned long long)dcm_element_length(el));
        return strdup(buf);
    }
    return dcm_element_text(el, cs);
}

/* Every top-level attribute whose value differs, in tag order. */
static json_t *diff(const dcm_dataset *before, const dcm_dataset *after)
{
    json_t *out = json_array();
    dcm_charset *ob = NULL, *oa = NULL;
    const dcm_charset *cb = dcm_dataset_charset(before, NULL, &ob, NULL), *ca = dcm_dataset_charset(after, NULL, &oa, NULL);
    size_t i = 0, k = 0, nb = dcm_dataset_count(before), na = dcm_dataset_count(after);
    while (i < nb || k < na) {
        const dcm_element *b = i < nb ? dcm_dataset_at(before, i) : NULL, *a = k < na ? dcm_dataset_at(after, k) : NULL;
        uint32_t tb = b ? dcm_element_tag(b) : UINT32_MAX, ta = a ? dcm_element_tag(a) : UINT32_MAX;
        uint32_t tag = tb < ta ? tb : ta;
        const dcm_element *eb = tb == tag ? b : NULL, *ea = ta == tag ? a : NULL;
        i += eb != NULL, k += ea != NULL;
        char *vb = shown(eb, cb), *va = shown(ea, ca);
        if ((vb == NULL) != (va == NULL) || (vb && strcmp(vb, va) != 0)) {
            char t[12];
            const char *kw = dcm_dict_keyword(tag);
            json_array_append_new(out, json_pack("{s:s,s:s,s:s?,s:s?,s:s}", "tag", dcm_tag_str(tag, t), "keyword",
                                                 kw ? kw : "", "before", vb, "after", va, "change",
                                                 !vb ? "added" : !va ? "removed" : "changed"));
        }
        free(vb), free(va);
    }
    dcm_charset_free(ob), dcm_charset_free(oa);
    return out;
}

enum { PREVIEW_MAX = 512 };

/* The first frame of f as base64 PNG, or null (no pixel data, or a syntax
 * that does not render: the header table is still worth answering). */
static json_t *preview(const dcm_file *f)
{
    uint8_t *png = NULL;
    size_t len = 0;
    dqr_error err = {0};
    gw_render_opts o = {.frame = 0, .max_size = PREVIEW_MAX};
    json_t *v = json_null();
    if (gw_render_png(f, &o, &png, &len, &err) == DQR_OK) {
        size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc(cap);
        if (b64) {
            sodium_bin2base64(b64, cap, png, len, sodium_base64_VARIANT_ORIGINAL);
            json_decref(v);
            v = json_string(b64);
        }
        free(b64);
    }
    free(png);
    return v;
}

/* The first frame as the archive would hold it: the pixel-cleaning step
 * (the scripts' alterPixels, the site's and project's pixel rules) applied
 * as the archive write applies it, to a copy encoded in memory. null when
 * cleaning fails (the instance would not be archived: the answer says why). */
static json_t *cleaned_preview(gw_req *r, const anon_session *as, const dcm_dataset *before, dcm_file *f, json_t *o)
{
    gw_pixel_rules rules = {0};
    dqr_error err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    dcm_write_options wo = {.zero_preamble = true};
    size_t regions = 0;
    px_edit *matched = NULL; /* the rules match the sample as it was before the scripts */
    if (gw_pixel_rules_load(r->g, r->arg[0], &rules, &err) != DQR_OK ||
        gw_pixel_match(&rules, before, &matched, &err) != DQR_OK ||
        gw_pixel_clean(matched, as, f, NULL, &regions, &err) != DQR_OK ||
        dcm_file_encode(f, &wo, &buf, &len, &err) != DQR_OK) {
        gw_pixel_rules_free(&rules);
        px_edit_free(matched);
        free(buf);
        json_object_set_new(o, "pixel_error", json_string(err.message));
        return json_null();
    }
    gw_pixel_rules_free(&rules);
    px_edit_free(matched);
    dcm_file *out = gw_parse_instance(r->g, buf, len, true, &err);
    json_t *v = out ? preview(out) : json_null();
    dcm_file_close(out);
    free(buf);
    return v;
}

static void dry_run(gw_req *r)
{
    if (!gw_may_use(r, "project", r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    const char *b64 = json_string_value(json_object_get(r->body, "instance"));
    const char *script = json_string_value(json_object_get(r->body, "script"));
    dcm_file *f = NULL;
    uint8_t *raw = NULL;
    dqr_error err = {0};
    if (b64) {
        size_t cap = strlen(b64), len = 0;
        raw = malloc(cap + 1);
        if (!raw || sodium_base642bin(raw, cap, b64, cap, "\n\r ", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
            !(f = gw_parse_instance(r->g, raw, len, false, &err))) {
            free(raw);
            gw_fail(r, 400, "'instance' must be a DICOM file in base64 (%s)", err.message[0] ? err.message : "bad base64");
            return;
        }
        free(raw);
        gw_audit_req(r, "dry_run", r->arg[0]); /* an uploaded sample may hold PHI */
    } else {
        f = dcm_file_wrap(NULL, anon_sample_dataset(), DCM_TS_EXPLICIT_LE, &err);
    }
    gw_deid d;
    if (!f || gw_deid_build(r->g, r->arg[0], script, "SUBJECT", "SESSION", &d, &err) != DQR_OK) {
        dcm_file_close(f);
        gw_fail_script(r, err.message[0] ? err.message : "cannot read the sample");
        return;
    }
    dcm_dataset *before = dcm_dataset_copy(dcm_file_dataset(f));
    json_t *img_before = preview(f);
    anon_result res = anon_session_apply(d.as, dcm_file_dataset(f), &err);
    json_t *o = json_pack("{s:s,s:s,s:s}", "project", r->arg[0], "sample", b64 ? "uploaded" : "built-in",
                          "result", res == ANON_OK ? "ok" : res == ANON_REJECTED ? "rejected" : "failed");
    if (res == ANON_FAILED)
        json_object_set_new(o, "error", json_string(err.message));
    json_object_set_new(o, "changes", res == ANON_OK && before ? diff(before, dcm_file_dataset(f)) : json_array());
    /* after: what the archive would hold; a rejected sample has no after */
    json_t *img_after = res == ANON_OK && before && !json_is_null(img_before) ? cleaned_preview(r, d.as, before, f, o) : json_null();
    json_object_set_new(o, "images", json_pack("{s:o,s:o}", "before", img_before, "after", img_after));
    dcm_dataset_free(before);
    gw_deid_free(&d);
    dcm_file_close(f);
    gw_reply(r, 200, o);
}

const gw_route gw_routes_dryrun[] = {
    {"POST", "/api/v1/projects/{}/dry-run", GW_USER, dry_run},
    {NULL, NULL, GW_PUBLIC, NULL},
};

/* pixel_record.c — cleaning an instance's pixels after its scripts ran, and
 * the record that says so (issue #14 item 5).
 *
 * The record must tell the truth: Burned In Annotation NO and the code
 * 113101 "Clean Pixel Data" are written only when regions were actually
 * attached to be filled (or, by the OCR step, when the frames were read and
 * found clean), never because a script ran.
 */
#include <string.h>

#include "anon/anon.h"

#define CLEAN_PIXEL_CODE "113101"

/* Does the sequence already hold 113101 (DCM)? */
static bool has_clean_code(const dcm_element *seq)
{
    for (size_t i = 0; i < dcm_element_item_count(seq); i++) {
        const dcm_dataset *item = dcm_element_item(seq, i);
        char v[17], scheme[17];
        if (dcm_dataset_get_string(item, DCM_TAG(0x0008, 0x0100), v, sizeof v) &&
            dcm_dataset_get_string(item, DCM_TAG(0x0008, 0x0102), scheme, sizeof scheme) &&
            strcmp(v, CLEAN_PIXEL_CODE) == 0 && strcmp(scheme, "DCM") == 0)
            return true;
    }
    return false;
}

dqr_status anon_mark_pixels_clean(dcm_dataset *ds, dqr_error *err)
{
    if (!dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "NO", err))
        return err ? err->code : DQR_E_NOMEM;
    dcm_element *seq = dcm_dataset_get(ds, DCM_TAG(0x0012, 0x0064));
    if (!seq || !dcm_element_is_sequence(seq))
        seq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0012, 0x0064), err);
    if (!seq)
        return err ? err->code : DQR_E_NOMEM;
    if (has_clean_code(seq))
        return DQR_OK;
    dcm_dataset *item = dcm_element_append_item(seq, err);
    if (!item || !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0100), DCM_VR_SH, CLEAN_PIXEL_CODE, err) ||
        !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0102), DCM_VR_SH, "DCM", err) ||
        !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0104), DCM_VR_LO, "Clean Pixel Data", err))
        return err ? err->code : DQR_E_NOMEM;
    return DQR_OK;
}

/* Regions of e with a pixel inside ds's Rows x Columns: one wholly outside
 * cleans nothing and must not make the record say it did. */
static size_t regions_inside(const px_edit *e, const dcm_dataset *ds)
{
    long rows = 0, cols = 0;
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &rows);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0011), &cols);
    size_t n = 0;
    for (size_t i = 0; i < px_edit_count(e); i++) {
        const px_region *r = px_edit_region(e, i);
        n += r->left < cols && r->top < rows && r->right > 0 && r->bottom > 0 && r->right > r->left &&
             r->bottom > r->top;
    }
    return n;
}

dqr_status anon_pixel_rules_regions(const anon_pixel_rules *const *rules, size_t nrules, const dcm_dataset *ds,
                                    px_edit **matched, dqr_error *err)
{
    *matched = NULL;
    bool any_rules = false;
    for (size_t i = 0; i < nrules; i++)
        any_rules |= rules[i] != NULL;
    if (!any_rules || !dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA))
        return DQR_OK;
    px_edit *e = px_edit_new();
    if (!e)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = DQR_OK;
    size_t added = 0;
    for (size_t i = 0; i < nrules && !st; i++)
        st = anon_pixel_rules_edit(rules[i], ds, e, &added, err);
    if (st || px_edit_count(e) == 0) {
        px_edit_free(e);
        if (st)
            dqr_error_prefix(err, "pixel cleaning: ");
        return st;
    }
    *matched = e;
    return DQR_OK;
}

dqr_status anon_clean_pixels(dcm_file *f, const anon_session *s, const px_edit *matched, size_t *regions,
                             dqr_error *err)
{
    if (regions)
        *regions = 0;
    const px_edit *script = s ? anon_session_pixel_edits(s) : NULL;
    if ((px_edit_count(matched) == 0 && px_edit_count(script) == 0) ||
        !dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA))
        return DQR_OK; /* nothing to clean (an SR, a PDF): nothing recorded */
    px_edit *e = px_edit_new();
    if (!e)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = DQR_OK;
    for (size_t i = 0; i < px_edit_count(script) && !st; i++)
        st = px_edit_add(e, px_edit_region(script, i), err);
    for (size_t i = 0; i < px_edit_count(matched) && !st; i++)
        st = px_edit_add(e, px_edit_region(matched, i), err);
    size_t n = st ? 0 : regions_inside(e, dcm_file_dataset(f));
    if (!st && n)
        st = px_edit_attach(f, e, err);
    if (!st && n)
        st = anon_mark_pixels_clean(dcm_file_dataset(f), err);
    px_edit_free(e);
    if (st)
        dqr_error_prefix(err, "pixel cleaning: ");
    else if (regions)
        *regions = n;
    return st;
}

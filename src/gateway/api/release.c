/* release.c — gw_quarantine_mask_archive, the "release" of an instance the
 * burned-in text check refused: the words' boxes are blacked out on every
 * frame by the pixel edit engine (px_edit_attach: filled frame by frame as
 * the file is written), the record says the pixels were cleaned, and the
 * instance is archived into its import session's project, subject and
 * session, with its index row, as the pipeline's archive step does.
 *
 * The sealed instance is the de-identified one (the verify step runs after
 * the scripts), so only its pixels need cleaning here. Each box becomes the
 * verify step's mask policy's black box (px_ocr_black_box: 2 pixels wider,
 * every frame, black as the photometric interpretation means it).
 *
 * The write and the index row are the pipeline's own (gw_archive_write). */
#include "anon/anon.h"
#include "gateway/api/pixels.h"
#include "gateway/import/job.h"
#include "gateway/import/archive.h"
#include "pixel/pixel.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct labels {
    char project[65], subject[65], session[65];
} labels;

static int read_labels(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    labels *l = ctx;
    if (n == 3 && c[0].s && c[1].s && c[2].s) {
        snprintf(l->project, sizeof l->project, "%s", c[0].s);
        snprintf(l->subject, sizeof l->subject, "%s", c[1].s);
        snprintf(l->session, sizeof l->session, "%s", c[2].s);
    }
    return 1;
}

/* The boxes ({left, top, width, height}) as black boxes. */
static px_edit *regions(const json_t *boxes, const px_info *info, dqr_error *err)
{
    px_edit *e = px_edit_new();
    size_t i;
    json_t *b;
    if (!e) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    json_array_foreach (boxes, i, b) {
        json_int_t l = json_integer_value(json_object_get(b, "left")), t = json_integer_value(json_object_get(b, "top"));
        json_int_t w = json_integer_value(json_object_get(b, "width")), h = json_integer_value(json_object_get(b, "height"));
        bool sized = l >= 0 && t >= 0 && w > 0 && h > 0 && l + w <= UINT32_MAX && t + h <= UINT32_MAX;
        px_ocr_word word = {.left = (uint32_t)l, .top = (uint32_t)t, .width = (uint32_t)w, .height = (uint32_t)h};
        px_region rg;
        if (sized)
            px_ocr_black_box(info, &word, &rg);
        if (!sized || px_edit_add(e, &rg, err) != DQR_OK) {
            if (!sized)
                dqr_error_set(err, DQR_E_PARSE, "a quarantined box has no size");
            px_edit_free(e);
            return NULL;
        }
    }
    return e;
}

dqr_status gw_quarantine_mask_archive(gw *g, int64_t import_session, dcm_file *f, const json_t *boxes,
                                      char session[65], dqr_error *err)
{
    labels l;
    memset(&l, 0, sizeof l);
    session[0] = '\0';
    if (json_array_size(boxes) == 0) /* an entry of the pixel-cleaning step, not of OCR: nothing to mask */
        return dqr_error_set(err, DQR_E_CONFLICT, "the pixels of this instance could not be cleaned: it cannot be "
                                                  "released, delete it");
    store_exec(g->db, "SELECT project, subject, session FROM import_sessions WHERE id = ?",
               (store_val[]){STORE_I(import_session)}, 1, read_labels, &l, NULL, NULL);
    if (!l.session[0])
        return dqr_error_set(err, DQR_E_NOTFOUND, "the import session of this instance is gone: delete it instead");
    px_info info;
    dqr_status st = px_info_read(dcm_file_dataset(f), &info, err);
    px_edit *e = st == DQR_OK ? regions(boxes, &info, err) : NULL;
    if (!e)
        return st != DQR_OK ? st : (dqr_status)err->code;
    st = px_edit_attach(f, e, err);
    px_edit_free(e);
    if (st == DQR_OK)
        st = anon_mark_pixels_clean(dcm_file_dataset(f), err);
    gw_archive_to to = {.project = l.project, .subject = l.subject, .session = l.session,
                        .import_session = import_session};
    if (st == DQR_OK)
        st = gw_archive_write(g, &to, f, NULL, err);
    if (st == DQR_OK)
        snprintf(session, 65, "%s", l.session);
    return st;
}

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
 * MERGE NOTE: archive_write() is receiver.c's archive step without a gw_job;
 * receiver.c may call it instead of keeping its own. */
#include "anon/anon.h"
#include "dicom/fs.h"
#include "gateway/api/pixels.h"
#include "gateway/import/job.h"
#include "gateway/import/archive.h"
#include "pixel/pixel.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

/* Write f into the archive of l and index it (de-identified values only). */
static dqr_status archive_write(gw *g, const labels *l, int64_t import_session, dcm_file *f, dqr_error *err)
{
    dcm_dataset *ds = dcm_file_dataset(f);
    char series[65] = "", sop[65] = "", number[32] = "", desc[65] = "", modality[17] = "", date[17] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x000E), series, sizeof series);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0018), sop, sizeof sop);
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x0011), number, sizeof number);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x103E), desc, sizeof desc);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0060), modality, sizeof modality);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0020), date, sizeof date);
    char path[4096];
    if (!gw_archive_path(g, l->project, l->subject, l->session, series, sop, path, sizeof path))
        return dqr_error_set(err, DQR_E_PARSE, "the instance has no usable SeriesInstanceUID or SOPInstanceUID");
    dcm_write_options opts = {.zero_preamble = true, .file_mode = 0600};
    if (dqr_make_parent_dirs(path, 0700) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot make the archive folder of session %s", l->session);
    dqr_status st = dcm_file_write(f, path, &opts, err);
    if (st != DQR_OK)
        return st;
    struct stat sb;
    int64_t bytes = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    return store_exec(g->db,
                      "INSERT INTO archive_instances(project, subject, session, series_uid, series_number, "
                      "series_description, modality, study_date, sop_uid, path, bytes, import_session, updated) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(project, session, sop_uid) DO UPDATE "
                      "SET path = excluded.path, bytes = excluded.bytes, updated = excluded.updated",
                      (store_val[]){STORE_S(l->project), STORE_S(l->subject), STORE_S(l->session), STORE_S(series),
                                    STORE_S(number), STORE_S(desc), STORE_S(modality), STORE_S(date), STORE_S(sop),
                                    STORE_S(path + strlen(g->cfg.data_dir) + 1), STORE_I(bytes),
                                    STORE_I(import_session), STORE_I(time(NULL))},
                      13, NULL, NULL, NULL, err);
}

dqr_status gw_quarantine_mask_archive(gw *g, int64_t import_session, dcm_file *f, const json_t *boxes,
                                      char session[65], dqr_error *err)
{
    labels l;
    memset(&l, 0, sizeof l);
    session[0] = '\0';
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
    if (st == DQR_OK)
        st = archive_write(g, &l, import_session, f, err);
    if (st == DQR_OK)
        snprintf(session, 65, "%s", l.session);
    return st;
}

/* archive.c — the de-identified archive on disk and its index:
 * DATA_DIR/archive/<project>/<subject>/<session>/<series>/<SOPInstanceUID>.dcm,
 * where <series> is the de-identified SeriesInstanceUID. Every name comes
 * from labels checked by gw_label_ok or UIDs of digits and dots, so no
 * value can climb out of the folder. gw_archive_write is the one archive
 * write: the pipeline's and a released quarantine entry's. */
#include "gateway/import/archive.h"
#include "dicom/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

bool gw_label_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool uid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 && s[0] != '.' && strspn(s, "0123456789.") == n;
}

bool gw_archive_path(const gw *g, const char *project, const char *subject, const char *session, const char *series,
                     const char *sop, char *out, size_t cap)
{
    if (!gw_label_ok(project) || !gw_label_ok(subject) || !gw_label_ok(session) || !uid_ok(series) ||
        (sop && !uid_ok(sop)))
        return false;
    int n = sop ? snprintf(out, cap, "%s/archive/%s/%s/%s/%s/%s.dcm", g->cfg.data_dir, project, subject, session,
                           series, sop)
                : snprintf(out, cap, "%s/archive/%s/%s/%s/%s", g->cfg.data_dir, project, subject, session, series);
    return n > 0 && (size_t)n < cap;
}

/* The index row of an instance written to path. */
static dqr_status index_row(gw *g, const gw_archive_to *to, const dcm_dataset *ds, const char *path, int64_t bytes,
                            dqr_error *err)
{
    char series[65] = "", sop[65] = "", number[32] = "", desc[65] = "", modality[17] = "", date[17] = "";
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x000E), series, sizeof series);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0018), sop, sizeof sop);
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x0011), number, sizeof number);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x103E), desc, sizeof desc);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0060), modality, sizeof modality);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0020), date, sizeof date);
    dqr_status st = store_exec(
        g->db,
        "INSERT INTO archive_instances(project, subject, session, series_uid, series_number, "
        "series_description, modality, study_date, sop_uid, path, bytes, import_session, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(project, session, sop_uid) DO UPDATE SET "
        "subject = excluded.subject, series_uid = excluded.series_uid, series_number = excluded.series_number, "
        "series_description = excluded.series_description, modality = excluded.modality, "
        "study_date = excluded.study_date, path = excluded.path, bytes = excluded.bytes, "
        "import_session = excluded.import_session, updated = excluded.updated",
        (store_val[]){STORE_S(to->project), STORE_S(to->subject), STORE_S(to->session), STORE_S(series),
                      STORE_S(number), STORE_S(desc), STORE_S(modality), STORE_S(date), STORE_S(sop),
                      STORE_S(path + strlen(g->cfg.data_dir) + 1), STORE_I(bytes), STORE_I(to->import_session),
                      STORE_I(time(NULL))},
        13, NULL, NULL, NULL, err);
    if (st)
        dqr_error_prefix(err, "catalog: ");
    return st;
}

dqr_status gw_archive_write(gw *g, const gw_archive_to *to, dcm_file *f, int64_t *bytes, dqr_error *err)
{
    dcm_dataset *ds = dcm_file_dataset(f);
    char series[65] = "", sop[65] = "", path[4096];
    dcm_dataset_get_string(ds, DCM_TAG(0x0020, 0x000E), series, sizeof series);
    dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0018), sop, sizeof sop);
    if (!gw_archive_path(g, to->project, to->subject, to->session, series, sop, path, sizeof path))
        return dqr_error_set(err, DQR_E_PARSE, "an instance has no usable SeriesInstanceUID or SOPInstanceUID");
    dcm_dataset_remove(dcm_file_meta(f), DCM_TAG(0x0002, 0x0016)); /* the sender's AE */
    dcm_write_options opts = {.zero_preamble = true, .no_sync = to->no_sync, .start_writeback = to->no_sync,
                              .file_mode = 0600};
    bool dir = to->dir_ready ? to->dir_ready(to->ctx, path) : dqr_make_parent_dirs(path, 0700) == 0;
    if (!dir)
        return dqr_error_set(err, DQR_E_IO, "cannot make the archive folder of session %s: %s", to->session,
                             strerror(errno));
    dqr_error werr = {0};
    dqr_status st = dcm_file_write(f, path, &opts, &werr);
    if (st) {
        if (err)
            *err = werr;
        dqr_error_prefix(err, "archive write failed: ");
        return st;
    }
    struct stat sb;
    int64_t size = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    if (bytes)
        *bytes = size;
    return index_row(g, to, ds, path, size, err);
}

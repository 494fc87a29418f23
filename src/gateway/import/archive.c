/* archive.c — the de-identified archive on disk and its index:
 * DATA_DIR/archive/<project>/<subject>/<session>/<series>/<SOPInstanceUID>.dcm,
 * where <series> is the de-identified SeriesInstanceUID. Every name comes
 * from labels checked by gw_label_ok or UIDs of digits and dots, so no
 * value can climb out of the folder. gw_archive_write is the one archive
 * write: the pipeline's and a released quarantine entry's. */
#include "gateway/import/archive.h"
#include "gateway/import/index.h"
#include "dicom/fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

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

int gw_archive_remove_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].s) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", (const char *)ctx, c[0].s);
        unlink(full);
        /* folders left empty (series, session, subject) go too; rmdir fails on the others */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(full, '/');
            if (!slash)
                break;
            *slash = '\0';
            if (rmdir(full) != 0)
                break;
        }
    }
    return 0;
}

const char *gw_archive_reason(const char *message)
{
    const char *end = NULL;
    for (const char *p = message; (p = strstr(p, ".dcm")); p += 4)
        end = p + 4;
    if (!end)
        return message;
    if (strncmp(end, ".tmp.", 5) == 0)
        end += 5 + strspn(end + 5, "0123456789abcdef");
    return strncmp(end, ": ", 2) == 0 ? end + 2 : message;
}

/* After the row's write failed: whether the catalog has it all the same. A
 * connection lost at the commit leaves the outcome unknown (PostgreSQL
 * restarted: the row may be in), and deleting the file under a committed
 * row would lose the instance. Asked again for up to ten seconds while the
 * catalog does not answer; false when it has no such row or never answers. */
static bool row_written(gw *g, const gw_archive_row *w, const char *sop)
{
    for (int i = 0; i < 50; i++) {
        int64_t one = 0;
        dqr_error err = {0};
        dqr_status st = store_int(g->db, "SELECT 1 FROM archive_instances WHERE project = ? AND session = ? AND "
                                         "sop_uid = ? AND path = ?",
                                  (store_val[]){STORE_S(w->project), STORE_S(w->session), STORE_S(sop), STORE_S(w->path)},
                                  4, &one, &err);
        if (st == DQR_OK)
            return one == 1;
        if (st == DQR_E_NOTFOUND)
            return false;
        usleep(200 * 1000);
    }
    return false;
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
    /* a file that was not there before goes again if its row cannot be
     * written, so no file is left without a row (one that was there keeps
     * the row it already has) */
    bool existed = access(path, F_OK) == 0;
    dqr_error werr = {0};
    dqr_status st = dcm_file_write(f, path, &opts, &werr);
    if (st)
        return dqr_error_set(err, st, "archive write of instance %.64s failed: %.150s", sop,
                             werr.message[0] ? gw_archive_reason(werr.message) : strerror(errno));
    struct stat sb;
    int64_t size = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    if (bytes)
        *bytes = size;
    gw_archive_row where = {to->project, to->subject, to->session, path + strlen(g->cfg.data_dir) + 1, size,
                            to->import_session};
    st = gw_archive_index(g, &where, f, err);
    if (st && !existed && row_written(g, &where, sop)) {
        gw_log(g, "info", "archive_row_kept", "session=%lld (the catalog had the row its connection lost)",
               (long long)to->import_session);
        return DQR_OK;
    }
    if (st && !existed) /* the store's message already says "catalog: " */
        unlink(path);
    return st;
}

/* fsck_repair.c — what `dqr fsck --repair` does with each finding, and
 * what it reports without it. The choices (docs/cli.md, "dqr fsck"):
 * - a temporary file is removed: it was never an archived instance;
 * - a file with no row is moved to data_dir/lost+found/ (same layout), not
 *   re-catalogued: it may be what an interrupted delete left, which must not
 *   come back, and an interrupted import writes it again when it resumes;
 * - a row whose file is gone, or whose file is unreadable or holds another
 *   instance, is deleted (such a file goes to lost+found) and the import
 *   session runs again, so the PACS sends what is missing; when none of the
 *   session's files is left (an interrupted delete looks like that) the rows
 *   go and nothing is re-imported;
 * - a size that differs from a readable file holding the row's instance is
 *   corrected in the row.
 * Findings in a running session are only reported. */
#include "gateway/import/fsck_int.h"
#include "gateway/import/index.h"
#include "dicom/dicom.h"
#include "dicom/fs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool repairing(const fsck_run *r)
{
    return r->o.repair && !r->in_flight;
}

bool fsck_remove(fsck_run *r, const char *rel)
{
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", r->data_dir, rel);
    return unlink(full) == 0;
}

bool fsck_matches(const char *full, const char *sop, char *why, size_t cap)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(full, &err);
    if (!f) {
        snprintf(why, cap, "unreadable: %.200s", err.message);
        return false;
    }
    char uid[65] = "";
    dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0018), uid, sizeof uid);
    dcm_file_close(f);
    if (strcmp(uid, sop) != 0) {
        snprintf(why, cap, "the file holds SOPInstanceUID %.64s, the catalog says %.64s", uid, sop);
        return false;
    }
    return true;
}

/* data_dir/archive/X moved to data_dir/lost+found/X. */
static bool quarantine(fsck_run *r, const char *rel, char *to, size_t cap)
{
    const char *tail = strncmp(rel, "archive/", 8) == 0 ? rel + 8 : rel;
    char from[4096];
    snprintf(from, sizeof from, "%s/%s", r->data_dir, rel);
    snprintf(to, cap, "%s/lost+found/%s", r->data_dir, tail);
    return dqr_make_parent_dirs(to, 0700) == 0 && rename(from, to) == 0;
}

void fsck_orphan(fsck_run *r, const char *rel)
{
    char to[4096];
    bool done = repairing(r) && quarantine(r, rel, to, sizeof to);
    fsck_report(r, GW_FSCK_ORPHAN, rel,
                done ? "no catalog row: moved to lost+found" : "no catalog row", done);
}

static bool drop_row(fsck_run *r, fsck_session *s, const fsck_row *row)
{
    int64_t n = 0;
    if (store_exec(r->db, "DELETE FROM archive_instances WHERE project = ? AND session = ? AND sop_uid = ?",
                   (store_val[]){STORE_S(s->project), STORE_S(s->session), STORE_S(row->sop)}, 3, NULL, NULL, &n,
                   NULL) != DQR_OK || n == 0)
        return false;
    gw_archive_summary_refresh(r->db, s->project, s->session, NULL); /* its counts follow by trigger */
    s->lost++;
    if (row->import_session)
        s->requeue = row->import_session;
    return true;
}

void fsck_missing(fsck_run *r, fsck_session *s, fsck_row *row)
{
    bool done = repairing(r) && drop_row(r, s, row);
    fsck_report(r, GW_FSCK_MISSING, row->rel, done ? "the catalog's file is gone: row removed" : "the catalog's file is gone",
                done);
}

void fsck_mismatch(fsck_run *r, fsck_session *s, fsck_row *row, const char *detail)
{
    char to[4096], text[400];
    bool done = repairing(r) && quarantine(r, row->rel, to, sizeof to) && drop_row(r, s, row);
    if (done)
        s->present--; /* its file is no longer the session's */
    snprintf(text, sizeof text, "%s%s", detail, done ? ": file moved to lost+found, row removed" : "");
    fsck_report(r, GW_FSCK_MISMATCH, row->rel, text, done);
}

void fsck_bad_size(fsck_run *r, fsck_session *s, fsck_row *row, int64_t size, const char *detail)
{
    char full[4096], why[256];
    snprintf(full, sizeof full, "%s/%s", r->data_dir, row->rel);
    if (repairing(r) && !fsck_matches(full, row->sop, why, sizeof why)) {
        fsck_mismatch(r, s, row, why);
        return;
    }
    bool done = repairing(r) &&
                store_exec(r->db, "UPDATE archive_instances SET bytes = ? WHERE project = ? AND session = ? AND sop_uid = ?",
                           (store_val[]){STORE_I(size), STORE_S(s->project), STORE_S(s->session), STORE_S(row->sop)}, 4,
                           NULL, NULL, NULL, NULL) == DQR_OK;
    char text[400];
    snprintf(text, sizeof text, "%s%s", detail, done ? ": row corrected" : "");
    fsck_report(r, GW_FSCK_SIZE, row->rel, text, done);
}

void fsck_requeue(fsck_run *r, fsck_session *s)
{
    if (!s->lost || !s->requeue || !s->present)
        return;
    char why[200];
    snprintf(why, sizeof why, "dqr fsck: %d archived instance%s missing, imported again", s->lost,
             s->lost == 1 ? " was" : "s were");
    int64_t n = 0;
    store_exec(r->db,
               "UPDATE import_sessions SET state = 'queued', attempts = 0, next_try = 0, error = ?, updated = ? "
               "WHERE id = ? AND state <> 'running' AND state <> 'queued'",
               (store_val[]){STORE_S(why), STORE_I(time(NULL)), STORE_I(s->requeue)}, 3, NULL, NULL, &n, NULL);
    r->rep->requeued += n;
}

/* archive.h — where instances live in the archive (archive.c). */
#ifndef DQR_GW_ARCHIVE_H
#define DQR_GW_ARCHIVE_H

#include "gateway/internal.h"

/* Where an instance of the archive lives; false if a label or UID would
 * escape the folder. */
bool gw_archive_path(const gw *g, const char *project, const char *subject, const char *session, const char *series,
                     const char *sop, char *out, size_t cap);

/* Where an instance goes and how it is written (gw_archive_write). */
typedef struct gw_archive_to {
    const char *project, *subject, *session;
    int64_t import_session;
    bool no_sync; /* a node's own sessions are synced as a whole when their transfer ends */
    /* makes the instance's folder (e.g. once per series); NULL: dqr_make_parent_dirs */
    bool (*dir_ready)(void *ctx, const char *path);
    void *ctx;
} gw_archive_to;

/* The archive step (ARCHITECTURE.md step 7), for the pipeline and for a
 * released quarantine entry: f written atomically (temp file + rename,
 * mode 0600, without the sender's AE in its meta) at its place under `to`,
 * and its index row, from de-identified values only. *bytes (may be NULL)
 * gets the file's size. On failure err says why, without a DICOM value. */
dqr_status gw_archive_write(gw *g, const gw_archive_to *to, dcm_file *f, int64_t *bytes, dqr_error *err);

/* Labels: 1 to 64 letters, digits, _ or - (they become folder names). */
bool gw_label_ok(const char *s);

/* A store_exec row callback removing the file at the row's first column (a
 * path under the data folder, ctx) and the folders it leaves empty
 * (series, session, subject). */
int gw_archive_remove_row(void *ctx, int n, const char *const *names, const store_val *c);

/* The reason in a failed archive write's message, after the file's paths
 * ("write failed: No space left on device", "rename: Input/output error"):
 * the paths are long and the session's error short. */
const char *gw_archive_reason(const char *message);

#endif

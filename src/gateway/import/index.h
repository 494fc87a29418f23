/* index.h — the catalog row of an archived instance (index.c). */
#ifndef DQR_GW_INDEX_H
#define DQR_GW_INDEX_H

#include "dicom/dicom.h"
#include "gateway/internal.h"

/* Where an instance just archived lives. */
typedef struct gw_archive_row {
    const char *project, *subject, *session;
    const char *path; /* relative to data_dir */
    int64_t bytes, import_session;
} gw_archive_row;

/* Insert or update its archive_instances row with the attributes the
 * archive's queries answer (archive/catalog_query.h), read from the
 * de-identified dataset of f. */
dqr_status gw_archive_index(gw *g, const gw_archive_row *where, dcm_file *f, dqr_error *err);

/* After deleting some of a session's instance rows: its summary row
 * (archive_sessions) gets the latest update time of the rows left; the
 * triggers keep the counts, not that. */
dqr_status gw_archive_summary_refresh(store *db, const char *project, const char *session, dqr_error *err);

#endif

/* reindex.h — the backfill of archive_instances rows whose query columns
 * are empty (indexed before migration 13): their archived files are read
 * again and indexed as a new instance is (index.c). */
#ifndef DQR_GW_REINDEX_H
#define DQR_GW_REINDEX_H

#include "gateway/internal.h"

/* What one pass did. */
typedef struct gw_reindex_counts {
    long filled;     /* rows whose columns are now set */
    long unreadable; /* rows left as they were: file missing, unreadable or without a StudyInstanceUID */
} gw_reindex_counts;

/* Index again every row whose study_uid IS NULL, batch rows at a time (in
 * catalog key order, so an unreadable file is met once), until none is
 * left or *stop turns true. Resumable: a row done is no longer NULL. */
dqr_status gw_reindex_run(gw *g, int batch, atomic_bool *stop, gw_reindex_counts *out, dqr_error *err);

/* The pass in one background thread at start (logged with its counts),
 * and its end at stop (it finishes the batch under way). */
dqr_status gw_reindex_start(gw *g, dqr_error *err);
void gw_reindex_stop(gw *g);

#endif

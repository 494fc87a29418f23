/* fsck.h — the check of the archive against its catalog (`dqr fsck`):
 * every archive_instances row has its file with the recorded size (and,
 * deep, a readable instance with the row's SOPInstanceUID), every file of
 * data_dir/archive has its row, no temporary file is left. Optionally it
 * repairs what it found (docs/cli.md, "dqr fsck"). */
#ifndef DQR_GW_FSCK_H
#define DQR_GW_FSCK_H

#include <stdbool.h>
#include <stdint.h>

#include "dicom/error.h"
#include "store/store.h"

typedef enum gw_fsck_kind {
    GW_FSCK_TEMP,       /* a temporary (partial) file: *.dcm.tmp.*, tmp/ leftovers */
    GW_FSCK_ORPHAN,     /* an archive file with no catalog row */
    GW_FSCK_MISSING,    /* a catalog row whose file is gone */
    GW_FSCK_SIZE,       /* the file's size is not the row's */
    GW_FSCK_MISMATCH,   /* deep: unreadable, or another SOPInstanceUID than the row's */
    GW_FSCK_DUPLICATE,  /* one SOPInstanceUID twice in a session (two series folders, two rows on one path) */
    GW_FSCK_KINDS
} gw_fsck_kind;

/* The kind's name in reports ("temp", "orphan", ...). */
const char *gw_fsck_kind_name(gw_fsck_kind k);

typedef struct gw_fsck_finding {
    gw_fsck_kind kind;
    const char *path;   /* relative to data_dir */
    const char *detail; /* a sentence: labels and UIDs only, which are de-identified */
    bool in_flight;     /* in a session the catalog says is running: not a problem, never repaired */
    bool repaired;
} gw_fsck_finding;

typedef void (*gw_fsck_fn)(void *ctx, const gw_fsck_finding *f);

typedef struct gw_fsck_opts {
    bool deep;   /* parse every file */
    bool repair; /* fix what is found (stop dqr serve first) */
} gw_fsck_opts;

typedef struct gw_fsck_report {
    int64_t rows, files, sessions;
    int64_t found[GW_FSCK_KINDS]; /* problems by kind (in-flight findings not counted) */
    int64_t problems, repaired, in_flight;
    int64_t requeued; /* import sessions marked for re-import */
} gw_fsck_report;

/* Check data_dir's archive against the catalog db. Every finding goes to fn
 * (may be NULL) as it is found; the totals to *rep. Fails only when the
 * catalog cannot be read (err filled); problems found are not a failure. */
dqr_status gw_fsck(const char *data_dir, store *db, const gw_fsck_opts *o, gw_fsck_fn fn, void *ctx,
                   gw_fsck_report *rep, dqr_error *err);

#endif

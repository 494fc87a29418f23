/* fsck_int.h — what fsck.c (the walk and the comparison) and fsck_repair.c
 * (what each finding changes with --repair) share. Not installed. */
#ifndef DQR_GW_FSCK_INT_H
#define DQR_GW_FSCK_INT_H

#include "gateway/import/fsck.h"

#include <stddef.h>

#define FSCK_PAGE 256 /* catalog sessions read per query */
#define FSCK_STR2(x) #x
#define FSCK_STR(x) FSCK_STR2(x)

typedef struct fsck_row {
    char *rel; /* path relative to data_dir, as the catalog has it */
    int64_t bytes, import_session;
    char sop[65];
    bool seen;
} fsck_row;

typedef struct fsck_rows {
    fsck_row *v;
    size_t n, cap;
} fsck_rows;

/* One session folder being checked. */
typedef struct fsck_session {
    const char *project, *subject, *session;
    fsck_rows rows;
    char **names; /* file names seen in its series folders (duplicates) */
    size_t nnames, names_cap;
    size_t present;  /* rows whose file is there */
    int64_t requeue; /* the import session to run again (0: none) */
    int lost;        /* rows dropped by the repair */
} fsck_session;

typedef struct fsck_lost {
    char project[65], subject[65], session[65];
} fsck_lost;

typedef struct fsck_run {
    const char *data_dir;
    store *db;
    gw_fsck_opts o;
    gw_fsck_fn fn;
    void *ctx;
    gw_fsck_report *rep;
    bool in_flight; /* the session being checked is running */
    bool failed;    /* the catalog could not be read: err says why */
    dqr_error err;
    fsck_lost lost[FSCK_PAGE], last;
    size_t nlost, page;
} fsck_run;

/* Count a finding and hand it to the caller. */
void fsck_report(fsck_run *r, gw_fsck_kind kind, const char *path, const char *detail, bool repaired);

/* Whether data_dir/rel was removed. */
bool fsck_remove(fsck_run *r, const char *rel);
/* Deep check: the file parses and holds SOPInstanceUID sop (else why). */
bool fsck_matches(const char *full, const char *sop, char *why, size_t cap);

/* Each finding, reported and (with --repair, out of running sessions)
 * repaired: */
void fsck_orphan(fsck_run *r, const char *rel);
void fsck_missing(fsck_run *r, fsck_session *s, fsck_row *row);
void fsck_bad_size(fsck_run *r, fsck_session *s, fsck_row *row, int64_t size, const char *detail);
void fsck_mismatch(fsck_run *r, fsck_session *s, fsck_row *row, const char *detail);
/* After the session: its import queued again when the repair dropped rows
 * while some of its files remain. */
void fsck_requeue(fsck_run *r, fsck_session *s);

#endif

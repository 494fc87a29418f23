/* job.h — one import session while it runs (ARCHITECTURE.md sections 1
 * and 2). A queue row (import_sessions) is one requested session; while it
 * runs, a gw_job in memory holds what the receiver needs to route and
 * de-identify its instances; nothing about it is written before the
 * de-identified result. Loaded, freed and flushed by transfer.c. */
#ifndef DQR_GW_JOB_H
#define DQR_GW_JOB_H

#include "gateway/import/deid.h"
#include "gateway/import/pixel_clean.h"
#include "gateway/import/pixel_verify.h"
#include "gateway/pacs/pacs.h"

/* One series of a running session as the PACS's C-FIND described it
 * (gateway/import/quirks.h): what to wait for, and what came. */
typedef struct gw_series_want {
    char uid[65], number[16], modality[17];
    int expected;       /* the C-FIND's count; -1: the PACS did not say */
    atomic_int arrived; /* distinct instances of it past object-identifier (receiver) */
    json_t *seen;       /* their SOPInstanceUIDs, as keys (under the job's lock; memory only) */
} gw_series_want;

typedef struct gw_job {
    int64_t id, request_id, pacs_id;
    char project[65], subject[65], session[65], study_uid[65];
    json_t *series;    /* SeriesInstanceUIDs to take, or NULL for the whole study */
    json_t *overrides; /* remapped field keyword -> value, or NULL */
    uint16_t msgid;    /* our C-MOVE's message id (Move Originator Message ID) */
    char move_aet[17]; /* our calling AE in that C-MOVE (Move Originator AE) */
    gw_deid deid;         /* its session's variables persist across instances, as in XNAT */
    gw_pixel_rules pixel_rules; /* the site's and the project's pixel-cleaning rules */
    pthread_mutex_t lock; /* one instance at a time through deid */
    atomic_int received, archived, rejected, failed, warned;
    atomic_int frames_checked, frames_masked, frames_refused; /* burned-in text check (import/pixel_verify.c) */
    atomic_llong bytes;
    char *orig_sealed; /* the first instance's PatientName, PatientID, AccessionNumber, sealed */
    char error[256];   /* the last instance failure (never a DICOM value) */
    atomic_bool cancel;
    int refs;          /* receiver threads inside the job (under gw's jobs_lock) */
    bool foreign;      /* claimed by another node; its instances reached this node's receiver */
    bool orig_saved;   /* foreign: the sealed originals are in the catalog */
    time_t last_seen;  /* foreign: when an instance last came (jobs_lock) */
    pthread_mutex_t flush_lock;
    int64_t flushed[9]; /* counts already added to the catalog: received .. bytes, frames_* */
    int pending;       /* instances handed to the pool, not yet through (same lock) */
    pthread_mutex_t dir_lock;
    char last_dir[4096]; /* the series folder made last: most instances need no mkdir */
    /* returning patients (import/registry.h): the first instance looks the patient up (under lock) */
    bool reg_checked, reg_bound;
    char reg_key[65];      /* the patient's keyed hash; "" without a PatientID */
    char *reg_sealed;      /* its originals and date offset, sealed, bound once an instance is archived */
    char reg_refusal[256]; /* why this session's instances are not archived; "" when they are */
    gw_series_want *want; /* the study's series (transfer.c sets it before the first C-MOVE), or NULL */
    size_t nwant;
    atomic_llong last_arrival; /* gw_clock_ms of the last instance that came */
    char first_patient[65];    /* the first instance's PatientID (under lock; memory only) */
    atomic_bool mixed;         /* refused: an instance carried another PatientID (mixed_patient_policy) */
    /* called with each instance archived (de-identified), on the thread
     * that processed it; STOW-RS lists what it stored. NULL: none */
    void (*on_archived)(void *ctx, const dcm_dataset *ds);
    void *on_archived_ctx;
    bool any_study;    /* STOW-RS: each instance's own study is the session's */
    struct gw_job *next;
} gw_job;

/* Build the job for queue row id (scripts compiled, engine ready). */
gw_job *gw_job_load(gw *g, int64_t id, dqr_error *err);
void gw_job_free(gw_job *j);
/* Add to the session's catalog counts what this node counted since the last
 * flush (increments: several nodes may count one session). */
void gw_job_flush(gw *g, gw_job *j);

/* keyword is one of the six fields XNAT's remapping touches (PatientID,
 * PatientName, StudyID, AccessionNumber, StudyDate, PatientBirthDate): the
 * only ones a request's overrides may set. */
bool gw_remappable(const char *keyword);

#endif

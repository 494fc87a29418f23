/* import.h — the import pipeline (ARCHITECTURE.md sections 1 and 2): the
 * durable queue and its scheduler, the transfer of one session (C-MOVE to
 * dqr's receiver, or C-GET), and the per-instance steps, in memory and in
 * XNAT's order: update-request, object-identifier, remap, site script,
 * project script, verify, archive.
 *
 * A queue row (import_sessions) is one requested session. While it runs,
 * a gw_job in memory holds what the receiver needs to route and
 * de-identify its instances; nothing about it is written before the
 * de-identified result.
 */
#ifndef DQR_GW_IMPORT_H
#define DQR_GW_IMPORT_H

#include "gateway/deid.h"
#include "gateway/pacs.h"

typedef struct gw_job {
    int64_t id, request_id, pacs_id;
    char project[65], subject[65], session[65], study_uid[65];
    json_t *series;    /* SeriesInstanceUIDs to take, or NULL for the whole study */
    json_t *overrides; /* remapped field keyword -> value, or NULL */
    uint16_t msgid;    /* our C-MOVE's message id (Move Originator Message ID) */
    char move_aet[17]; /* our calling AE in that C-MOVE (Move Originator AE) */
    gw_deid deid;         /* its session's variables persist across instances, as in XNAT */
    pthread_mutex_t lock; /* one instance at a time through deid */
    atomic_int received, archived, rejected, failed, warned;
    atomic_llong bytes;
    char *orig_sealed; /* the first instance's PatientName, PatientID, AccessionNumber, sealed */
    char error[256];   /* the last instance failure (never a DICOM value) */
    atomic_bool cancel;
    int refs;          /* receiver threads inside the job (under gw's jobs_lock) */
    bool foreign;      /* claimed by another node; its instances reached this node's receiver */
    bool orig_saved;   /* foreign: the sealed originals are in the catalog */
    time_t last_seen;  /* foreign: when an instance last came (jobs_lock) */
    pthread_mutex_t flush_lock;
    int64_t flushed[6]; /* counts already added to the catalog: received .. bytes */
    int pending;       /* instances handed to the pool, not yet through (same lock) */
    pthread_mutex_t dir_lock;
    char last_dir[4096]; /* the series folder made last: most instances need no mkdir */
    struct gw_job *next;
} gw_job;

/* Start the receiver(s) and the scheduler; requeue what a crash left
 * running. Stop cancels running transfers (they resume at the next start). */
dqr_status gw_import_start(gw *g, dqr_error *err);
void gw_import_stop(gw *g);
/* The AE title names one of dqr's running receivers. */
bool gw_receiver_known(const gw *g, const char *aet);
/* Forget foreign jobs whose session is over or idle (scheduler tick), or
 * all of them (at stop). */
void gw_foreign_sweep(gw *g, bool all);
/* Wake the scheduler now (a request was queued, cancelled or retried). */
void gw_import_wake(gw *g);
/* Ask the running transfer of session id (if any) to stop: cancelled. */
void gw_import_cancel(gw *g, int64_t session_id);

/* Build the job for queue row id (scripts compiled, engine ready). */
gw_job *gw_job_load(gw *g, int64_t id, dqr_error *err);
void gw_job_free(gw_job *j);

/* Run one claimed session to its end state; *ms gets the transfer time. */
void gw_job_run(gw *g, int64_t id, long *ms);

/* pool.c: the instance workers (answer on receipt, process in parallel). */
gw_pool *gw_pool_start(gw *g, int threads, dqr_error *err);
/* Drains what is queued, then stops the threads. */
void gw_pool_stop(gw_pool *pool);
/* Queue a copy of the instance for j; false when out of memory. */
bool gw_pool_submit(gw_pool *pool, gw_job *j, const uint8_t *data, size_t len);

/* wado.c: retrieve j's study (or chosen series) from DICOMweb PACS p by
 * WADO-RS into the pool; *expected grows by the instances received. */
dqr_status gw_wado_retrieve(gw *g, gw_job *j, const gw_pacs *p, int *expected, dqr_error *err);

/* The per-instance pipeline for a Part 10 stream in memory: returns the
 * C-STORE status to answer. */
uint16_t gw_job_instance(gw *g, gw_job *j, const uint8_t *data, size_t len);
/* Add to the session's catalog counts what this node counted since the last
 * flush (increments: several nodes may count one session). */
void gw_job_flush(gw *g, gw_job *j);

/* The storage SCP callback: route to a job, else refuse or quarantine. */
uint16_t gw_receive(void *ctx, const struct net_received *r);
/* The receivers' accept callback (net_accept_fn): registered PACS only;
 * a refusal is logged and audited. */
bool gw_accept_peer(void *ctx, const char *calling_aet, const char *addr, char *why, size_t cap);

/* archive.c: where an instance of the archive lives; false if a label or
 * UID would escape the folder. */
bool gw_archive_path(const gw *g, const char *project, const char *subject, const char *session, const char *series,
                     const char *sop, char *out, size_t cap);
/* The reason in a failed archive write's message, after the file's paths
 * ("write failed: No space left on device", "rename: Input/output error"):
 * the paths are long and the session's error short. */
const char *gw_archive_reason(const char *message);

/* keyword is one of the six fields XNAT's remapping touches (PatientID,
 * PatientName, StudyID, AccessionNumber, StudyDate, PatientBirthDate): the
 * only ones a request's overrides may set. */
bool gw_remappable(const char *keyword);

/* Labels: 1 to 64 letters, digits, _ or - (they become folder names). */
bool gw_label_ok(const char *s);

#endif

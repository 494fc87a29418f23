/* query.h — searching a PACS: the keys of the XNAT DQR search form (by
 * DICOM keyword) to a C-FIND identifier, and the matches back as flat JSON
 * objects keyed by keyword. Results stay in memory; only counts and sealed
 * keys reach the catalog (api_query.c). */
#ifndef DQR_GW_QUERY_H
#define DQR_GW_QUERY_H

#include "gateway/pacs/pacs.h"

/* The identifier for level (PATIENT, STUDY or SERIES) from keys (a JSON
 * object of keyword -> string), with the level's usual return keys added.
 * At STUDY level, Modality means ModalitiesInStudy (as in the DQR form);
 * SERIES level needs StudyInstanceUID. NULL with err (DQR_E_USAGE) naming
 * the bad key. Pure: no network. */
dcm_dataset *gw_query_identifier(const char *level, const json_t *keys, dqr_error *err);

typedef struct gw_query_result {
    json_t *results;   /* array of objects (owned by the caller after the call) */
    bool truncated;    /* fewer results than the PACS has */
    char message[256]; /* why, when truncated */
    uint16_t status;   /* final C-FIND status */
    bool lost;         /* the association is not fit for another query (it failed, or a C-CANCEL was sent) */
} gw_query_result;

/* Level index: 0 PATIENT, 1 STUDY, 2 SERIES, -1 other. */
int gw_query_level(const char *level);
/* The attributes level asks for besides the keys (NULL-terminated). */
const char *const *gw_query_return_keys(int level);
/* The attribute a search key means at level (Modality at STUDY level is
 * ModalitiesInStudy, as in the DQR form). */
const char *gw_query_key(int level, const char *key);

/* Run the query on p, keeping at most max results: C-FIND (then C-CANCEL)
 * for a DIMSE PACS, QIDO-RS for a DICOMweb one. */
dqr_status gw_query_run(gw *g, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                        gw_query_result *out, dqr_error *err);

/* The association gw_query_on asks level's queries on (C-FIND model). */
net_assoc *gw_query_connect(gw *g, const gw_pacs *p, const char *level, dqr_error *err);

/* One C-FIND on a (DIMSE PACS only), so that many queries can share one
 * association; out->lost says when a must not be asked again. */
dqr_status gw_query_on(net_assoc *a, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                       gw_query_result *out, dqr_error *err);

/* The query history's row of one query for user: qr NULL when it failed
 * (err says why). Counts in clear, the keys sealed. */
void gw_query_record(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys,
                     const gw_query_result *qr, long ms, const dqr_error *err);

/* gw_query_run for user, recorded in the query history (counts in clear,
 * the keys sealed) whether it succeeds or not; *ms gets its duration. */
dqr_status gw_query_recorded(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                             gw_query_result *out, long *ms, dqr_error *err);

/* One query of a batch: keys in (borrowed), the rest out. Zero it first. */
typedef struct gw_query_job {
    const json_t *keys;
    gw_query_result result; /* result.results owned by the caller after the batch */
    dqr_status status;
    dqr_error err;
    long ms;
} gw_query_job;

/* The n queries of jobs at level on p for user, each recorded as
 * gw_query_recorded does, at most max results each: over as many
 * associations at once as p's window has threads now (shared with p's
 * running imports; one when they hold them all), each asking many queries
 * in turn. Once a connection fails, the queries not yet asked fail with
 * its reason. Returns when all are answered. */
void gw_query_batch(gw *g, int64_t user, const gw_pacs *p, const char *level, gw_query_job *jobs, size_t n,
                    size_t max);

#endif

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

/* gw_query_run for user, recorded in the query history (counts in clear,
 * the keys sealed) whether it succeeds or not; *ms gets its duration. */
dqr_status gw_query_recorded(gw *g, int64_t user, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                             gw_query_result *out, long *ms, dqr_error *err);

#endif

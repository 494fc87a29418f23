/* quirks.h — what dqr does about PACS that misbehave (docs/import.md, "PACS
 * that misbehave"): the study's series and their instance counts asked by
 * C-FIND before the retrieve (lower levels when the PACS leaves counts
 * out), each arriving instance counted per series, the PatientIDs of one
 * study compared, and what is still short named for the history — by
 * series number and modality, never a UID or a patient's value. */
#ifndef DQR_GW_IMPORT_QUIRKS_H
#define DQR_GW_IMPORT_QUIRKS_H

#include "gateway/import/job.h"

/* Fill j->want with j's series (the chosen ones, or the study's) and their
 * counts: NumberOfSeriesRelatedInstances, or when the PACS leaves it out an
 * IMAGE-level C-FIND's matches, or -1 (unknown). *unknown gets how many
 * series stayed unknown, *counted how many needed the IMAGE-level find.
 * Fails (j->want stays NULL) when the PACS answers no SERIES-level C-FIND. */
dqr_status gw_series_plan(gw *g, const gw_pacs *p, gw_job *j, int *unknown, int *counted, dqr_error *err);

/* The SOPInstanceUIDs of series i of j (IMAGE-level C-FIND), for an
 * IMAGE-level C-MOVE; a new JSON array of strings, or NULL with err. */
json_t *gw_series_instances(gw *g, const gw_pacs *p, const gw_job *j, size_t i, dqr_error *err);

/* Free j->want (and the UIDs its series saw). */
void gw_series_free(gw_job *j);
/* Series i of j is asked again whole: what it saw is forgotten. */
void gw_series_forget(gw_job *j, size_t i);
/* Instance sop of series i of j has come already. */
bool gw_series_has(gw_job *j, size_t i, const char *sop);

/* The receiver's check of an instance ds of j past object-identifier:
 * counted for its series, and its PatientID compared with the first
 * instance's. False when it differs and mixed_patient_policy is refuse
 * (j->mixed is then set: the transfer stops and nothing is kept). */
bool gw_job_arrived(gw *g, gw_job *j, const dcm_dataset *ds);

/* Wait until every series of j with a count has it, or no instance came
 * for idle_s seconds and none is waiting in the pool, or stop(ctx). True
 * when none is short. */
bool gw_wait_for_counts(gw *g, gw_job *j, int idle_s, bool (*stop)(const void *ctx), const void *ctx);

/* The series of j still short of their count (indexes into j->want) into
 * idx (cap entries); returns how many. */
size_t gw_short_series(const gw_job *j, size_t *idx, size_t cap);

/* The short series as JSON, [{"series_number", "modality", "expected",
 * "arrived"}] (new reference; NULL when none), and as a sentence into out
 * ("3 of 10 instances missing: series 2 (CT) 2 of 5, ..."). */
json_t *gw_missing_json(const gw_job *j);
void gw_missing_text(const gw_job *j, char *out, size_t cap);

/* Remove what session id archived (files and index rows): a study refused
 * for mixed PatientIDs leaves nothing. */
void gw_job_discard(gw *g, int64_t id);

#endif

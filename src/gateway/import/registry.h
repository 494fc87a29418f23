/* registry.h — returning patients: per project, a pseudonym registry that
 * maps a keyed hash of a patient's original IssuerOfPatientID and
 * PatientID to the subject label the patient was first archived under, so
 * that a new import of the same patient is offered that label and refused
 * a different one unless forced; and, when the project shifts dates per
 * patient, the patient's date offset. The hash (store_vault_tag, keyed by
 * the site's vault key) is the lookup; the originals and the offset are
 * kept only sealed (subject_registry.orig_enc), for the re-identification
 * export that admins with the phi permission may take (docs/import.md,
 * "Returning patients"). */
#ifndef DQR_GW_IMPORT_REGISTRY_H
#define DQR_GW_IMPORT_REGISTRY_H

#include "gateway/import/job.h"

/* The lookup key of a patient in project into key[65]: "" when patient_id
 * is empty or NULL (a patient without an id is never registered). */
void gw_registry_key(gw *g, const char *project, const char *issuer, const char *patient_id, char key[65]);

/* Whether project refuses labels its registry disagrees with (its
 * returning_patients policy is 'enforce', a new project's default since
 * migration 15; 'propose' only names them). */
bool gw_registry_enforced(gw *g, const char *project);

/* Whether importing the patient of key under subject contradicts the
 * registry of project: the patient is known under another label, or the
 * label belongs to another patient. *known gets the patient's label ("" if
 * unknown); msg the sentence (no PHI) when true. */
bool gw_registry_conflict(gw *g, const char *project, const char *key, const char *subject, char known[65], char *msg,
                          size_t len);

/* Set row["known_subject"] when the registry of project knows the patient
 * of row's PatientID (and IssuerOfPatientID). With subject (may be NULL),
 * returns true and fills msg when that label contradicts the registry. */
bool gw_registry_annotate(gw *g, const char *project, json_t *row, const char *subject, char *msg, size_t len);

/* gw_registry_annotate (no subject) of every answer of results; true. */
bool gw_registry_annotate_all(gw *g, const char *project, json_t *results);

/* One study a CSV row matched (m, a query answer) for subject: study
 * (what will be queued) gets m's original PatientID and issuer, so that the
 * request is checked; shown gets "known_subject" and, when subject
 * contradicts the registry, "conflict" (the sentence). Returns whether
 * there is a conflict that refuses the row: the project enforces its
 * registry and force is not given. */
bool gw_registry_csv_match(gw *g, const char *project, const json_t *m, const char *subject, json_t *study,
                           json_t *shown, bool force);

/* The registry checks of an import request (studies carrying the original
 * "PatientID" and "IssuerOfPatientID" of their query answers): against the
 * registry and within the request. A conflict answers 409 {"error",
 * "known_subject", "subject", "session"} and returns false, unless force,
 * when each forced study is audited (subject_label_forced) and true is
 * returned. Nothing is checked unless the project enforces its registry. */
bool gw_registry_check_request(gw_req *r, const char *project, const json_t *studies, bool force);

/* Receiver hooks, called under j->lock. At the first instance of a session
 * (ds as received, before remapping): look the patient up, refuse the
 * session's instances when the label contradicts the registry of a project
 * that enforces it and the session was not forced (j->reg_refusal), and set the script variable
 * subject_date_shift when the project shifts dates per patient. */
void gw_registry_session_start(gw *g, gw_job *j, const dcm_dataset *ds);
/* After an instance of j was archived: bind the patient to j's label (the
 * first label stays; a failed import that archived nothing binds none). */
void gw_registry_bind(gw *g, gw_job *j);

/* The project's per-patient date shift range in days: false when off. */
bool gw_registry_shift_range(gw *g, const char *project, int64_t *min_days, int64_t *max_days);

#endif

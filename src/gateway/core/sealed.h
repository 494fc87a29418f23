/* sealed.h — what an import request keeps of the original study: its
 * StudyInstanceUID, chosen series and remapping overrides (which may hold a
 * birth date) reach the catalog only sealed (import_sessions.study_enc),
 * with a keyed hash of the StudyInstanceUID (study_key) for lookups. */
#ifndef DQR_GW_SEALED_H
#define DQR_GW_SEALED_H

#include "dicom/dicom.h"
#include "gateway/internal.h"

/* The lookup key of a StudyInstanceUID into key[65]. */
void gw_study_key(gw *g, const char *study_uid, char key[65]);
/* Seal a session's study, series (array or NULL) and overrides (object or
 * NULL): a new string the caller frees, NULL when out of memory. */
char *gw_study_seal(gw *g, const char *study_uid, const json_t *series, const json_t *overrides);
/* Open what gw_study_seal made: study_uid[65], *series and *overrides (new
 * references or NULL; either pointer may be NULL when not wanted). */
dqr_status gw_study_unseal(gw *g, const char *sealed, char study_uid[65], json_t **series, json_t **overrides,
                           dqr_error *err);
/* At start: seal the clear study_uid, series and overrides a catalog from
 * before migration 6 holds, and blank them. */
dqr_status gw_study_seal_clear(gw *g, dqr_error *err);

/* Seal len bytes with the vault into DATA_DIR/quarantine/NAME.sealed (a new
 * random NAME, 24 hex digits, in name); false when it cannot be written. */
bool gw_quarantine_seal(gw *g, const uint8_t *data, size_t len, char name[25]);

/* gw_quarantine_seal of f as a Part 10 stream. */
dqr_status gw_quarantine_seal_file(gw *g, const dcm_file *f, char name[25], dqr_error *err);

#endif

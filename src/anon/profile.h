/* profile.h — the built-in PS3.15 Annex E profiles. Internal. */
#ifndef DQR_ANON_PROFILE_H
#define DQR_ANON_PROFILE_H

#include "anon/annex_e_table.h"
#include "anon/engine.h"

/* The action dqr takes for one attribute. */
typedef enum anon_action {
    ACT_NONE = 0, /* not in the table: keep */
    ACT_X,        /* remove */
    ACT_Z,        /* empty value */
    ACT_D,        /* dummy value */
    ACT_K,        /* keep */
    ACT_C,        /* clean */
    ACT_U         /* replace UID consistently */
} anon_action;

/* "basic,retain-uids" for the method record. */
const char *anon_profile_name(const anon_profile *p);
/* Append the profile's codes (PS3.16 CID 7050) to DeidentificationMethodCodeSequence. */
dqr_status anon_profile_record(const anon_profile *p, dcm_element *seq, dqr_error *err);
/* The action for a tag under p (private tags: odd groups). */
anon_action anon_profile_action(const anon_profile *p, uint32_t tag);
/* The action code a table row resolves to under the enabled options. */
anon_action anon_row_action(const anon_annex_e_row *row, const bool opt[ANON_OPT_COUNT]);
/* The row for a tag, or NULL (exact rows by binary search, then masked rows). */
const anon_annex_e_row *anon_annex_e_find(uint32_t tag);
/* Is option opt (enum anon_annex_e_option) enabled? */
bool anon_profile_has(const anon_profile *p, int opt);
/* Option name ("retain-uids") of an option index. */
const char *anon_option_name(int opt);

/* ---- Retain Safe Private (safe_private.c) ---- */

/* A site file of extra safe private attributes (format in safe_private.c
 * and docs/deidentification.md). */
typedef struct anon_safe_list anon_safe_list;
/* Load path; NULL with err filled (file:line for a bad line). Caller frees. */
anon_safe_list *anon_safe_list_load(const char *path, dqr_error *err);
void anon_safe_list_free(anon_safe_list *l);
/* The site list a profile holds, or NULL. */
const anon_safe_list *anon_profile_safe_list(const anon_profile *p);
/* Why tag, a private data element (gggg,xxEE) of ds, is safe to keep: the
 * Table E.3.10-1 row or the site file line, written into buf; NULL if it is
 * not safe (or has no creator). site may be NULL. */
const char *anon_safe_private_why(const anon_safe_list *site, const dcm_dataset *ds, uint32_t tag, char *buf,
                                  size_t cap);

#endif

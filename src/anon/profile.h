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

#endif

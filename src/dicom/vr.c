/* vr.c — Value Representation properties, one table indexed by dcm_vr. */
#include "dicom/vr.h"

struct vr_info {
    char name[3];
    unsigned char long_header, string, charset, single, unit;
};

static const struct vr_info VR_INFO[DCM_VR_COUNT] = {
    [DCM_VR_NONE] = {"??", 1, 0, 0, 0, 1},
    [DCM_VR_AE] = {"AE", 0, 1, 0, 0, 1}, [DCM_VR_AS] = {"AS", 0, 1, 0, 0, 1},
    [DCM_VR_AT] = {"AT", 0, 0, 0, 0, 2}, [DCM_VR_CS] = {"CS", 0, 1, 0, 0, 1},
    [DCM_VR_DA] = {"DA", 0, 1, 0, 0, 1}, [DCM_VR_DS] = {"DS", 0, 1, 0, 0, 1},
    [DCM_VR_DT] = {"DT", 0, 1, 0, 0, 1}, [DCM_VR_FD] = {"FD", 0, 0, 0, 0, 8},
    [DCM_VR_FL] = {"FL", 0, 0, 0, 0, 4}, [DCM_VR_IS] = {"IS", 0, 1, 0, 0, 1},
    [DCM_VR_LO] = {"LO", 0, 1, 1, 0, 1}, [DCM_VR_LT] = {"LT", 0, 1, 1, 1, 1},
    [DCM_VR_OB] = {"OB", 1, 0, 0, 0, 1}, [DCM_VR_OD] = {"OD", 1, 0, 0, 0, 8},
    [DCM_VR_OF] = {"OF", 1, 0, 0, 0, 4}, [DCM_VR_OL] = {"OL", 1, 0, 0, 0, 4},
    [DCM_VR_OV] = {"OV", 1, 0, 0, 0, 8}, [DCM_VR_OW] = {"OW", 1, 0, 0, 0, 2},
    [DCM_VR_PN] = {"PN", 0, 1, 1, 0, 1}, [DCM_VR_SH] = {"SH", 0, 1, 1, 0, 1},
    [DCM_VR_SL] = {"SL", 0, 0, 0, 0, 4}, [DCM_VR_SQ] = {"SQ", 1, 0, 0, 0, 1},
    [DCM_VR_SS] = {"SS", 0, 0, 0, 0, 2}, [DCM_VR_ST] = {"ST", 0, 1, 1, 1, 1},
    [DCM_VR_SV] = {"SV", 1, 0, 0, 0, 8}, [DCM_VR_TM] = {"TM", 0, 1, 0, 0, 1},
    [DCM_VR_UC] = {"UC", 1, 1, 1, 0, 1}, [DCM_VR_UI] = {"UI", 0, 1, 0, 0, 1},
    [DCM_VR_UL] = {"UL", 0, 0, 0, 0, 4}, [DCM_VR_UN] = {"UN", 1, 0, 0, 0, 1},
    [DCM_VR_UR] = {"UR", 1, 1, 0, 1, 1}, [DCM_VR_US] = {"US", 0, 0, 0, 0, 2},
    [DCM_VR_UT] = {"UT", 1, 1, 1, 1, 1}, [DCM_VR_UV] = {"UV", 1, 0, 0, 0, 8},
};

static const struct vr_info *info(dcm_vr vr)
{
    return (unsigned)vr < DCM_VR_COUNT ? &VR_INFO[vr] : &VR_INFO[DCM_VR_NONE];
}

const char *dcm_vr_str(dcm_vr vr) { return info(vr)->name; }
bool dcm_vr_long_header(dcm_vr vr) { return info(vr)->long_header; }
bool dcm_vr_is_string(dcm_vr vr) { return info(vr)->string; }
bool dcm_vr_uses_charset(dcm_vr vr) { return info(vr)->charset; }
bool dcm_vr_single_valued(dcm_vr vr) { return info(vr)->single; }
size_t dcm_vr_swap_unit(dcm_vr vr) { return info(vr)->unit; }

char dcm_vr_pad(dcm_vr vr)
{
    return (dcm_vr_is_string(vr) && vr != DCM_VR_UI) ? ' ' : '\0';
}

dcm_vr dcm_vr_from_chars(char a, char b)
{
    /* Lookup by name; the table is tiny and this is off the per-byte path. */
    for (int v = DCM_VR_AE; v < DCM_VR_COUNT; v++)
        if (VR_INFO[v].name[0] == a && VR_INFO[v].name[1] == b)
            return (dcm_vr)v;
    return DCM_VR_NONE;
}

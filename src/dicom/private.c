/* private.c — private blocks: find, name and reserve (gggg,00xx) creators. */
#include "dicom/internal.h"

#include <string.h>

static bool creator_is(const dcm_dataset *ds, uint32_t creator_tag, const char *name)
{
    char buf[80];
    return dcm_dataset_get_string(ds, creator_tag, buf, sizeof buf) && strcmp(buf, name) == 0;
}

uint32_t dcm_private_tag(const dcm_dataset *ds, uint16_t group, const char *creator,
                         uint8_t offset)
{
    if (!(group & 1))
        return 0;
    for (uint16_t block = 0x10; block <= 0xFF; block++)
        if (creator_is(ds, DCM_TAG(group, block), creator))
            return DCM_TAG(group, (uint16_t)(block << 8 | offset));
    return 0;
}

char *dcm_private_creator(const dcm_dataset *ds, uint32_t tag, char *buf, size_t bufsize)
{
    uint16_t group = DCM_GROUP(tag), elem = DCM_ELEM(tag);
    if (!(group & 1) || elem < 0x1000)
        return NULL;
    return dcm_dataset_get_string(ds, DCM_TAG(group, elem >> 8), buf, bufsize);
}

uint32_t dcm_private_reserve(dcm_dataset *ds, uint16_t group, const char *creator, uint8_t offset,
                             dqr_error *err)
{
    if (!(group & 1)) {
        dqr_error_set(err, DQR_E_USAGE, "group %04X is not private (odd)", group);
        return 0;
    }
    uint32_t tag = dcm_private_tag(ds, group, creator, offset);
    if (tag)
        return tag;
    for (uint16_t block = 0x10; block <= 0xFF; block++) {
        if (dcm_dataset_get(ds, DCM_TAG(group, block)))
            continue;
        if (!dcm_dataset_set_string(ds, DCM_TAG(group, block), DCM_VR_LO, creator, err))
            return 0;
        return DCM_TAG(group, (uint16_t)(block << 8 | offset));
    }
    dqr_error_set(err, DQR_E_LIMIT, "no free private block in group %04X", group);
    return 0;
}

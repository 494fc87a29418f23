/* info.c — the Image Pixel module read into a px_info, and frame sizes.
 *
 * Every decoder sizes its output from here, so a frame that claims more
 * pixels than its attributes describe is refused in one place.
 */
#include <string.h>

#include "pixel/pixel.h"
#include "pixel/pixel_internal.h"

static const char *const photometric_names[] = {
    [PX_MONOCHROME1] = "MONOCHROME1", [PX_MONOCHROME2] = "MONOCHROME2",
    [PX_RGB] = "RGB",                 [PX_YBR_FULL] = "YBR_FULL",
    [PX_YBR_FULL_422] = "YBR_FULL_422", [PX_PALETTE_COLOR] = "PALETTE COLOR",
    [PX_YBR_RCT] = "YBR_RCT",         [PX_YBR_ICT] = "YBR_ICT",
};

const char *px_photometric_name(px_photometric p)
{
    return (unsigned)p < sizeof photometric_names / sizeof *photometric_names ? photometric_names[p]
                                                                              : "?";
}

size_t px_frame_size(const px_info *info)
{
    return (size_t)info->rows * info->columns * info->samples * (info->bits_allocated / 8u);
}

static dqr_status need_int(const dcm_dataset *ds, uint16_t elem, const char *name, long *out,
                           dqr_error *err)
{
    if (!dcm_dataset_get_int(ds, DCM_TAG(0x0028, elem), out))
        return dqr_error_set(err, DQR_E_PARSE, "(0028,%04X) %s is missing", elem, name);
    return DQR_OK;
}

static dqr_status read_photometric(const dcm_dataset *ds, px_info *info, dqr_error *err)
{
    char pi[32];
    if (!dcm_dataset_get_string(ds, DCM_TAG(0x0028, 0x0004), pi, sizeof pi))
        return dqr_error_set(err, DQR_E_PARSE, "(0028,0004) Photometric Interpretation is missing");
    for (size_t i = 0; i < sizeof photometric_names / sizeof *photometric_names; i++)
        if (strcmp(pi, photometric_names[i]) == 0) {
            info->photometric = (px_photometric)i;
            return DQR_OK;
        }
    return dqr_error_set(err, DQR_E_UNSUPPORTED,
                         "photometric interpretation \"%s\" cannot be decoded", pi);
}

dqr_status px_info_read(const dcm_dataset *ds, px_info *info, dqr_error *err)
{
    long rows, cols, spp, alloc, stored, high = -1, rep = 0, planar = 0, frames = 1;
    dqr_status st;
    memset(info, 0, sizeof *info);
    if ((st = need_int(ds, 0x0010, "Rows", &rows, err)) || (st = need_int(ds, 0x0011, "Columns", &cols, err)) ||
        (st = need_int(ds, 0x0100, "Bits Allocated", &alloc, err)) || (st = read_photometric(ds, info, err)))
        return st;
    if (!dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0002), &spp))
        spp = 1;
    if (!dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0101), &stored))
        stored = alloc;
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0102), &high);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0103), &rep);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0006), &planar);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0008), &frames);
    if (rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535)
        return dqr_error_set(err, DQR_E_PARSE, "image of %ld x %ld pixels", rows, cols);
    if (alloc != 1 && alloc != 8 && alloc != 16 && alloc != 32)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "Bits Allocated %ld cannot be decoded", alloc);
    if (alloc == 1 && (spp != 1 || stored != 1))
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "Bits Allocated 1 with %ld samples of %ld bits", spp, stored);
    if (stored < 1 || stored > alloc)
        return dqr_error_set(err, DQR_E_PARSE, "Bits Stored %ld with Bits Allocated %ld", stored, alloc);
    if (spp != 1 && spp != 3)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "Samples per Pixel %ld cannot be decoded", spp);
    bool colour = info->photometric == PX_RGB || info->photometric == PX_YBR_FULL ||
                  info->photometric == PX_YBR_FULL_422 || info->photometric == PX_YBR_RCT ||
                  info->photometric == PX_YBR_ICT;
    if (colour != (spp == 3))
        return dqr_error_set(err, DQR_E_PARSE, "%s with %ld samples per pixel",
                             px_photometric_name(info->photometric), spp);
    if (frames < 1 || frames > 0x7FFFFFFF)
        frames = 1;
    info->rows = (uint32_t)rows;
    info->columns = (uint32_t)cols;
    info->samples = (uint16_t)spp;
    info->bits_allocated = (uint16_t)alloc;
    info->bits_stored = (uint16_t)stored;
    info->high_bit = (uint16_t)(high >= 0 ? high : stored - 1);
    info->is_signed = rep == 1;
    info->planar = planar == 1 && spp == 3;
    info->frames = (uint32_t)frames;
    return DQR_OK;
}

int32_t px_sample(const px_info *info, const uint8_t *frame, size_t pixel, unsigned s)
{
    size_t unit = info->bits_allocated / 8u;
    const uint8_t *p = frame + (pixel * info->samples + s) * unit;
    uint32_t v = 0;
    for (size_t b = unit; b-- > 0;)
        v = v << 8 | p[b];
    unsigned bits = info->bits_stored;
    if (bits < 32)
        v &= (1u << bits) - 1u;
    if (info->is_signed && bits < 32 && (v >> (bits - 1)) & 1u)
        v |= ~((1u << bits) - 1u);
    return (int32_t)v;
}

/* native.c — native (uncompressed) frames: stored layout to the decoded
 * layout and back (planar configuration, YBR_FULL_422 expansion).
 *
 * The codec already hands over native Pixel Data in little-endian order,
 * whichever of the four native transfer syntaxes it was read in, so only
 * the arrangement of samples differs here.
 */
#include <string.h>

#include "pixel/pixel_internal.h"

size_t px_native_stored_size(const px_info *stored)
{
    size_t unit = stored->bits_allocated / 8u;
    size_t per_pixel = stored->photometric == PX_YBR_FULL_422 ? 2 : stored->samples;
    return (size_t)stored->rows * stored->columns * per_pixel * unit;
}

void px_native_fix_words(const px_info *stored, uint8_t *buf, size_t n)
{
    for (size_t i = 0; stored->bits_allocated == 8 && i + 1 < n; i += 2) {
        uint8_t t = buf[i];
        buf[i] = buf[i + 1];
        buf[i + 1] = t;
    }
    for (size_t i = 0; stored->bits_allocated == 32 && i + 3 < n; i += 4) {
        uint8_t t[2] = {buf[i], buf[i + 1]};
        memcpy(buf + i, buf + i + 2, 2);
        memcpy(buf + i + 2, t, 2);
    }
}

/* Planar (RRR..GGG..BBB) to interleaved (RGBRGB..), or back when to_planar. */
static void reorder_planes(size_t pixels, size_t unit, const uint8_t *in, uint8_t *out,
                           bool to_planar)
{
    for (size_t i = 0; i < pixels; i++)
        for (size_t s = 0; s < 3; s++) {
            const size_t planar = (s * pixels + i) * unit, packed = (i * 3 + s) * unit;
            memcpy(out + (to_planar ? planar : packed), in + (to_planar ? packed : planar), unit);
        }
}

/* YBR_FULL_422 stores Y1 Y2 Cb Cr for each pair of pixels of a row (PS3.3
 * C.7.6.3.1.2); each pixel gets its own luma and the pair's chroma. */
static void expand_422(const px_info *stored, const uint8_t *in, uint8_t *out)
{
    size_t unit = stored->bits_allocated / 8u;
    size_t pixels = (size_t)stored->rows * stored->columns;
    for (size_t i = 0; i < pixels; i += 2) {
        const uint8_t *q = in + i * 2 * unit;
        for (size_t k = 0; k < 2 && i + k < pixels; k++) {
            uint8_t *p = out + (i + k) * 3 * unit;
            memcpy(p, q + k * unit, unit);
            memcpy(p + unit, q + 2 * unit, unit);
            memcpy(p + 2 * unit, q + 3 * unit, unit);
        }
    }
}

void px_native_decode(const px_info *stored, const uint8_t *in, uint8_t *out)
{
    size_t pixels = (size_t)stored->rows * stored->columns;
    if (stored->photometric == PX_YBR_FULL_422)
        expand_422(stored, in, out);
    else if (stored->planar == 1 && stored->samples == 3)
        reorder_planes(pixels, stored->bits_allocated / 8u, in, out, false);
    else
        memcpy(out, in, px_frame_size(stored));
}

dqr_status px_native_encode(const px_info *info, const uint8_t *frame, uint8_t *out,
                            dqr_error *err)
{
    if (info->photometric == PX_YBR_FULL_422)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "YBR_FULL_422 is not re-subsampled: write the frame as YBR_FULL");
    if (info->planar == 1 && info->samples == 3)
        reorder_planes((size_t)info->rows * info->columns, info->bits_allocated / 8u, frame, out,
                       true);
    else
        memcpy(out, frame, px_frame_size(info));
    return DQR_OK;
}

/* color.c — colour conversions on decoded frames: YBR_FULL <-> RGB
 * (PS3.3 C.7.6.3.1.2, the JFIF equations) and palette expansion.
 *
 * The conversions are for 8-bit samples, the only depth YBR is found at in
 * practice; they round to nearest and clamp, as libjpeg does.
 */
#include <math.h>

#include "pixel/pixel_internal.h"

static uint8_t clamp8(double v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lround(v);
}

void px_ybr_full_to_rgb(uint8_t *frame, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++) {
        uint8_t *p = frame + 3 * i;
        double y = p[0], cb = p[1] - 128.0, cr = p[2] - 128.0;
        p[0] = clamp8(y + 1.402 * cr);
        p[1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
        p[2] = clamp8(y + 1.772 * cb);
    }
}

void px_rgb_to_ybr_full(uint8_t *frame, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++) {
        uint8_t *p = frame + 3 * i;
        double r = p[0], g = p[1], b = p[2];
        p[0] = clamp8(0.299 * r + 0.587 * g + 0.114 * b);
        p[1] = clamp8(-0.168736 * r - 0.331264 * g + 0.5 * b + 128.0);
        p[2] = clamp8(0.5 * r - 0.418688 * g - 0.081312 * b + 128.0);
    }
}

void px_palette_to_rgb(const px_info *info, const px_palette *pal, const uint8_t *frame,
                       size_t pixels, uint16_t *rgb)
{
    for (size_t i = 0; i < pixels; i++) {
        int64_t idx = (int64_t)px_sample(info, frame, i, 0) - pal->first;
        if (idx < 0)
            idx = 0;
        if (idx >= (int64_t)pal->entries)
            idx = (int64_t)pal->entries - 1;
        for (int c = 0; c < 3; c++)
            rgb[3 * i + c] = pal->lut[c][idx];
    }
}

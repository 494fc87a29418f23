/* edit.c — lists of regions to fill in decoded frames (alterPixels, CTP
 * pixel rules, words found by OCR), and the fill itself.
 *
 * The fill works on the decoded layout of pixel.h (interleaved samples in
 * little-endian containers), so it is the same for every transfer syntax;
 * edit_write.c decodes before and encodes after.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

struct px_edit {
    px_region *r;
    size_t n, cap;
};

px_edit *px_edit_new(void) { return calloc(1, sizeof(px_edit)); }

void px_edit_free(px_edit *e)
{
    if (!e)
        return;
    free(e->r);
    free(e);
}

dqr_status px_edit_add(px_edit *e, const px_region *r, dqr_error *err)
{
    if (r->right < r->left || r->bottom < r->top)
        return dqr_error_set(err, DQR_E_USAGE, "a region's right (bottom) edge is left of (above) its left (top)");
    if (r->frame < PX_ALL_FRAMES)
        return dqr_error_set(err, DQR_E_USAGE, "a region's frame number is negative");
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        px_region *p = realloc(e->r, cap * sizeof *p);
        if (!p)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        e->r = p;
        e->cap = cap;
    }
    e->r[e->n++] = *r;
    return DQR_OK;
}

size_t px_edit_count(const px_edit *e) { return e ? e->n : 0; }

const px_region *px_edit_region(const px_edit *e, size_t i) { return i < e->n ? &e->r[i] : NULL; }

static bool fits(const px_info *info, int32_t v)
{
    int64_t lo = info->is_signed ? -(1ll << (info->bits_stored - 1)) : 0;
    int64_t hi = info->is_signed ? (1ll << (info->bits_stored - 1)) - 1 : (1ll << info->bits_stored) - 1;
    return v >= lo && v <= hi;
}

dqr_status px_edit_check(const px_edit *e, const px_info *info, dqr_error *err)
{
    for (size_t i = 0; e && i < e->n; i++) {
        const px_region *r = &e->r[i];
        if (r->rgb && info->samples != 3)
            return dqr_error_set(err, DQR_E_USAGE, "region %zu: an r,g,b fill on a %s image of one sample", i + 1,
                                 px_photometric_name(info->photometric));
        if (r->rgb && info->photometric == PX_YBR_FULL && info->bits_allocated != 8)
            return dqr_error_set(err, DQR_E_USAGE, "region %zu: an r,g,b fill on YBR_FULL samples of more than 8 bits",
                                 i + 1);
        for (int s = 0; s < (r->rgb ? 3 : 1); s++)
            if (!fits(info, r->value[s]))
                return dqr_error_set(err, DQR_E_USAGE, "region %zu: fill value %d does not fit %u-bit %s samples",
                                     i + 1, (int)r->value[s], (unsigned)info->bits_stored,
                                     info->is_signed ? "signed" : "unsigned");
    }
    return DQR_OK;
}

/* One pixel's bytes as the fill writes them: each sample's value in its
 * little-endian container (two's complement for signed values). */
static void fill_pixel(const px_info *info, const px_region *r, uint8_t *px)
{
    int32_t v[3] = {r->value[0], r->value[0], r->value[0]};
    if (r->rgb) {
        uint8_t c[3] = {(uint8_t)r->value[0], (uint8_t)r->value[1], (uint8_t)r->value[2]};
        if (info->photometric == PX_YBR_FULL)
            px_rgb_to_ybr_full(c, 1);
        for (int s = 0; s < 3; s++)
            v[s] = info->photometric == PX_YBR_FULL ? c[s] : r->value[s];
    }
    size_t unit = info->bits_allocated / 8u;
    for (unsigned s = 0; s < info->samples; s++)
        for (size_t b = 0; b < unit; b++)
            px[s * unit + b] = (uint8_t)((uint32_t)v[s] >> (8 * b));
}

static int64_t clamp(int64_t v, int64_t hi) { return v < 0 ? 0 : v > hi ? hi : v; }

size_t px_edit_frame(const px_edit *e, const px_info *info, uint32_t index, uint8_t *frame)
{
    size_t done = 0, unit = info->bits_allocated / 8u, bpp = unit * info->samples;
    for (size_t i = 0; e && i < e->n; i++) {
        const px_region *r = &e->r[i];
        if (r->frame != PX_ALL_FRAMES && r->frame != (int64_t)index)
            continue;
        int64_t l = clamp(r->left, info->columns), rt = clamp(r->right, info->columns);
        int64_t t = clamp(r->top, info->rows), b = clamp(r->bottom, info->rows);
        if (l >= rt || t >= b)
            continue;
        uint8_t px[12];
        fill_pixel(info, r, px);
        size_t row_bytes = (size_t)(rt - l) * bpp;
        uint8_t *first = frame + ((size_t)t * info->columns + (size_t)l) * bpp;
        for (size_t k = 0; k < (size_t)(rt - l); k++) /* the first row by pixel, the others by copy */
            memcpy(first + k * bpp, px, bpp);
        for (int64_t y = t + 1; y < b; y++)
            memcpy(frame + ((size_t)y * info->columns + (size_t)l) * bpp, first, row_bytes);
        done += (size_t)(rt - l) * (size_t)(b - t);
    }
    return done;
}

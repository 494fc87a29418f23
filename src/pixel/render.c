/* render.c — a decoded frame made into an 8-bit image a person (or an OCR
 * engine) can look at: grey with window/level for monochrome, RGB for
 * colour, optionally scaled down for a thumbnail.
 *
 * Monochrome follows PS3.3 C.11: the Modality LUT (Rescale Slope/Intercept)
 * first, then the linear VOI window (C.11.2.1.2.1) from the caller, else the
 * dataset's first Window Center/Width, else the frame's own min..max (so a
 * frame without a window is still fully visible), and MONOCHROME1 inverted
 * last. Colour frames are not windowed (the standard applies VOI to grey
 * only): samples deeper than 8 bits are shifted down, YBR_FULL converted and
 * palette indices expanded. Frames are read through px_sample, so every bit
 * depth and sign the decoders deliver renders the same way.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

/* The first value of a multi-valued decimal string such as "40\400". */
static bool first_ds(const dcm_dataset *ds, uint32_t tag, double *out)
{
    char buf[128], *end;
    if (!dcm_dataset_get_string(ds, tag, buf, sizeof buf))
        return false;
    double v = strtod(buf, &end);
    if (end == buf || !isfinite(v))
        return false;
    *out = v;
    return true;
}

void px_voi_read(const dcm_dataset *ds, px_voi *voi)
{
    memset(voi, 0, sizeof *voi);
    voi->slope = 1.0;
    if (!first_ds(ds, DCM_TAG(0x0028, 0x1053), &voi->slope) || voi->slope == 0.0)
        voi->slope = 1.0;
    first_ds(ds, DCM_TAG(0x0028, 0x1052), &voi->intercept);
    voi->has_window = first_ds(ds, DCM_TAG(0x0028, 0x1050), &voi->center) &&
                      first_ds(ds, DCM_TAG(0x0028, 0x1051), &voi->width) && voi->width >= 1.0;
}

static bool is_colour(px_photometric p)
{
    return p != PX_MONOCHROME1 && p != PX_MONOCHROME2;
}

/* The window for a monochrome frame: given, the dataset's, or min..max of
 * the modality values. */
static void choose_window(const px_info *info, const px_voi *voi, const uint8_t *frame,
                          const px_render_opts *opts, double *center, double *width)
{
    if (opts && opts->window && opts->width >= 1.0) {
        *center = opts->center;
        *width = opts->width;
        return;
    }
    if (voi->has_window) {
        *center = voi->center;
        *width = voi->width;
        return;
    }
    size_t n = (size_t)info->rows * info->columns;
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        int32_t v = px_sample(info, frame, i, 0);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    double a = lo * voi->slope + voi->intercept, b = hi * voi->slope + voi->intercept;
    double mn = a < b ? a : b, mx = a < b ? b : a;
    *width = mx - mn + 1.0;
    *center = mn + *width / 2.0;
}

static void render_grey(const px_info *info, const px_voi *voi, const uint8_t *frame,
                        const px_render_opts *opts, uint8_t *out)
{
    double c, w;
    choose_window(info, voi, frame, opts, &c, &w);
    double lo = c - 0.5 - (w - 1.0) / 2.0, hi = c - 0.5 + (w - 1.0) / 2.0;
    bool invert = info->photometric == PX_MONOCHROME1;
    size_t n = (size_t)info->rows * info->columns;
    for (size_t i = 0; i < n; i++) {
        double x = px_sample(info, frame, i, 0) * voi->slope + voi->intercept, y;
        if (x <= lo)
            y = 0.0;
        else if (x > hi)
            y = 255.0;
        else
            y = ((x - (c - 0.5)) / (w - 1.0 > 0.0 ? w - 1.0 : 1.0) + 0.5) * 255.0;
        uint8_t g = (uint8_t)lround(y < 0 ? 0 : y > 255 ? 255 : y);
        out[i] = invert ? (uint8_t)(255 - g) : g;
    }
}

static void render_palette(const px_info *info, const px_palette *pal, const uint8_t *frame,
                           uint16_t *rgb, uint8_t *out)
{
    size_t n = (size_t)info->rows * info->columns;
    px_palette_to_rgb(info, pal, frame, n, rgb);
    uint16_t max = 0;
    for (size_t i = 0; i < 3 * n; i++)
        max = rgb[i] > max ? rgb[i] : max;
    /* 8-bit entries hold 0..255; some writers put them in the high byte. */
    unsigned shift = pal->bits > 8 || max > 255 ? 8 : 0;
    for (size_t i = 0; i < 3 * n; i++)
        out[i] = (uint8_t)(rgb[i] >> shift);
}

static void render_colour(const px_info *info, const uint8_t *frame, uint8_t *out)
{
    size_t n = (size_t)info->rows * info->columns;
    unsigned shift = info->bits_stored > 8 ? info->bits_stored - 8u : 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned s = 0; s < 3; s++) {
            int32_t v = px_sample(info, frame, i, s);
            out[3 * i + s] = (uint8_t)(v < 0 ? 0 : (v >> shift) > 255 ? 255 : v >> shift);
        }
    if (info->photometric == PX_YBR_FULL || info->photometric == PX_YBR_FULL_422)
        px_ybr_full_to_rgb(out, n);
}

/* Area-average img down so its longer side is at most max: each output
 * pixel is the mean of the source pixels its footprint covers, which keeps
 * thin text legible where nearest-neighbour would drop strokes. */
static dqr_status downscale(px_image *img, uint32_t max, dqr_error *err)
{
    uint32_t w = img->width, h = img->height, longer = w > h ? w : h;
    if (!max || longer <= max)
        return DQR_OK;
    uint32_t dw = (uint32_t)((uint64_t)w * max / longer), dh = (uint32_t)((uint64_t)h * max / longer);
    dw = dw ? dw : 1;
    dh = dh ? dh : 1;
    unsigned ch = img->channels;
    uint8_t *dst = malloc((size_t)dw * dh * ch);
    if (!dst)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory scaling a %ux%u image", w, h);
    for (uint32_t y = 0; y < dh; y++) {
        uint32_t y0 = (uint32_t)((uint64_t)y * h / dh), y1 = (uint32_t)((uint64_t)(y + 1) * h / dh);
        for (uint32_t x = 0; x < dw; x++) {
            uint32_t x0 = (uint32_t)((uint64_t)x * w / dw), x1 = (uint32_t)((uint64_t)(x + 1) * w / dw);
            for (unsigned c = 0; c < ch; c++) {
                uint64_t sum = 0;
                for (uint32_t sy = y0; sy < y1; sy++)
                    for (uint32_t sx = x0; sx < x1; sx++)
                        sum += img->pixels[((size_t)sy * w + sx) * ch + c];
                uint64_t cnt = (uint64_t)(y1 - y0) * (x1 - x0);
                dst[((size_t)y * dw + x) * ch + c] = (uint8_t)((sum + cnt / 2) / cnt);
            }
        }
    }
    free(img->pixels);
    img->pixels = dst;
    img->width = dw;
    img->height = dh;
    return DQR_OK;
}

dqr_status px_render(const px_info *info, const px_palette *pal, const px_voi *voi,
                     const uint8_t *frame, const px_render_opts *opts, px_image *out,
                     dqr_error *err)
{
    memset(out, 0, sizeof *out);
    bool palette = info->photometric == PX_PALETTE_COLOR;
    if (palette && !pal)
        return dqr_error_set(err, DQR_E_USAGE, "a PALETTE COLOR frame needs its palette to render");
    px_voi identity = {.slope = 1.0};
    size_t n = (size_t)info->rows * info->columns;
    out->width = info->columns;
    out->height = info->rows;
    out->channels = is_colour(info->photometric) ? 3 : 1;
    out->pixels = malloc(n * out->channels);
    uint16_t *rgb = palette ? malloc(n * 3 * sizeof *rgb) : NULL;
    if (!out->pixels || (palette && !rgb)) {
        free(rgb);
        px_image_free(out);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory rendering a %ux%u frame",
                             info->columns, info->rows);
    }
    if (palette)
        render_palette(info, pal, frame, rgb, out->pixels);
    else if (out->channels == 3)
        render_colour(info, frame, out->pixels);
    else
        render_grey(info, voi ? voi : &identity, frame, opts, out->pixels);
    free(rgb);
    dqr_status st = downscale(out, opts ? opts->max_size : 0, err);
    if (st)
        px_image_free(out);
    return st;
}

dqr_status px_render_file(const dcm_file *f, uint32_t index, const px_render_opts *opts,
                          px_image *out, dqr_error *err)
{
    px_frames *it;
    const uint8_t *frame;
    px_voi voi;
    memset(out, 0, sizeof *out);
    dqr_status st = px_frames_open(f, &it, err);
    if (st)
        return st;
    st = px_frame_get(it, index, &frame, err);
    if (!st) {
        px_voi_read(dcm_file_dataset(f), &voi);
        st = px_render(px_frames_info(it), px_frames_palette(it), &voi, frame, opts, out, err);
    }
    px_frames_close(it);
    return st;
}

void px_image_free(px_image *img)
{
    if (!img)
        return;
    free(img->pixels);
    img->pixels = NULL;
    img->width = img->height = 0;
}

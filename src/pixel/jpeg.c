/* jpeg.c — JPEG Baseline (process 1) and Extended (processes 2 & 4)
 * frames decoded with libjpeg(-turbo).
 *
 * Debian's libjpeg62-turbo is built for 8-bit samples only, so 12-bit
 * Extended frames are refused with a clear error rather than misread.
 * Colour frames come out as RGB: libjpeg converts YCbCr itself, which is
 * what a viewer would show and what a mask must be drawn on.
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#include "pixel/pixel_internal.h"

/* libjpeg reports errors through a callback that must not return. */
typedef struct px_jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} px_jpeg_err;

static void on_error(j_common_ptr cinfo)
{
    px_jpeg_err *e = (px_jpeg_err *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    (void)cinfo; /* warnings (e.g. extraneous bytes) are not errors: stay silent */
    (void)level;
}

/* The sample precision from the frame header (SOFn), or -1 when there is
 * none: libjpeg only reports a 12-bit image as a failure, so look first. */
static int sof_precision(const uint8_t *in, size_t len)
{
    size_t i = 2;
    while (i + 5 <= len && in[i] == 0xFF) {
        uint8_t m = in[i + 1];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC)
            return in[i + 4];
        i += 2 + ((size_t)in[i + 2] << 8 | in[i + 3]);
    }
    return -1;
}

/* PS3.5 8.2.1: RGB means the components were compressed without a colour
 * transform. libjpeg guesses YCbCr for a JPEG with neither JFIF nor Adobe
 * marker; we override that for RGB data unless the chroma is subsampled,
 * which only YCbCr data is (GDCM writes such files labelled RGB). */
static void choose_colour_space(const px_info *info, struct jpeg_decompress_struct *c)
{
    if (c->num_components != 3)
        return;
    bool same = true;
    for (int k = 1; k < 3; k++)
        same = same && c->comp_info[k].h_samp_factor == c->comp_info[0].h_samp_factor &&
               c->comp_info[k].v_samp_factor == c->comp_info[0].v_samp_factor;
    if (info->photometric == PX_RGB && !c->saw_JFIF_marker && !c->saw_Adobe_marker && same)
        c->jpeg_color_space = JCS_RGB;
    c->out_color_space = JCS_RGB;
}

/* Check the JPEG's header against the dataset's description. */
static dqr_status check_header(const px_info *info, const struct jpeg_decompress_struct *c,
                               dqr_error *err)
{
    if (c->data_precision != 8 || info->bits_allocated != 8)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "%d-bit JPEG with Bits Allocated %u cannot be decoded (8-bit only)",
                             c->data_precision, info->bits_allocated);
    if (c->image_width != info->columns || c->image_height != info->rows ||
        c->num_components != info->samples)
        return dqr_error_set(err, DQR_E_PARSE,
                             "JPEG of %ux%u with %d components where the dataset says %ux%u with %u",
                             c->image_width, c->image_height, c->num_components, info->columns,
                             info->rows, info->samples);
    return DQR_OK;
}

dqr_status px_jpeg_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                          px_photometric *photometric, dqr_error *err)
{
    struct jpeg_decompress_struct c;
    px_jpeg_err e;
    volatile dqr_status st = DQR_OK;
    int precision = sof_precision(in, len);
    if (precision != 8 && precision != -1)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "%d-bit JPEG cannot be decoded: libjpeg here is built for 8 bits",
                             precision);
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_error;
    e.mgr.emit_message = on_message;
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&c);
        return dqr_error_set(err, DQR_E_PARSE, "JPEG: %s", e.message);
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, in, (unsigned long)len);
    jpeg_read_header(&c, TRUE);
    st = check_header(info, &c, err);
    if (!st) {
        choose_colour_space(info, &c);
        jpeg_start_decompress(&c);
        size_t stride = (size_t)info->columns * info->samples;
        while (c.output_scanline < c.output_height) {
            JSAMPROW row = out + (size_t)c.output_scanline * stride;
            jpeg_read_scanlines(&c, &row, 1);
        }
        jpeg_finish_decompress(&c);
        if (c.num_components == 3)
            *photometric = PX_RGB;
    }
    jpeg_destroy_decompress(&c);
    return st;
}

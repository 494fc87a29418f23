/* jpeg_frame.h — the JPEG (ISO 10918 DCT) frame decoder, written once
 * against whichever jpeglib.h the including file chose: jpeg.c includes
 * libjpeg-turbo's (8-bit samples), jpeg12.c GDCM's 12-bit IJG build (its
 * symbols prefixed gdcmjpeg12_). The two jpeglib.h cannot meet in one file
 * (same macros, different types), so each includes this once and gets its
 * own static jpeg_frame_decode(). Not a header for any other file.
 *
 * Errors go through the IJG error manager to a longjmp; warnings are
 * dropped (no printing from the library). Colour frames come out as RGB:
 * libjpeg converts YCbCr itself, which is what a viewer would show and
 * what a mask must be drawn on. Samples wider than 8 bits are written in
 * 16-bit little-endian containers, one row at a time from a row buffer the
 * IJG memory manager frees, so memory stays bounded by the frame.
 */
#ifndef DQR_PIXEL_JPEG_FRAME_H
#define DQR_PIXEL_JPEG_FRAME_H

#include <setjmp.h>
#include <string.h>

#include "pixel/pixel_internal.h"

#if BITS_IN_JSAMPLE == 8
#define PX_JPEG_SAMPLE_BYTES 1u
#else
#define PX_JPEG_SAMPLE_BYTES 2u
#endif

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

/* The library's default would print to stderr. */
static void on_output(j_common_ptr cinfo) { (void)cinfo; }

/* A source reading the frame from memory (IJG 6b has no jpeg_mem_src).
 * Past the end it feeds an EOI marker, as libjpeg's own sources do, so a
 * truncated frame ends in an error or a short image, never a read past. */
static void src_init(j_decompress_ptr c) { (void)c; }
static void src_term(j_decompress_ptr c) { (void)c; }

static boolean src_fill(j_decompress_ptr c)
{
    static const JOCTET eoi[2] = {0xFF, JPEG_EOI};
    c->src->next_input_byte = eoi;
    c->src->bytes_in_buffer = 2;
    return TRUE;
}

static void src_skip(j_decompress_ptr c, long n)
{
    if (n <= 0)
        return;
    if ((size_t)n > c->src->bytes_in_buffer) {
        src_fill(c);
        return;
    }
    c->src->next_input_byte += n;
    c->src->bytes_in_buffer -= (size_t)n;
}

static void src_set(j_decompress_ptr c, struct jpeg_source_mgr *src, const uint8_t *in, size_t len)
{
    src->init_source = src_init;
    src->fill_input_buffer = src_fill;
    src->skip_input_data = src_skip;
    src->resync_to_restart = jpeg_resync_to_restart;
    src->term_source = src_term;
    src->next_input_byte = in;
    src->bytes_in_buffer = len;
    c->src = src;
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
    if (c->data_precision != BITS_IN_JSAMPLE || info->bits_allocated != 8 * PX_JPEG_SAMPLE_BYTES)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "%d-bit JPEG with Bits Allocated %u cannot be decoded (%d-bit here)",
                             c->data_precision, info->bits_allocated, BITS_IN_JSAMPLE);
    if (c->image_width != info->columns || c->image_height != info->rows ||
        c->num_components != info->samples)
        return dqr_error_set(err, DQR_E_PARSE,
                             "JPEG of %ux%u with %d components where the dataset says %ux%u with %u",
                             (unsigned)c->image_width, (unsigned)c->image_height, c->num_components,
                             info->columns, info->rows, info->samples);
    return DQR_OK;
}

#if BITS_IN_JSAMPLE == 8
/* 8-bit samples are the frame's bytes: libjpeg writes the rows in place. */
static void read_rows(const px_info *info, struct jpeg_decompress_struct *c, uint8_t *out)
{
    size_t n = (size_t)info->columns * info->samples;
    while (c->output_scanline < c->output_height) {
        JSAMPROW row = out + (size_t)c->output_scanline * n;
        if (jpeg_read_scanlines(c, &row, 1) != 1)
            break; /* cannot happen with a memory source; never loop on it */
    }
}
#else
/* Wider samples (JSAMPLE a short) go through a row buffer the IJG memory
 * manager frees, to the frame's 16-bit little-endian containers. */
static void read_rows(const px_info *info, struct jpeg_decompress_struct *c, uint8_t *out)
{
    size_t n = (size_t)info->columns * info->samples;
    JSAMPARRAY buf = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE, (JDIMENSION)n, 1);
    while (c->output_scanline < c->output_height) {
        uint8_t *row = out + (size_t)c->output_scanline * n * 2;
        if (jpeg_read_scanlines(c, buf, 1) != 1)
            break;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned)GETJSAMPLE(buf[0][i]);
            row[2 * i] = (uint8_t)v;
            row[2 * i + 1] = (uint8_t)(v >> 8);
        }
    }
}
#endif

static dqr_status jpeg_frame_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                                    px_photometric *photometric, dqr_error *err)
{
    struct jpeg_decompress_struct c;
    struct jpeg_source_mgr src;
    px_jpeg_err e;
    volatile dqr_status st = DQR_OK;
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_error;
    e.mgr.emit_message = on_message;
    e.mgr.output_message = on_output;
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&c);
        return dqr_error_set(err, DQR_E_PARSE, "JPEG: %s", e.message);
    }
    jpeg_create_decompress(&c);
    src_set(&c, &src, in, len);
    jpeg_read_header(&c, TRUE);
    st = check_header(info, &c, err);
    if (!st) {
        choose_colour_space(info, &c);
        jpeg_start_decompress(&c);
        read_rows(info, &c, out);
        jpeg_finish_decompress(&c);
        if (c.num_components == 3)
            *photometric = PX_RGB;
    }
    jpeg_destroy_decompress(&c);
    return st;
}

#endif

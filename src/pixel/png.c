/* png.c — a rendered px_image encoded as PNG with libpng, to a write
 * callback (an HTTP response streams it) or to a memory buffer.
 *
 * libpng reports errors by longjmp; the jump lands in write_png only, and
 * nothing it reads after the jump was changed after setjmp, so no volatile
 * is needed. Compression level 3: previews are made on request, and level 3
 * is several times faster than zlib's default for a few percent more bytes.
 */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

typedef struct sink {
    dcm_write_fn fn;
    void *ctx;
    int failed;
    char why[200];
} sink;

static void on_write(png_structp png, png_bytep data, png_size_t len)
{
    sink *s = png_get_io_ptr(png);
    if (!s->failed && s->fn(s->ctx, data, len) != 0)
        s->failed = 1;
    if (s->failed)
        png_error(png, "the PNG write callback stopped");
}

static void on_flush(png_structp png) { (void)png; }

static void on_error(png_structp png, png_const_charp msg)
{
    sink *s = png_get_error_ptr(png);
    snprintf(s->why, sizeof s->why, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int write_rows(png_structp png, png_infop info, const px_image *img)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, img->width, img->height, 8,
                 img->channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3);
    png_write_info(png, info);
    size_t stride = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++)
        png_write_row(png, img->pixels + y * stride);
    png_write_end(png, info);
    return 0;
}

dqr_status px_png_write(const px_image *img, dcm_write_fn fn, void *ctx, dqr_error *err)
{
    if (!img || !img->pixels || !img->width || !img->height ||
        (img->channels != 1 && img->channels != 3))
        return dqr_error_set(err, DQR_E_USAGE, "no image to encode as PNG");
    sink s = {.fn = fn, .ctx = ctx};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory starting a PNG");
    }
    png_set_write_fn(png, &s, on_write, on_flush);
    int rc = write_rows(png, info, img);
    png_destroy_write_struct(&png, &info);
    if (rc == 0)
        return DQR_OK;
    if (s.failed)
        return dqr_error_set(err, DQR_E_IO, "writing the PNG stopped: the receiver refused the bytes");
    return dqr_error_set(err, DQR_E_IO, "PNG encoding failed: %s", s.why);
}

typedef struct membuf {
    uint8_t *data;
    size_t len, cap;
    bool nomem;
} membuf;

static int to_memory(void *ctx, const uint8_t *data, size_t len)
{
    membuf *m = ctx;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + len)
            cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p) {
            m->nomem = true;
            return -1;
        }
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
    return 0;
}

dqr_status px_png_encode(const px_image *img, uint8_t **out, size_t *out_len, dqr_error *err)
{
    membuf m = {0};
    *out = NULL;
    *out_len = 0;
    dqr_status st = px_png_write(img, to_memory, &m, err);
    if (st) {
        free(m.data);
        return m.nomem ? dqr_error_set(err, DQR_E_NOMEM, "out of memory encoding a PNG") : st;
    }
    *out = m.data;
    *out_len = m.len;
    return DQR_OK;
}

/* rle.c — RLE Lossless (PS3.5 Annex G), decoded and encoded by hand.
 *
 * A frame is a 64-byte header (segment count, then fifteen offsets) and one
 * PackBits segment per byte plane: for each sample, its most significant
 * byte first. Decoding writes each plane straight into its byte of the
 * interleaved little-endian output, so no plane-sized temporary is needed.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_internal.h"

#define RLE_HEADER 64u
#define RLE_MAX_SEGMENTS 15u

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* PackBits-decode in[0..len) into every stride-th byte of out (n bytes
 * wanted). Returns the number of bytes produced. A short segment leaves the
 * rest as it was (zero); a long one is cut, as other decoders do. */
static size_t unpack_segment(const uint8_t *in, size_t len, uint8_t *out, size_t n, size_t stride)
{
    size_t i = 0, o = 0;
    while (i < len && o < n) {
        int8_t c = (int8_t)in[i++];
        if (c >= 0) {
            for (size_t k = 0; k <= (size_t)c && i < len && o < n; k++)
                out[o++ * stride] = in[i++];
        } else if (c != -128) {
            if (i >= len)
                break;
            uint8_t v = in[i++];
            for (int k = 0; k < 1 - c && o < n; k++)
                out[o++ * stride] = v;
        }
    }
    return o;
}

dqr_status px_rle_decode(const px_info *info, const uint8_t *rle, size_t len, uint8_t *out,
                         dqr_error *err)
{
    size_t unit = info->bits_allocated / 8u, planes = info->samples * unit;
    size_t pixels = (size_t)info->rows * info->columns;
    if (len < RLE_HEADER)
        return dqr_error_set(err, DQR_E_PARSE, "RLE frame of %zu bytes has no 64-byte header", len);
    uint32_t nseg = le32(rle);
    if (nseg != planes)
        return dqr_error_set(err, DQR_E_PARSE, "RLE frame has %u segments where %zu are expected",
                             nseg, planes);
    memset(out, 0, px_frame_size(info));
    for (size_t s = 0; s < nseg; s++) {
        uint32_t start = le32(rle + 4 + 4 * s);
        uint32_t end = s + 1 < nseg ? le32(rle + 8 + 4 * s) : (uint32_t)len;
        if (start < RLE_HEADER || start > end || end > len)
            return dqr_error_set(err, DQR_E_PARSE, "RLE segment %zu has offsets %u..%u in %zu bytes",
                                 s + 1, start, end, len);
        /* segment s is byte (unit-1 - s%unit) of sample s/unit: MSB first */
        size_t sample = s / unit, byte = unit - 1 - s % unit;
        uint8_t *dst = out + sample * unit + byte;
        if (unpack_segment(rle + start, end - start, dst, pixels, planes) < pixels)
            return dqr_error_set(err, DQR_E_PARSE, "RLE segment %zu decodes to fewer than %zu bytes",
                                 s + 1, pixels);
    }
    return DQR_OK;
}

/* A growing output buffer for the encoder. */
typedef struct rle_buf {
    uint8_t *p;
    size_t n, cap;
} rle_buf;

static int put(rle_buf *b, const uint8_t *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

/* PackBits one row: runs of 3 or more identical bytes become replicate runs
 * (at most 128), the rest literal runs (at most 128); rows are encoded
 * separately as Annex G.3.1 requires. */
static int pack_row(rle_buf *b, const uint8_t *row, size_t n, size_t stride)
{
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && row[(i + run) * stride] == row[i * stride])
            run++;
        if (run >= 3 || (run == 2 && i + 2 == n)) {
            uint8_t hdr[2] = {(uint8_t)(int8_t)(1 - (int)run), row[i * stride]};
            if (put(b, hdr, 2))
                return -1;
            i += run;
            continue;
        }
        size_t lit = 0;
        uint8_t tmp[129];
        while (i + lit < n && lit < 128) {
            size_t k = i + lit;
            if (k + 2 < n && row[k * stride] == row[(k + 1) * stride] &&
                row[k * stride] == row[(k + 2) * stride])
                break;
            tmp[1 + lit] = row[k * stride];
            lit++;
        }
        tmp[0] = (uint8_t)(lit - 1);
        if (put(b, tmp, lit + 1))
            return -1;
        i += lit;
    }
    return 0;
}

dqr_status px_rle_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                         size_t *out_len, dqr_error *err)
{
    size_t unit = info->bits_allocated / 8u, planes = info->samples * unit;
    if (planes > RLE_MAX_SEGMENTS)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "RLE holds at most 15 byte planes, not %zu",
                             planes);
    if (info->photometric == PX_YBR_FULL_422)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "RLE of YBR_FULL_422: write the frame as YBR_FULL");
    uint8_t header[RLE_HEADER] = {0};
    rle_buf b = {0};
    if (put(&b, header, RLE_HEADER))
        goto nomem;
    header[0] = (uint8_t)planes;
    size_t row_bytes = (size_t)info->columns * planes;
    for (size_t s = 0; s < planes; s++) {
        uint32_t off = (uint32_t)b.n;
        memcpy(header + 4 + 4 * s, (uint8_t[4]){off, off >> 8, off >> 16, off >> 24}, 4);
        const uint8_t *base = frame + (s / unit) * unit + (unit - 1 - s % unit);
        for (size_t r = 0; r < info->rows; r++)
            if (pack_row(&b, base + r * row_bytes, info->columns, planes))
                goto nomem;
        if (b.n % 2 && put(&b, (const uint8_t[]){0x80}, 1)) /* -128: a no-op pad byte */
            goto nomem;
    }
    memcpy(b.p, header, RLE_HEADER);
    *out = b.p;
    *out_len = b.n;
    return DQR_OK;
nomem:
    free(b.p);
    return dqr_error_set(err, DQR_E_NOMEM, "out of memory encoding an RLE frame");
}

/* jpeg_lossless_enc.c — JPEG Lossless, Non-Hierarchical (process 14, ISO
 * 10918-1 Annex H) encoding, by hand like the decoder beside it: selection
 * value 1 (predict from the left), point transform 0, one interleaved scan
 * of all components, one fixed Huffman table. What DICOM's
 * 1.2.840.10008.1.2.4.70 holds, and a valid .57 stream too, so an edited
 * JPEG Lossless instance keeps its syntax.
 *
 * The table is fixed rather than fitted to each frame: the frame is encoded
 * in one pass and the output stays within a bound known before encoding.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

/* Code lengths of the difference categories 0..16: short for the small
 * differences of natural images, every category codable (Kraft sum < 1, so
 * no code is all ones, as the standard requires). */
static const uint8_t LENGTHS[17] = {2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};

typedef struct bitw {
    uint8_t *p;
    size_t len, cap;
    uint64_t acc; /* bits waiting, most significant first */
    int n;
} bitw;

static void put_byte(bitw *w, uint8_t b) { w->p[w->len++] = b; }

/* Append the low n bits of v (n <= 24), stuffing a zero after each 0xFF. */
static void put_bits(bitw *w, uint32_t v, int n)
{
    w->acc = w->acc << n | (v & ((1u << n) - 1u));
    w->n += n;
    while (w->n >= 8) {
        uint8_t b = (uint8_t)(w->acc >> (w->n - 8));
        put_byte(w, b);
        if (b == 0xFF)
            put_byte(w, 0);
        w->n -= 8;
    }
}

static void put16(bitw *w, unsigned v)
{
    put_byte(w, (uint8_t)(v >> 8));
    put_byte(w, (uint8_t)v);
}

/* Canonical codes for LENGTHS (Annex C), and the DHT segment's lists. */
static void make_codes(uint16_t code[17], uint8_t counts[16], uint8_t order[17])
{
    memset(counts, 0, 16);
    size_t k = 0;
    for (int l = 1; l <= 16; l++)
        for (int s = 0; s < 17; s++)
            if (LENGTHS[s] == l)
                counts[l - 1]++, order[k++] = (uint8_t)s;
    uint16_t c = 0;
    k = 0;
    for (int l = 1; l <= 16; l++) {
        for (int i = 0; i < counts[l - 1]; i++)
            code[order[k++]] = c++;
        c <<= 1;
    }
}

static void put_headers(bitw *w, const px_info *info, const uint8_t counts[16], const uint8_t order[17])
{
    unsigned nc = info->samples;
    put16(w, 0xFFD8);                                   /* SOI */
    put16(w, 0xFFC3), put16(w, 8 + 3 * nc);             /* SOF3 */
    put_byte(w, (uint8_t)info->bits_stored), put16(w, info->rows), put16(w, info->columns), put_byte(w, (uint8_t)nc);
    for (unsigned c = 0; c < nc; c++)
        put_byte(w, (uint8_t)(c + 1)), put_byte(w, 0x11), put_byte(w, 0);
    put16(w, 0xFFC4), put16(w, 2 + 1 + 16 + 17), put_byte(w, 0x00); /* DHT: DC table 0 */
    for (int l = 0; l < 16; l++)
        put_byte(w, counts[l]);
    for (int s = 0; s < 17; s++)
        put_byte(w, order[s]);
    put16(w, 0xFFDA), put16(w, 6 + 2 * nc), put_byte(w, (uint8_t)nc); /* SOS */
    for (unsigned c = 0; c < nc; c++)
        put_byte(w, (uint8_t)(c + 1)), put_byte(w, 0x00);
    put_byte(w, 1), put_byte(w, 0), put_byte(w, 0);     /* Ss = predictor 1, Se, Ah|Al */
}

static uint32_t sample(const px_info *info, const uint8_t *frame, size_t i, uint32_t mask)
{
    uint32_t v = info->bits_allocated == 8 ? frame[i] : (uint32_t)frame[2 * i] | (uint32_t)frame[2 * i + 1] << 8;
    return v & mask;
}

dqr_status px_jpeg_lossless_encode(const px_info *info, const uint8_t *frame, uint8_t **out, size_t *out_len,
                                   dqr_error *err)
{
    if (info->bits_allocated > 16 || info->bits_stored < 2 || info->bits_stored > 16)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "JPEG Lossless encodes samples of 2 to 16 bits");
    size_t n = (size_t)info->rows * info->columns * info->samples;
    /* worst case: 14 + 16 bits a sample, each byte stuffed, plus the headers */
    bitw w = {.cap = n * 8 + 256};
    if (!(w.p = malloc(w.cap)))
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG Lossless frame");
    uint16_t code[17];
    uint8_t counts[16], order[17];
    make_codes(code, counts, order);
    put_headers(&w, info, counts, order);
    unsigned nc = info->samples, p = info->bits_stored;
    uint32_t mask = (1u << p) - 1u;
    for (size_t i = 0; i < n; i++) {
        size_t pixel = i / nc, r = pixel / info->columns, c = pixel % info->columns;
        uint32_t pred = r == 0 && c == 0 ? 1u << (p - 1)
                        : c == 0         ? sample(info, frame, i - (size_t)info->columns * nc, mask)
                                         : sample(info, frame, i - nc, mask);
        uint32_t d = (sample(info, frame, i, mask) - pred) & 0xFFFFu; /* differences are modulo 2^16 */
        int32_t diff = d == 0x8000u ? 0x8000 : d > 0x8000u ? (int32_t)d - 0x10000 : (int32_t)d;
        unsigned mag = (unsigned)(diff < 0 ? -diff : diff), ssss = 0;
        while (mag >> ssss)
            ssss++;
        put_bits(&w, code[ssss], LENGTHS[ssss]);
        if (ssss && ssss < 16)
            put_bits(&w, (uint32_t)(diff < 0 ? diff - 1 : diff), (int)ssss);
    }
    if (w.n) /* pad the last byte with ones (F.1.2.3) */
        put_bits(&w, 0x7F, 8 - w.n);
    put16(&w, 0xFFD9);                                  /* EOI */
    if (w.len & 1)
        put_byte(&w, 0); /* a fragment has even length; trailing bytes after EOI are ignored */
    *out = w.p;
    *out_len = w.len;
    return DQR_OK;
}

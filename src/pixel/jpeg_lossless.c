/* jpeg_lossless.c — JPEG Lossless, Non-Hierarchical (process 14, ISO 10918-1
 * Annex H), decoded by hand: Debian 12's libjpeg-turbo 2.1 has no lossless
 * mode. Serves 1.2.840.10008.1.2.4.57 (any predictor) and .70 (selection
 * value 1).
 *
 * The frame is parsed marker by marker; each scan is Huffman decoded sample
 * by sample (a 64-bit bit buffer refilled once a sample, codes up to 9 bits
 * found by one table lookup, longer ones by the canonical code limits) and predicted from its left, upper and upper-left neighbours,
 * written straight into the output frame, so no other buffer is needed.
 * Components must not be subsampled (H = V = 1), as DICOM files have them.
 */
#include <string.h>

#include "pixel/pixel_internal.h"

#define LOOKAHEAD 9 /* bits of the Huffman lookup table: nearly all codes of a lossless table are shorter */

typedef struct huff {
    bool defined;
    int32_t maxcode[18]; /* largest code of each length, -1 if none */
    int32_t valptr[17];  /* index in vals of the first code of each length */
    int32_t mincode[17];
    uint8_t vals[256];
    uint16_t look[1 << LOOKAHEAD]; /* the next LOOKAHEAD bits -> length << 8 | value; 0: a longer code */
} huff;

typedef struct lj {
    const uint8_t *p;
    size_t len, pos;
    uint64_t acc;  /* bit buffer, the next bit in bit 63 */
    int nbits;     /* valid bits in acc */
    bool marker;   /* reached a marker: feed zeros */
    huff tables[4];
    unsigned precision, rows, cols, ncomp, restart;
    uint8_t comp_id[4];
} lj;

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* The codes of up to LOOKAHEAD bits, found by one table read. */
static void build_lookup(huff *h, const uint8_t *counts)
{
    memset(h->look, 0, sizeof h->look);
    int32_t code = 0, k = 0;
    for (int l = 1; l <= LOOKAHEAD; l++, code <<= 1)
        for (int i = 0; i < counts[l - 1]; i++, code++, k++) {
            int spare = LOOKAHEAD - l;
            for (int32_t x = code << spare; x < (code + 1) << spare && x < (1 << LOOKAHEAD); x++)
                h->look[x] = (uint16_t)(l << 8 | h->vals[k]);
        }
}

static dqr_status read_dht(lj *j, const uint8_t *seg, size_t n, dqr_error *err)
{
    size_t i = 0;
    while (i + 17 <= n) {
        unsigned tc = seg[i] >> 4, th = seg[i] & 15;
        const uint8_t *counts = seg + i + 1;
        size_t total = 0;
        for (int l = 0; l < 16; l++)
            total += counts[l];
        if (th > 3 || total > 256 || i + 17 + total > n)
            return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: bad Huffman table");
        if (tc == 0) { /* lossless uses DC tables only */
            huff *h = &j->tables[th];
            memcpy(h->vals, seg + i + 17, total);
            int32_t code = 0, k = 0;
            for (int l = 1; l <= 16; l++) {
                h->valptr[l] = k;
                h->mincode[l] = code;
                code += counts[l - 1];
                k += counts[l - 1];
                h->maxcode[l] = counts[l - 1] ? code - 1 : -1;
                code <<= 1;
            }
            h->maxcode[17] = 0x7FFFFFFF;
            if (code > (1 << 17)) /* more codes than the lengths hold: the lookup would overflow */
                return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: bad Huffman table");
            build_lookup(h, counts);
            h->defined = true;
        }
        i += 17 + total;
    }
    return DQR_OK;
}

/* Top the bit buffer up to at least 57 bits: bytes of entropy-coded data,
 * FF 00 read as FF, and zeros once a marker is reached. */
static void fill(lj *j)
{
    while (j->nbits <= 56) {
        uint8_t b = 0;
        if (!j->marker && j->pos < j->len) {
            b = j->p[j->pos];
            if (b == 0xFF) {
                uint8_t next = j->pos + 1 < j->len ? j->p[j->pos + 1] : 0;
                if (next == 0x00)
                    j->pos += 2;
                else {
                    j->marker = true;
                    b = 0;
                }
            } else {
                j->pos++;
            }
        }
        j->acc |= (uint64_t)b << (56 - j->nbits);
        j->nbits += 8;
    }
}

/* The next n (1..16) bits; the buffer holds at least 32 (fill per sample). */
static uint32_t take(lj *j, int n)
{
    uint32_t v = (uint32_t)(j->acc >> (64 - n));
    j->acc <<= n;
    j->nbits -= n;
    return v;
}

static int decode_huff(lj *j, const huff *h)
{
    unsigned e = h->look[j->acc >> (64 - LOOKAHEAD)];
    if (e) {
        take(j, (int)(e >> 8));
        return (int)(e & 0xFF);
    }
    for (int l = LOOKAHEAD + 1; l <= 16; l++) {
        int32_t code = (int32_t)(j->acc >> (64 - l));
        if (code <= h->maxcode[l]) {
            take(j, l);
            return h->vals[(h->valptr[l] + code - h->mincode[l]) & 0xFF];
        }
    }
    return -1;
}

/* The difference coded by category ssss (H.1.2.2, F.1.2.1). */
static int32_t read_diff(lj *j, int ssss)
{
    if (ssss == 0)
        return 0;
    if (ssss == 16)
        return 32768;
    int32_t v = (int32_t)take(j, ssss);
    return v < (1 << (ssss - 1)) ? v - (1 << ssss) + 1 : v;
}

/* Skip to after the next RSTn marker and reset the bit reader. */
static void restart(lj *j)
{
    j->nbits = 0;
    j->acc = 0;
    j->marker = false;
    while (j->pos + 1 < j->len && !(j->p[j->pos] == 0xFF && j->p[j->pos + 1] >= 0xD0 &&
                                    j->p[j->pos + 1] <= 0xD7))
        j->pos++;
    j->pos += 2;
}

typedef struct scan {
    unsigned n, comp[4], table[4], predictor, pt;
} scan;

static int32_t predict(unsigned sv, int32_t ra, int32_t rb, int32_t rc)
{
    switch (sv) {
    case 1: return ra;
    case 2: return rb;
    case 3: return rc;
    case 4: return ra + rb - rc;
    case 5: return ra + ((rb - rc) >> 1);
    case 6: return rb + ((ra - rc) >> 1);
    default: return (ra + rb) >> 1;
    }
}

static uint32_t get(const uint8_t *out, size_t unit, size_t at)
{
    return unit == 1 ? out[at] : (uint32_t)out[at] | (uint32_t)out[at + 1] << 8;
}

static dqr_status decode_scan(lj *j, const scan *s, size_t unit, uint8_t *out, dqr_error *err)
{
    uint32_t mask = (1u << j->precision) - 1u;
    size_t n = 0;
    bool first_line = true, reset = true; /* image start and each restart: default prediction */
    for (unsigned r = 0; r < j->rows; r++) {
        for (unsigned c = 0; c < j->cols; c++, n++) {
            if (j->restart && n && n % j->restart == 0) {
                restart(j);
                first_line = reset = true;
            }
            bool line_start = reset;
            reset = false;
            for (unsigned k = 0; k < s->n; k++) {
                size_t at = (((size_t)r * j->cols + c) * j->ncomp + s->comp[k]) * unit;
                size_t left = at - j->ncomp * unit, up = at - (size_t)j->cols * j->ncomp * unit;
                int32_t pred;
                if (line_start)
                    pred = 1 << (j->precision - s->pt - 1);
                else if (first_line)
                    pred = (int32_t)get(out, unit, left) >> s->pt;
                else if (c == 0)
                    pred = (int32_t)get(out, unit, up) >> s->pt;
                else
                    pred = predict(s->predictor, (int32_t)get(out, unit, left) >> s->pt,
                                   (int32_t)get(out, unit, up) >> s->pt,
                                   (int32_t)get(out, unit, up - j->ncomp * unit) >> s->pt);
                if (j->nbits < 32)
                    fill(j); /* a code and its difference: at most 32 bits */
                int ssss = decode_huff(j, &j->tables[s->table[k]]);
                if (ssss < 0 || ssss > 16)
                    return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: bad Huffman code at row %u", r);
                uint32_t v = ((uint32_t)(pred + read_diff(j, ssss)) << s->pt) & mask;
                out[at] = (uint8_t)v;
                if (unit == 2)
                    out[at + 1] = (uint8_t)(v >> 8);
            }
        }
        first_line = false;
    }
    return DQR_OK;
}

static dqr_status read_sof(lj *j, const uint8_t *seg, size_t n, const px_info *info, dqr_error *err)
{
    if (n < 6 || n < 6 + 3u * seg[5])
        return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: short frame header");
    j->precision = seg[0];
    j->rows = be16(seg + 1);
    j->cols = be16(seg + 3);
    j->ncomp = seg[5];
    if (j->precision < 2 || j->precision > 16 || j->ncomp != info->samples || j->rows != info->rows ||
        j->cols != info->columns || j->precision > info->bits_allocated)
        return dqr_error_set(err, DQR_E_PARSE,
                             "JPEG lossless of %ux%u, %u components, %u bits where the dataset says "
                             "%ux%u, %u, Bits Allocated %u",
                             j->cols, j->rows, j->ncomp, j->precision, info->columns, info->rows,
                             info->samples, info->bits_allocated);
    for (unsigned k = 0; k < j->ncomp; k++) {
        j->comp_id[k] = seg[6 + 3 * k];
        if (seg[7 + 3 * k] != 0x11)
            return dqr_error_set(err, DQR_E_UNSUPPORTED, "JPEG lossless with subsampled components");
    }
    return DQR_OK;
}

static dqr_status read_sos(lj *j, const uint8_t *seg, size_t n, scan *s, dqr_error *err)
{
    memset(s, 0, sizeof *s);
    s->n = n ? seg[0] : 0;
    if (!j->ncomp || s->n < 1 || s->n > j->ncomp || n < 4 + 2u * s->n)
        return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: bad scan header");
    for (unsigned k = 0; k < s->n; k++) {
        unsigned id = seg[1 + 2 * k], c = 0;
        while (c < j->ncomp && j->comp_id[c] != id)
            c++;
        s->comp[k] = c;
        s->table[k] = seg[2 + 2 * k] >> 4;
        if (c == j->ncomp || s->table[k] > 3 || !j->tables[s->table[k]].defined)
            return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: scan names an unknown component or table");
    }
    s->predictor = seg[1 + 2 * s->n];
    s->pt = seg[3 + 2 * s->n] & 15;
    if (s->predictor < 1 || s->predictor > 7 || s->pt >= j->precision)
        return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: predictor %u, point transform %u",
                             s->predictor, s->pt);
    return DQR_OK;
}

dqr_status px_jpeg_lossless_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                                   dqr_error *err)
{
    lj j;
    memset(&j, 0, sizeof j);
    j.p = in;
    j.len = len;
    if (len < 4 || in[0] != 0xFF || in[1] != 0xD8)
        return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless frame does not start with SOI");
    size_t unit = info->bits_allocated / 8u, i = 2;
    unsigned scans = 0;
    dqr_status st = DQR_OK;
    while (!st && i + 4 <= len) {
        if (in[i] != 0xFF) { /* stray byte between segments */
            i++;
            continue;
        }
        uint8_t m = in[i + 1];
        if (m == 0xFF) {
            i++;
            continue;
        }
        if (m == 0xD9)
            break;
        size_t seglen = be16(in + i + 2);
        if (seglen < 2 || i + 2 + seglen > len)
            return dqr_error_set(err, DQR_E_PARSE, "JPEG lossless: marker FF%02X runs past the frame", m);
        const uint8_t *seg = in + i + 4;
        size_t n = seglen - 2;
        i += 2 + seglen;
        if (m == 0xC4)
            st = read_dht(&j, seg, n, err);
        else if (m == 0xC3)
            st = read_sof(&j, seg, n, info, err);
        else if (m == 0xDD && n >= 2)
            j.restart = be16(seg);
        else if ((m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC))
            st = dqr_error_set(err, DQR_E_UNSUPPORTED, "JPEG process SOF%u in a lossless transfer syntax",
                               m - 0xC0u);
        else if (m == 0xDA) {
            scan s;
            if (!(st = read_sos(&j, seg, n, &s, err))) {
                j.pos = i;
                j.nbits = 0;
                j.acc = 0;
                j.marker = false;
                st = decode_scan(&j, &s, unit, out, err);
                scans++;
                i = j.pos; /* the next marker follows the entropy-coded data */
            }
        }
    }
    if (!st && !scans)
        st = dqr_error_set(err, DQR_E_PARSE, "JPEG lossless frame without a scan");
    return st;
}

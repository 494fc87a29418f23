/* palette.c — the Palette Color Lookup Tables (PS3.3 C.7.6.3.1.5-6), plain
 * or segmented (C.7.9.2), read into 16-bit tables, so px_palette_to_rgb has
 * one shape to index. */
#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "pixel/pixel_internal.h"

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Descriptor (0028,110x): entries (0 means 65536), first mapped value, bits. */
static dqr_status read_descriptor(const dcm_dataset *ds, int c, px_palette *pal, dqr_error *err)
{
    const dcm_element *el = dcm_dataset_get(ds, DCM_TAG(0x0028, 0x1101 + c));
    const uint8_t *b = el ? dcm_element_bytes(el) : NULL;
    if (!b || dcm_element_length(el) < 6)
        return dqr_error_set(err, DQR_E_PARSE, "PALETTE COLOR without descriptor (0028,%04X)",
                             0x1101 + c);
    uint32_t entries = rd16(b) ? rd16(b) : 65536u;
    int32_t first = dcm_element_vr(el) == DCM_VR_SS ? (int16_t)rd16(b + 2) : rd16(b + 2);
    uint16_t bits = rd16(b + 4);
    if (c > 0 && (entries != pal->entries || first != pal->first || bits != pal->bits))
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "palette channels with different descriptors");
    pal->entries = entries;
    pal->first = first;
    pal->bits = bits;
    return DQR_OK;
}

/* Segmented LUT words (PS3.3 C.7.9.2): discrete (0: n values), linear (1:
 * n entries from the last value to the next word) and indirect (2: n
 * segments copied from the byte offset in the next two words, low word
 * first; not nested) segments, expanded into out[*k...entries). At most
 * max_segments segments are read from w[at...n). */
static dqr_status expand_segments(const uint16_t *w, size_t n, size_t at, size_t max_segments, bool nested,
                                  uint16_t *out, uint32_t entries, uint32_t *k, dqr_error *err)
{
    for (size_t seg = 0; seg < max_segments && at < n; seg++) {
        if (at + 1 >= n)
            return dqr_error_set(err, DQR_E_PARSE, "segmented LUT: a segment header is cut short");
        uint16_t op = w[at], len = w[at + 1];
        if (op == 0) {
            if (at + 2 + len > n || *k + len > entries)
                return dqr_error_set(err, DQR_E_PARSE, "segmented LUT: a discrete segment runs past the data");
            memcpy(out + *k, w + at + 2, 2u * len);
            *k += len;
            at += 2u + len;
        } else if (op == 1) {
            if (at + 2 >= n || *k == 0 || *k + len > entries)
                return dqr_error_set(err, DQR_E_PARSE, "segmented LUT: a linear segment without a start or past the end");
            double y0 = out[*k - 1], y1 = w[at + 2];
            for (uint32_t j = 1; j <= len; j++)
                out[(*k)++] = (uint16_t)lround(y0 + (y1 - y0) * j / len);
            at += 3;
        } else if (op == 2 && !nested) {
            if (at + 3 >= n)
                return dqr_error_set(err, DQR_E_PARSE, "segmented LUT: an indirect segment is cut short");
            size_t from = ((size_t)w[at + 2] | (size_t)w[at + 3] << 16) / 2u;
            dqr_status st = expand_segments(w, n, from, len, true, out, entries, k, err);
            if (st)
                return st;
            at += 4;
        } else {
            return dqr_error_set(err, DQR_E_PARSE, "segmented LUT: segment type %u%s", op,
                                 op == 2 ? " nested in an indirect segment" : " is not defined");
        }
    }
    return DQR_OK;
}

/* Segmented LUT data (0028,122x) expanded into pal->lut[c]. */
static dqr_status read_segmented(const dcm_element *el, int c, px_palette *pal, dqr_error *err)
{
    size_t n = (size_t)(dcm_element_length(el) / 2u);
    uint8_t *raw = malloc(2u * n + 1);
    uint16_t *w = malloc(sizeof *w * (n + 1));
    pal->lut[c] = calloc(pal->entries, sizeof(uint16_t));
    dqr_status st = raw && w && pal->lut[c] ? dcm_element_read(el, 0, raw, 2u * n, err)
                                            : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++)
        w[i] = rd16(raw + 2 * i);
    uint32_t k = 0;
    if (!st)
        st = expand_segments(w, n, 0, SIZE_MAX, false, pal->lut[c], pal->entries, &k, err);
    if (!st && k != pal->entries)
        st = dqr_error_set(err, DQR_E_PARSE, "segmented LUT (0028,%04X) gives %u of %u entries", 0x1221 + c, k,
                           pal->entries);
    free(raw);
    free(w);
    return st;
}

/* LUT data (0028,120x): 16-bit words, one an entry; or, for 8-bit entries,
 * one byte an entry where the table is exactly that long. */
static dqr_status read_lut(const dcm_dataset *ds, int c, px_palette *pal, dqr_error *err)
{
    uint32_t tag = DCM_TAG(0x0028, 0x1201 + c);
    const dcm_element *el = dcm_dataset_get(ds, tag);
    if (!el) {
        const dcm_element *seg = dcm_dataset_get(ds, DCM_TAG(0x0028, 0x1221 + c));
        if (seg)
            return read_segmented(seg, c, pal, err);
        return dqr_error_set(err, DQR_E_PARSE, "PALETTE COLOR without LUT data (0028,%04X)", 0x1201 + c);
    }
    uint64_t len = dcm_element_length(el);
    bool bytes = pal->bits == 8 && (len == pal->entries || len == pal->entries + 1u);
    if (!bytes && len < 2ull * pal->entries)
        return dqr_error_set(err, DQR_E_PARSE, "LUT data (0028,%04X) has %llu bytes for %u entries",
                             0x1201 + c, (unsigned long long)len, pal->entries);
    uint8_t *raw = malloc(bytes ? pal->entries : 2u * pal->entries);
    pal->lut[c] = malloc(sizeof(uint16_t) * pal->entries);
    dqr_status st = raw && pal->lut[c] ? DQR_OK : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (!st)
        st = dcm_element_read(el, 0, raw, bytes ? pal->entries : 2u * pal->entries, err);
    for (uint32_t i = 0; !st && i < pal->entries; i++)
        pal->lut[c][i] = bytes ? raw[i] : rd16(raw + 2 * i);
    free(raw);
    return st;
}

dqr_status px_palette_read(const dcm_dataset *ds, px_palette *pal, dqr_error *err)
{
    memset(pal, 0, sizeof *pal);
    dqr_status st = DQR_OK;
    for (int c = 0; c < 3 && !st; c++)
        st = read_descriptor(ds, c, pal, err);
    for (int c = 0; c < 3 && !st; c++)
        st = read_lut(ds, c, pal, err);
    if (st)
        px_palette_free(pal);
    return st;
}

void px_palette_free(px_palette *pal)
{
    for (int c = 0; c < 3; c++) {
        free(pal->lut[c]);
        pal->lut[c] = NULL;
    }
}

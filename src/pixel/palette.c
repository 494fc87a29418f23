/* palette.c — the Palette Color Lookup Tables (PS3.3 C.7.6.3.1.5-6) read
 * into 16-bit tables, so px_palette_to_rgb has one shape to index. */
#include <stdlib.h>
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

/* LUT data (0028,120x): 16-bit words, one an entry; or, for 8-bit entries,
 * one byte an entry where the table is exactly that long. */
static dqr_status read_lut(const dcm_dataset *ds, int c, px_palette *pal, dqr_error *err)
{
    uint32_t tag = DCM_TAG(0x0028, 0x1201 + c);
    const dcm_element *el = dcm_dataset_get(ds, tag);
    if (!el) {
        if (dcm_dataset_get(ds, DCM_TAG(0x0028, 0x1221 + c)))
            return dqr_error_set(err, DQR_E_UNSUPPORTED, "segmented palette colour LUTs cannot be decoded");
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

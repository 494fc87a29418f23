/* frames.c — the frame iterator: finds each frame's bytes (a slice of
 * native Pixel Data, or the fragments of encapsulated data) and hands them
 * to the decoder of the transfer syntax.
 *
 * Memory is one decoded frame plus one frame's stored or compressed bytes,
 * whatever the number of frames; native data is read from disk a frame at a
 * time because the codec leaves large values deferred.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_internal.h"

typedef enum px_codec { PX_CODEC_NATIVE, PX_CODEC_RLE, PX_CODEC_JPEG, PX_CODEC_JPEGLS, PX_CODEC_J2K,
                       PX_CODEC_JPEG_LOSSLESS } px_codec;

struct px_frames {
    const dcm_dataset *ds;
    const dcm_element *pixels; /* looked up again for each frame: the dataset may grow meanwhile */
    px_codec codec;
    px_info stored;      /* as the dataset describes the stored frames */
    px_info out;         /* as px_frame_next delivers them */
    px_palette pal;
    bool has_pal;
    bool big_endian_ow;  /* native OW read from Explicit VR Big Endian */
    uint32_t next;
    uint8_t *frame;      /* px_frame_size(&out) bytes */
    uint8_t *raw;        /* stored / compressed bytes of one frame */
    size_t raw_cap;
    size_t *first_frag;  /* encapsulated: first fragment (1-based) of each frame, */
    size_t *frag_count;  /* and how many fragments it spans */
};

/* Transfer syntaxes decoded here; anything else encapsulated is refused. */
static const struct {
    const char *uid;
    px_codec codec;
} codecs[] = {
    {"1.2.840.10008.1.2.5", PX_CODEC_RLE},
    {"1.2.840.10008.1.2.4.50", PX_CODEC_JPEG},
    {"1.2.840.10008.1.2.4.51", PX_CODEC_JPEG},
    {"1.2.840.10008.1.2.4.57", PX_CODEC_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.70", PX_CODEC_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.80", PX_CODEC_JPEGLS},
    {"1.2.840.10008.1.2.4.81", PX_CODEC_JPEGLS},
    {"1.2.840.10008.1.2.4.90", PX_CODEC_J2K},
    {"1.2.840.10008.1.2.4.91", PX_CODEC_J2K},
};

static dqr_status pick_codec(const char *ts, px_codec *codec, dqr_error *err)
{
    const dcm_uid_entry *e = dcm_ts_lookup(ts);
    if (e && !(e->flags & DCM_TS_ENCAPSULATED)) {
        *codec = PX_CODEC_NATIVE;
        return DQR_OK;
    }
    for (size_t i = 0; i < sizeof codecs / sizeof *codecs; i++)
        if (strcmp(ts, codecs[i].uid) == 0) {
            *codec = codecs[i].codec;
            return DQR_OK;
        }
    return dqr_error_set(err, DQR_E_UNSUPPORTED, "transfer syntax %s (%s) cannot be decoded", ts,
                         e ? e->name : "unknown");
}

static bool starts_frame(const dcm_element *px, size_t i)
{
    uint8_t m[2];
    if (dcm_element_fragment_length(px, i) < 2 || dcm_element_read_fragment(px, i, 0, m, 2, NULL))
        return false;
    return m[0] == 0xFF && (m[1] == 0xD8 || m[1] == 0x4F); /* JPEG SOI, J2K SOC */
}

/* Frame boundaries from the Basic Offset Table (offsets from the first
 * fragment's item tag; each fragment takes 8 + length bytes). */
static dqr_status map_by_offsets(px_frames *it, size_t nfrag, dqr_error *err)
{
    const dcm_element *px = it->pixels;
    uint32_t frames = it->stored.frames;
    uint8_t *bot = malloc(4u * frames);
    if (!bot)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = dcm_element_read_fragment(px, 0, 0, bot, 4u * frames, err);
    uint64_t pos = 0;
    size_t f = 0;
    for (size_t i = 1; !st && i <= nfrag; i++) {
        while (f < frames && (uint64_t)(bot[4 * f] | bot[4 * f + 1] << 8 | bot[4 * f + 2] << 16 |
                                        (uint32_t)bot[4 * f + 3] << 24) == pos) {
            it->first_frag[f++] = i;
        }
        pos += 8u + dcm_element_fragment_length(px, i);
    }
    free(bot);
    if (!st && f != frames)
        st = dqr_error_set(err, DQR_E_PARSE, "the Basic Offset Table points to %zu of %u frames", f,
                           frames);
    return st;
}

static dqr_status map_fragments(px_frames *it, dqr_error *err)
{
    const dcm_element *px = it->pixels;
    uint32_t frames = it->stored.frames;
    size_t nfrag = dcm_element_fragment_count(px);
    nfrag = nfrag ? nfrag - 1 : 0;
    it->first_frag = calloc(frames, sizeof(size_t));
    it->frag_count = calloc(frames, sizeof(size_t));
    if (!it->first_frag || !it->frag_count)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (nfrag < frames)
        return dqr_error_set(err, DQR_E_PARSE, "%zu fragments for %u frames", nfrag, frames);
    dqr_status st = DQR_OK;
    if (frames == 1) {
        it->first_frag[0] = 1;
    } else if (nfrag == frames) {
        for (size_t f = 0; f < frames; f++)
            it->first_frag[f] = f + 1;
    } else if (dcm_element_fragment_length(px, 0) >= 4u * frames) {
        st = map_by_offsets(it, nfrag, err);
    } else {
        size_t f = 0;
        for (size_t i = 1; i <= nfrag && f < frames; i++)
            if (i == 1 || starts_frame(px, i))
                it->first_frag[f++] = i;
        if (f != frames)
            return dqr_error_set(err, DQR_E_UNSUPPORTED,
                                 "%zu fragments for %u frames and no offset table", nfrag, frames);
    }
    for (size_t f = 0; !st && f < frames; f++)
        it->frag_count[f] = (f + 1 < frames ? it->first_frag[f + 1] : nfrag + 1) - it->first_frag[f];
    return st;
}

static dqr_status reserve_raw(px_frames *it, size_t n, dqr_error *err)
{
    if (n <= it->raw_cap)
        return DQR_OK;
    uint8_t *p = realloc(it->raw, n);
    if (!p)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a frame of %zu bytes", n);
    it->raw = p;
    it->raw_cap = n;
    return DQR_OK;
}

static dqr_status setup(px_frames *it, const dcm_file *f, dqr_error *err)
{
    const dcm_dataset *ds = dcm_file_dataset(f);
    dqr_status st;
    it->ds = ds;
    it->pixels = dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA);
    if (!it->pixels)
        return dqr_error_set(err, DQR_E_NOTFOUND, "the dataset has no Pixel Data");
    if ((st = px_info_read(ds, &it->stored, err)) ||
        (st = pick_codec(dcm_file_transfer_syntax(f), &it->codec, err)))
        return st;
    if (it->codec == PX_CODEC_NATIVE && dcm_element_is_encapsulated(it->pixels))
        return dqr_error_set(err, DQR_E_PARSE, "encapsulated Pixel Data in a native transfer syntax");
    if (it->codec != PX_CODEC_NATIVE && !dcm_element_is_encapsulated(it->pixels))
        return dqr_error_set(err, DQR_E_PARSE, "native Pixel Data in a compressed transfer syntax");
    if (it->stored.photometric == PX_PALETTE_COLOR) {
        if ((st = px_palette_read(ds, &it->pal, err)))
            return st;
        it->has_pal = true;
    }
    const dcm_uid_entry *ts = dcm_ts_lookup(dcm_file_transfer_syntax(f));
    it->big_endian_ow = ts && (ts->flags & DCM_TS_BIG_ENDIAN) && dcm_element_vr(it->pixels) == DCM_VR_OW;
    it->out = it->stored;
    it->out.planar = 0;
    if (it->out.photometric == PX_YBR_FULL_422)
        it->out.photometric = PX_YBR_FULL;
    /* known before the first frame: libjpeg and OpenJPEG deliver colour as RGB */
    bool mct = it->stored.photometric == PX_YBR_RCT || it->stored.photometric == PX_YBR_ICT;
    if ((it->codec == PX_CODEC_JPEG && it->out.samples == 3) || (it->codec == PX_CODEC_J2K && mct))
        it->out.photometric = PX_RGB;
    if (it->codec == PX_CODEC_NATIVE) {
        uint64_t need = (uint64_t)px_native_stored_size(&it->stored) * it->stored.frames;
        if (dcm_element_length(it->pixels) < need)
            return dqr_error_set(err, DQR_E_PARSE, "Pixel Data has %llu bytes where %u frames need %llu",
                                 (unsigned long long)dcm_element_length(it->pixels),
                                 it->stored.frames, (unsigned long long)need);
    } else if ((st = map_fragments(it, err))) {
        return st;
    }
    if (px_frame_size(&it->out) > PX_MAX_FRAME_BYTES)
        return dqr_error_set(err, DQR_E_LIMIT, "a frame of %zu bytes exceeds the limit of %llu",
                             px_frame_size(&it->out), (unsigned long long)PX_MAX_FRAME_BYTES);
    it->frame = malloc(px_frame_size(&it->out));
    if (!it->frame)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a frame of %zu bytes",
                             px_frame_size(&it->out));
    return DQR_OK;
}

dqr_status px_frames_open(const dcm_file *f, px_frames **out, dqr_error *err)
{
    px_frames *it = calloc(1, sizeof *it);
    if (!it)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = setup(it, f, err);
    if (st) {
        px_frames_close(it);
        return st;
    }
    *out = it;
    return DQR_OK;
}

const px_info *px_frames_info(const px_frames *it) { return &it->out; }

const px_palette *px_frames_palette(const px_frames *it) { return it->has_pal ? &it->pal : NULL; }

/* The compressed bytes of encapsulated frame index, concatenated into raw. */
static dqr_status read_fragments(px_frames *it, uint32_t index, size_t *len, dqr_error *err)
{
    size_t first = it->first_frag[index], n = it->frag_count[index], total = 0;
    for (size_t i = first; i < first + n; i++)
        total += dcm_element_fragment_length(it->pixels, i);
    dqr_status st = reserve_raw(it, total ? total : 1, err);
    size_t at = 0;
    for (size_t i = first; !st && i < first + n; i++) {
        uint32_t l = dcm_element_fragment_length(it->pixels, i);
        st = dcm_element_read_fragment(it->pixels, i, 0, it->raw + at, l, err);
        at += l;
    }
    *len = total;
    return st;
}

static dqr_status decode_frame(px_frames *it, uint32_t index, dqr_error *err)
{
    dqr_status st;
    if (it->codec == PX_CODEC_NATIVE) {
        size_t n = px_native_stored_size(&it->stored);
        if ((st = reserve_raw(it, n, err)) ||
            (st = dcm_element_read(it->pixels, (uint64_t)index * n, it->raw, n, err)))
            return st;
        if (it->big_endian_ow)
            px_native_fix_words(&it->stored, it->raw, n);
        px_native_decode(&it->stored, it->raw, it->frame);
        return DQR_OK;
    }
    size_t len;
    if ((st = read_fragments(it, index, &len, err)))
        return st;
    if (it->codec == PX_CODEC_RLE)
        return px_rle_decode(&it->out, it->raw, len, it->frame, err);
    if (it->codec == PX_CODEC_JPEGLS)
        return px_jpegls_decode(&it->out, it->raw, len, it->frame, err);
    if (it->codec == PX_CODEC_JPEG_LOSSLESS)
        return px_jpeg_lossless_decode(&it->out, it->raw, len, it->frame, err);
    if (it->codec == PX_CODEC_J2K)
        return px_j2k_decode(&it->out, it->raw, len, it->frame, &it->out.photometric, err);
    return px_jpeg_decode(&it->out, it->raw, len, it->frame, &it->out.photometric, err);
}

dqr_status px_frame_get(px_frames *it, uint32_t index, const uint8_t **data, dqr_error *err)
{
    if (index >= it->stored.frames)
        return dqr_error_set(err, DQR_E_NOTFOUND, "no frame %u of %u", index + 1, it->stored.frames);
    /* elements added to the dataset since (the record of a pixel edit) may have moved it */
    if (!(it->pixels = dcm_dataset_get(it->ds, DCM_TAG_PIXEL_DATA)))
        return dqr_error_set(err, DQR_E_NOTFOUND, "the Pixel Data was removed from the dataset");
    dqr_status st = decode_frame(it, index, err);
    if (st) {
        dqr_error_prefix(err, "frame %u: ", index + 1);
        return st;
    }
    it->next = index + 1;
    *data = it->frame;
    return DQR_OK;
}

dqr_status px_frame_next(px_frames *it, const uint8_t **data, dqr_error *err)
{
    return px_frame_get(it, it->next, data, err);
}

void px_frames_close(px_frames *it)
{
    if (!it)
        return;
    px_palette_free(&it->pal);
    free(it->frame);
    free(it->raw);
    free(it->first_frag);
    free(it->frag_count);
    free(it);
}

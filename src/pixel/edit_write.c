/* edit_write.c — px_edit_attach: the Pixel Data of a file re-produced frame
 * by frame while the file is written (decode -> fill -> encode), through the
 * codec's pixel writer hook, so that memory stays one frame whatever the
 * number of frames. Encoders: native, RLE, JPEG-LS, JPEG 2000, JPEG
 * Lossless (jpeg_lossless_enc.c).
 *
 * Output syntax: the instance's own when it is lossless and dqr can encode
 * it, else Explicit VR Little Endian (a lossy source is not compressed a
 * second time; its Lossy Image Compression attributes stay true); or, for
 * px_transcode_attach (dqr convert), the one asked for.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

#define TS_EXPLICIT_LE "1.2.840.10008.1.2.1"

typedef enum out_codec { OUT_NATIVE, OUT_RLE, OUT_JPEGLS, OUT_J2K, OUT_JPEG_LOSSLESS } out_codec;

typedef struct producer {
    px_frames *it;
    px_edit *edit;
    px_info out;      /* what is written: decoded photometric, planar as chosen */
    out_codec codec;
    uint8_t *work;    /* the decoded frame being filled */
    uint8_t *enc;     /* native planar 1: the reordered frame */
    uint8_t *frag;    /* encapsulated: the fragment of the last frame */
    bool bits1;       /* Bits Allocated 1: frames packed back to back, a bit a pixel */
    uint8_t carry;    /* bits1: the bits of a byte the next frame completes */
    unsigned ncarry;
} producer;

static void producer_free(void *ctx)
{
    producer *p = ctx;
    if (!p)
        return;
    px_frames_close(p->it);
    px_edit_free(p->edit);
    free(p->work);
    free(p->enc);
    free(p->frag);
    free(p);
}

/* The syntax written and how: see the top of this file. */
static out_codec choose(const char *ts, const px_info *out, const char **out_ts)
{
    const dcm_uid_entry *e = dcm_ts_lookup(ts);
    *out_ts = ts;
    if (e && !(e->flags & DCM_TS_ENCAPSULATED) && !(e->flags & DCM_TS_BIG_ENDIAN))
        return OUT_NATIVE;
    if (strcmp(ts, "1.2.840.10008.1.2.5") == 0)
        return OUT_RLE;
    if (strcmp(ts, "1.2.840.10008.1.2.4.80") == 0 && !out->is_signed && out->bits_allocated <= 16)
        return OUT_JPEGLS;
    /* selection value 1 is what .70 holds, and one of the predictors .57 allows */
    if ((strcmp(ts, "1.2.840.10008.1.2.4.70") == 0 || strcmp(ts, "1.2.840.10008.1.2.4.57") == 0) &&
        out->bits_allocated <= 16 && out->bits_stored >= 2)
        return OUT_JPEG_LOSSLESS;
    if (strcmp(ts, "1.2.840.10008.1.2.4.90") == 0 && out->bits_stored <= 16 &&
        (out->samples == 1 || out->photometric == PX_RGB))
        return OUT_J2K;
    *out_ts = TS_EXPLICIT_LE;
    return OUT_NATIVE;
}

/* Bits Allocated 1: the frame's bytes (0 or 1 a pixel) packed least
 * significant bit first after the bits the previous frame left; the bits of
 * an incomplete last byte wait for the next frame, or are flushed after the
 * last. */
static size_t pack_bits(producer *p, uint32_t index, size_t pixels)
{
    if (index == 0)
        p->carry = 0, p->ncarry = 0;
    size_t out = 0;
    for (size_t i = 0; i < pixels; i++) {
        p->carry |= (uint8_t)((p->work[i] & 1u) << p->ncarry);
        if (++p->ncarry == 8) {
            p->enc[out++] = p->carry;
            p->carry = 0, p->ncarry = 0;
        }
    }
    if (index + 1 == p->out.frames && p->ncarry)
        p->enc[out++] = p->carry, p->ncarry = 0;
    return out;
}

static dqr_status produce(void *ctx, uint32_t index, const uint8_t **data, size_t *len, dqr_error *err)
{
    producer *p = ctx;
    const uint8_t *frame;
    dqr_status st = px_frame_get(p->it, index, &frame, err);
    if (st)
        return st;
    size_t n = px_frame_size(&p->out);
    memcpy(p->work, frame, n);
    px_edit_frame(p->edit, &p->out, index, p->work);
    free(p->frag);
    p->frag = NULL;
    switch (p->codec) {
    case OUT_NATIVE:
        if (p->bits1) {
            *len = pack_bits(p, index, n);
            *data = p->enc;
            return DQR_OK;
        }
        if (p->out.planar == 1 && p->out.samples == 3) {
            if ((st = px_native_encode(&p->out, p->work, p->enc, err)))
                return st;
            *data = p->enc;
        } else {
            *data = p->work;
        }
        *len = n;
        return DQR_OK;
    case OUT_RLE:
        st = px_rle_encode(&p->out, p->work, &p->frag, len, err);
        break;
    case OUT_JPEGLS:
        st = px_jpegls_encode(&p->out, p->work, &p->frag, len, err);
        break;
    case OUT_J2K:
        st = px_j2k_encode(&p->out, p->work, &p->frag, len, err);
        break;
    case OUT_JPEG_LOSSLESS:
        st = px_jpeg_lossless_encode(&p->out, p->work, &p->frag, len, err);
        break;
    }
    *data = p->frag;
    return st;
}

/* Photometric Interpretation and Planar Configuration as written. */
static dqr_status describe(dcm_dataset *ds, const producer *p, bool extended, dqr_error *err)
{
    px_photometric ph = p->codec == OUT_J2K && p->out.samples == 3 ? PX_YBR_RCT : p->out.photometric;
    if (!dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, px_photometric_name(ph), err))
        return err ? err->code : DQR_E_NOMEM;
    if (p->out.samples == 3) {
        uint8_t planar[2] = {(uint8_t)p->out.planar, 0};
        if (!dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0006), DCM_VR_US, planar, 2, err))
            return err ? err->code : DQR_E_NOMEM;
    }
    /* the offsets of the old fragments point nowhere in the new ones: an
     * Extended Offset Table is kept as placeholders the writer fills in */
    dcm_dataset_remove(ds, DCM_TAG(0x7FE0, 0x0000));
    if (!extended) {
        dcm_dataset_remove(ds, DCM_TAG(0x7FE0, 0x0001));
        dcm_dataset_remove(ds, DCM_TAG(0x7FE0, 0x0002));
        return DQR_OK;
    }
    size_t n = 8u * p->out.frames;
    uint8_t *zero = calloc(n ? n : 1, 1);
    bool ok = zero && dcm_dataset_set_bytes(ds, DCM_TAG(0x7FE0, 0x0001), DCM_VR_OV, zero, n, err) &&
              dcm_dataset_set_bytes(ds, DCM_TAG(0x7FE0, 0x0002), DCM_VR_UV, zero, n, err);
    free(zero);
    return ok ? DQR_OK : err && err->code ? err->code : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
}

static long stored_bits(const dcm_file *f)
{
    long alloc = 0;
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0100), &alloc);
    return alloc;
}

/* target NULL: the source's syntax, or Explicit VR LE (see the top);
 * else exactly target, or DQR_E_UNSUPPORTED. */
static dqr_status setup(producer *p, const dcm_file *f, const px_edit *e, const char *target, const char **out_ts,
                        dqr_error *err)
{
    dqr_status st = px_frames_open(f, &p->it, err);
    if (st)
        return st;
    p->out = *px_frames_info(p->it);
    if ((st = px_edit_check(e, &p->out, err)))
        return st;
    p->codec = choose(target ? target : dcm_file_transfer_syntax(f), &p->out, out_ts);
    if (target && strcmp(*out_ts, target) != 0)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "%u-bit %s %s samples cannot be written as %s", 
                             (unsigned)p->out.bits_stored, p->out.is_signed ? "signed" : "unsigned",
                             px_photometric_name(p->out.photometric), target);
    /* native to native keeps the planar configuration; a decoded frame is interleaved */
    px_info stored;
    bool native_in = !dcm_element_is_encapsulated(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA));
    if (p->codec == OUT_NATIVE && native_in && px_info_read(dcm_file_dataset(f), &stored, NULL) == DQR_OK &&
        stored.photometric == p->out.photometric)
        p->out.planar = stored.planar;
    size_t n = px_frame_size(&p->out);
    p->bits1 = native_in && p->out.bits_stored == 1 && stored_bits(f) == 1;
    p->edit = px_edit_new();
    p->work = malloc(n);
    p->enc = p->out.planar == 1 || p->bits1 ? malloc(n) : NULL;
    if (!p->edit || !p->work || ((p->out.planar == 1 || p->bits1) && !p->enc))
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a frame of %zu bytes", n);
    for (size_t i = 0; i < px_edit_count(e) && !st; i++)
        st = px_edit_add(p->edit, px_edit_region(e, i), err);
    return st;
}

static bool had_basic_offsets(const dcm_file *f)
{
    const dcm_element *px = dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA);
    return dcm_element_fragment_length(px, 0) > 0;
}

static bool had_extended_offsets(const dcm_file *f)
{
    return dcm_dataset_get(dcm_file_dataset(f), DCM_TAG(0x7FE0, 0x0001)) != NULL;
}

static dqr_status attach(dcm_file *f, const px_edit *e, const char *target, dqr_error *err)
{
    producer *p = calloc(1, sizeof *p);
    if (!p)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    const char *out_ts = NULL;
    dqr_status st = setup(p, f, e, target, &out_ts, err);
    if (st) {
        producer_free(p);
        return st;
    }
    dcm_pixel_writer w = {
        .encapsulated = p->codec != OUT_NATIVE,
        .frames = p->out.frames,
        .vr = p->out.bits_allocated == 8 ? DCM_VR_OB : DCM_VR_OW, /* 1-bit too: OB */
        .length = p->bits1 ? ((uint64_t)p->out.rows * p->out.columns * p->out.frames + 7) / 8
                           : (uint64_t)px_frame_size(&p->out) * p->out.frames,
        .offset_table = p->codec != OUT_NATIVE && had_basic_offsets(f),
        .extended_offsets = p->codec != OUT_NATIVE && had_extended_offsets(f),
        .frame = produce,
        .ctx = p,
        .free_ctx = producer_free,
    };
    /* the dataset is described before the hook goes in: a failure leaves f as it was but for these */
    if ((st = describe(dcm_file_dataset(f), p, w.extended_offsets, err)) || (st = dcm_file_set_transfer_syntax(f, out_ts, err))) {
        producer_free(p);
        return st;
    }
    return dcm_file_set_pixel_writer(f, &w, err);
}

dqr_status px_edit_attach(dcm_file *f, const px_edit *e, dqr_error *err)
{
    return px_edit_count(e) == 0 ? DQR_OK : attach(f, e, NULL, err);
}

dqr_status px_transcode_attach(dcm_file *f, const px_edit *e, const char *ts, dqr_error *err)
{
    const dcm_uid_entry *t = dcm_ts_lookup(ts);
    if (!t || (t->flags & DCM_TS_BIG_ENDIAN))
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "pixel data cannot be written frame by frame as %s", ts);
    return attach(f, e, ts, err);
}

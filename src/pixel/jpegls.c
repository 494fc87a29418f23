/* jpegls.c — JPEG-LS frames (ISO 14495-1, lossless and near-lossless)
 * decoded, and lossless frames encoded, with CharLS.
 *
 * CharLS writes samples of more than 8 bits as 16-bit host-order words,
 * which on the little-endian machines we build for is our layout already.
 * A frame coded without interleave comes out one plane after another and
 * is interleaved here.
 */
#include <stdlib.h>
#include <string.h>

#include <charls/charls.h>

#include "pixel/pixel_internal.h"

static dqr_status charls_fail(charls_jpegls_errc ec, const char *what, dqr_error *err)
{
    return dqr_error_set(err, DQR_E_PARSE, "JPEG-LS %s: %s", what, charls_get_error_message(ec));
}

/* Header of the frame against the dataset's description. */
static dqr_status check_frame(const px_info *info, const charls_frame_info *fi, dqr_error *err)
{
    if (fi->width != info->columns || fi->height != info->rows ||
        fi->component_count != info->samples)
        return dqr_error_set(err, DQR_E_PARSE,
                             "JPEG-LS of %ux%u with %d components where the dataset says %ux%u with %u",
                             fi->width, fi->height, fi->component_count, info->columns, info->rows,
                             info->samples);
    if ((fi->bits_per_sample > 8) != (info->bits_allocated == 16) || info->bits_allocated == 32)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "JPEG-LS of %d bits with Bits Allocated %u cannot be decoded",
                             fi->bits_per_sample, info->bits_allocated);
    return DQR_OK;
}

dqr_status px_jpegls_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                            dqr_error *err)
{
    charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
    if (!dec)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG-LS decoder");
    charls_frame_info fi;
    charls_interleave_mode mode = CHARLS_INTERLEAVE_MODE_NONE;
    size_t need = px_frame_size(info), size = 0;
    uint8_t *planes = NULL;
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(dec, in, len);
    if (!ec)
        ec = charls_jpegls_decoder_read_header(dec);
    if (!ec)
        ec = charls_jpegls_decoder_get_frame_info(dec, &fi);
    if (!ec)
        ec = charls_jpegls_decoder_get_interleave_mode(dec, &mode);
    dqr_status st = ec ? charls_fail(ec, "header", err) : check_frame(info, &fi, err);
    if (!st && !(ec = charls_jpegls_decoder_get_destination_size(dec, 0, &size)) && size != need)
        st = dqr_error_set(err, DQR_E_PARSE, "JPEG-LS frame decodes to %zu bytes, not %zu", size, need);
    else if (!st && ec)
        st = charls_fail(ec, "header", err);
    bool planar = info->samples == 3 && mode == CHARLS_INTERLEAVE_MODE_NONE;
    if (!st && planar && !(planes = malloc(need)))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory for a frame of %zu bytes", need);
    if (!st && (ec = charls_jpegls_decoder_decode_to_buffer(dec, planar ? planes : out, need, 0)))
        st = charls_fail(ec, "data", err);
    if (!st && planar) {
        px_info p = *info;
        p.planar = 1;
        p.photometric = PX_RGB;
        px_native_decode(&p, planes, out);
    }
    free(planes);
    charls_jpegls_decoder_destroy(dec);
    return st;
}

dqr_status px_jpegls_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                            size_t *out_len, dqr_error *err)
{
    if (info->bits_allocated > 16 || info->is_signed)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "JPEG-LS holds unsigned samples of at most 16 bits");
    charls_jpegls_encoder *enc = charls_jpegls_encoder_create();
    if (!enc)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG-LS encoder");
    charls_frame_info fi = {.width = info->columns, .height = info->rows,
                            .bits_per_sample = info->bits_stored, .component_count = info->samples};
    size_t cap = 0, written = 0;
    uint8_t *buf = NULL;
    charls_jpegls_errc ec = charls_jpegls_encoder_set_frame_info(enc, &fi);
    if (!ec && info->samples == 3)
        ec = charls_jpegls_encoder_set_interleave_mode(enc, CHARLS_INTERLEAVE_MODE_SAMPLE);
    if (!ec)
        ec = charls_jpegls_encoder_get_estimated_destination_size(enc, &cap);
    dqr_status st = ec ? charls_fail(ec, "encoder", err) : DQR_OK;
    if (!st && !(buf = malloc(cap + 1)))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory encoding a JPEG-LS frame");
    if (!st && ((ec = charls_jpegls_encoder_set_destination_buffer(enc, buf, cap)) ||
                (ec = charls_jpegls_encoder_encode_from_buffer(enc, frame, px_frame_size(info), 0)) ||
                (ec = charls_jpegls_encoder_get_bytes_written(enc, &written))))
        st = charls_fail(ec, "encoding", err);
    charls_jpegls_encoder_destroy(enc);
    if (st) {
        free(buf);
        return st;
    }
    if (written % 2) /* fragments are of even length; a trailing pad byte is allowed */
        buf[written++] = 0;
    *out = buf;
    *out_len = written;
    return DQR_OK;
}

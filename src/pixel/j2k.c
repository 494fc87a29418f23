/* j2k.c — JPEG 2000 frames (lossless and lossy, codestream or JP2 file)
 * decoded, and lossless frames encoded, with OpenJPEG.
 *
 * OpenJPEG reads through a stream object; ours serves the frame's bytes
 * from memory. It undoes the multi-component transform itself, so frames
 * labelled YBR_RCT / YBR_ICT come out as RGB. Samples arrive as one int32
 * plane per component and are packed into the interleaved layout here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openjpeg.h>

#include "pixel/pixel_internal.h"

typedef struct mem_stream {
    const uint8_t *p;
    size_t len, pos;
} mem_stream;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *user)
{
    mem_stream *m = user;
    if (m->pos >= m->len)
        return (OPJ_SIZE_T)-1;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return n;
}

static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *user)
{
    mem_stream *m = user;
    if (n < 0)
        n = -(OPJ_OFF_T)m->pos > n ? -(OPJ_OFF_T)m->pos : n;
    else if ((uint64_t)n > m->len - m->pos)
        n = (OPJ_OFF_T)(m->len - m->pos);
    m->pos += (size_t)n;
    return n;
}

static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *user)
{
    mem_stream *m = user;
    if (n < 0 || (uint64_t)n > m->len)
        return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}

/* OpenJPEG's error callback: keep the first message for the caller. */
static void on_error(const char *msg, void *user)
{
    char *buf = user;
    if (!buf[0]) {
        snprintf(buf, 200, "%s", msg);
        buf[strcspn(buf, "\n")] = 0;
    }
}

static void on_warning(const char *msg, void *user)
{
    (void)msg; /* warnings are not failures: stay silent as a library must */
    (void)user;
}

static dqr_status check_image(const px_info *info, const opj_image_t *img, dqr_error *err)
{
    if (img->numcomps != info->samples)
        return dqr_error_set(err, DQR_E_PARSE, "JPEG 2000 with %u components where the dataset says %u",
                             img->numcomps, info->samples);
    for (unsigned c = 0; c < img->numcomps; c++) {
        const opj_image_comp_t *k = &img->comps[c];
        if (k->w != info->columns || k->h != info->rows || k->dx != 1 || k->dy != 1 || !k->data)
            return dqr_error_set(err, DQR_E_UNSUPPORTED,
                                 "JPEG 2000 component %u of %ux%u (subsampled %ux%u) for a %ux%u image",
                                 c, k->w, k->h, k->dx, k->dy, info->columns, info->rows);
        if (k->prec > info->bits_allocated)
            return dqr_error_set(err, DQR_E_PARSE, "JPEG 2000 of %u bits with Bits Allocated %u",
                                 k->prec, info->bits_allocated);
    }
    return DQR_OK;
}

static void pack(const px_info *info, const opj_image_t *img, uint8_t *out)
{
    size_t unit = info->bits_allocated / 8u, pixels = (size_t)info->rows * info->columns;
    for (size_t i = 0; i < pixels; i++)
        for (unsigned c = 0; c < img->numcomps; c++) {
            uint32_t v = (uint32_t)img->comps[c].data[i];
            uint8_t *p = out + (i * img->numcomps + c) * unit;
            for (size_t b = 0; b < unit; b++)
                p[b] = (uint8_t)(v >> (8 * b));
        }
}

dqr_status px_j2k_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                         px_photometric *photometric, dqr_error *err)
{
    static const uint8_t jp2_magic[4] = {0x00, 0x00, 0x00, 0x0C};
    mem_stream m = {in, len, 0};
    char msg[256] = "";
    bool jp2 = len >= 4 && memcmp(in, jp2_magic, 4) == 0;
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
    opj_image_t *img = NULL;
    if (!codec || !s) {
        opj_stream_destroy(s);
        opj_destroy_codec(codec);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG 2000 decoder");
    }
    opj_stream_set_user_data(s, &m, NULL);
    opj_stream_set_user_data_length(s, len);
    opj_stream_set_read_function(s, ms_read);
    opj_stream_set_skip_function(s, ms_skip);
    opj_stream_set_seek_function(s, ms_seek);
    opj_set_error_handler(codec, on_error, msg);
    opj_set_warning_handler(codec, on_warning, NULL);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    dqr_status st = DQR_OK;
    if (!opj_setup_decoder(codec, &params) || !opj_read_header(s, codec, &img) ||
        !opj_decode(codec, s, img) || !opj_end_decompress(codec, s))
        st = dqr_error_set(err, DQR_E_PARSE, "JPEG 2000: %s", msg[0] ? msg : "cannot be decoded");
    if (!st)
        st = check_image(info, img, err);
    if (!st) {
        pack(info, img, out);
        if (info->photometric == PX_YBR_RCT || info->photometric == PX_YBR_ICT)
            *photometric = PX_RGB;
    }
    opj_image_destroy(img);
    opj_stream_destroy(s);
    opj_destroy_codec(codec);
    return st;
}

/* A growing buffer OpenJPEG writes the codestream into. */
typedef struct out_stream {
    uint8_t *p;
    size_t len, cap, pos;
    bool failed;
} out_stream;

static OPJ_SIZE_T os_write(void *buf, OPJ_SIZE_T n, void *user)
{
    out_stream *o = user;
    if (o->pos + n > o->cap) {
        size_t cap = o->cap ? o->cap : 65536;
        while (cap < o->pos + n)
            cap *= 2;
        uint8_t *p = realloc(o->p, cap);
        if (!p) {
            o->failed = true;
            return (OPJ_SIZE_T)-1;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->pos, buf, n);
    o->pos += n;
    if (o->pos > o->len)
        o->len = o->pos;
    return n;
}

static OPJ_BOOL os_seek(OPJ_OFF_T n, void *user)
{
    out_stream *o = user;
    if (n < 0 || (uint64_t)n > o->len)
        return OPJ_FALSE;
    o->pos = (size_t)n;
    return OPJ_TRUE;
}

static OPJ_OFF_T os_skip(OPJ_OFF_T n, void *user)
{
    out_stream *o = user;
    return os_seek((OPJ_OFF_T)o->pos + n, user) ? n : -1;
}

/* An OpenJPEG image holding the frame's samples, one plane a component. */
static opj_image_t *to_image(const px_info *info)
{
    opj_image_cmptparm_t cp[3];
    memset(cp, 0, sizeof cp);
    for (unsigned c = 0; c < info->samples; c++) {
        cp[c].dx = cp[c].dy = 1;
        cp[c].w = info->columns;
        cp[c].h = info->rows;
        cp[c].prec = info->bits_stored;
        cp[c].sgnd = info->is_signed;
    }
    opj_image_t *img = opj_image_create(info->samples, cp,
                                        info->samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (img) {
        img->x1 = info->columns;
        img->y1 = info->rows;
    }
    return img;
}

dqr_status px_j2k_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                         size_t *out_len, dqr_error *err)
{
    if (info->bits_stored > 16 || (info->samples == 3 && info->photometric != PX_RGB))
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "JPEG 2000 encoding takes MONOCHROME or RGB samples of at most 16 bits");
    opj_image_t *img = to_image(info);
    if (!img)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG 2000 image");
    size_t pixels = (size_t)info->rows * info->columns;
    for (unsigned c = 0; c < info->samples; c++)
        for (size_t i = 0; i < pixels; i++)
            img->comps[c].data[i] = px_sample(info, frame, i, c);
    opj_cparameters_t p;
    opj_set_default_encoder_parameters(&p);
    p.tcp_numlayers = 1;
    p.tcp_rates[0] = 0; /* lossless: reversible 5/3 wavelet, no rate limit */
    p.cp_disto_alloc = 1;
    p.tcp_mct = info->samples == 3; /* reversible colour transform: YBR_RCT */
    p.numresolution = 1;
    while (p.numresolution < 6 && (1u << p.numresolution) <= info->rows &&
           (1u << p.numresolution) <= info->columns)
        p.numresolution++;
    char msg[256] = "";
    out_stream o = {0};
    opj_codec_t *codec = opj_create_compress(OPJ_CODEC_J2K);
    opj_stream_t *s = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
    dqr_status st = DQR_OK;
    if (!codec || !s) {
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory for a JPEG 2000 encoder");
    } else {
        opj_stream_set_user_data(s, &o, NULL);
        opj_stream_set_write_function(s, os_write);
        opj_stream_set_skip_function(s, os_skip);
        opj_stream_set_seek_function(s, os_seek);
        opj_set_error_handler(codec, on_error, msg);
        opj_set_warning_handler(codec, on_warning, NULL);
        if (!opj_setup_encoder(codec, &p, img) || !opj_start_compress(codec, img, s) ||
            !opj_encode(codec, s) || !opj_end_compress(codec, s) || o.failed)
            st = dqr_error_set(err, o.failed ? DQR_E_NOMEM : DQR_E_PARSE, "JPEG 2000 encoding: %s",
                               msg[0] ? msg : "failed");
    }
    opj_stream_destroy(s);
    opj_destroy_codec(codec);
    opj_image_destroy(img);
    if (!st && o.len % 2) /* fragments are of even length */
        st = os_write((uint8_t[1]){0}, 1, &o) == 1 ? DQR_OK
                                                   : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (st) {
        free(o.p);
        return st;
    }
    *out = o.p;
    *out_len = o.len;
    return DQR_OK;
}

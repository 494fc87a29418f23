/* test_edit.c — unit tests of pixel editing (src/pixel/edit*.c): regions
 * filled in mono 8 / 16-bit signed, RGB planar 0 and 1, multi-frame, clipped
 * and per-frame regions, and the write round trip through every syntax the
 * edit keeps (native, RLE, JPEG-LS, JPEG 2000 lossless, JPEG Lossless .57
 * and .70) or replaces (big endian, JPEG-LS near-lossless -> Explicit VR LE): the pixels outside
 * the regions come back bit-identical, those inside equal the fill. Also
 * the item-1 gaps: frames found by the Extended Offset Table, segmented
 * palette LUTs, Bits Allocated 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

typedef struct img {
    uint16_t rows, cols, spp, bits, stored, planar, frames;
    bool is_signed;
    const char *pi;
} img;

static px_info info_of(const img *m)
{
    px_info i = {.rows = m->rows, .columns = m->cols, .frames = m->frames, .samples = m->spp,
                 .bits_allocated = m->bits == 1 ? 8 : m->bits, /* 1 bit decodes to a byte a pixel */ .bits_stored = m->stored, .high_bit = (uint16_t)(m->stored - 1),
                 .is_signed = m->is_signed, .planar = 0,
                 .photometric = m->spp == 3 ? PX_RGB : PX_MONOCHROME2};
    return i;
}

/* Decoded frames (interleaved) of a deterministic pattern within Bits Stored. */
static uint8_t *frames_of(const img *m)
{
    px_info in = info_of(m);
    size_t n = px_frame_size(&in) * m->frames, unit = in.bits_allocated / 8u;
    uint8_t *p = malloc(n);
    assert_non_null(p);
    uint32_t mask = m->stored >= 32 ? 0xFFFFFFFFu : (1u << m->stored) - 1;
    for (size_t i = 0; i < n / unit; i++) {
        uint32_t v = (uint32_t)(i * 2654435761u >> 7) & mask;
        for (size_t b = 0; b < unit; b++)
            p[i * unit + b] = (uint8_t)(v >> (8 * b));
    }
    return p;
}

typedef struct buf {
    uint8_t *b;
    size_t n, cap;
} buf;

static void add(buf *o, const void *p, size_t n)
{
    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->b = realloc(o->b, o->cap);
        assert_non_null(o->b);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void el_hdr(buf *o, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
    uint8_t h[12] = {(uint8_t)g, (uint8_t)(g >> 8), (uint8_t)e, (uint8_t)(e >> 8), (uint8_t)vr[0], (uint8_t)vr[1]};
    bool lng = strcmp(vr, "OB") == 0 || strcmp(vr, "OW") == 0 || strcmp(vr, "OV") == 0;
    if (lng) {
        memcpy(h + 8, (uint8_t[]){(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)}, 4);
        add(o, h, 12);
    } else {
        h[6] = (uint8_t)len, h[7] = (uint8_t)(len >> 8);
        add(o, h, 8);
    }
}

static void us(buf *o, uint16_t e, uint16_t v)
{
    el_hdr(o, 0x0028, e, "US", 2);
    add(o, (uint8_t[]){(uint8_t)v, (uint8_t)(v >> 8)}, 2);
}

static void str(buf *o, uint16_t g, uint16_t e, const char *vr, const char *s)
{
    size_t n = strlen(s);
    el_hdr(o, g, e, vr, (uint32_t)(n + (n & 1)));
    add(o, s, n);
    if (n & 1)
        add(o, strcmp(vr, "UI") == 0 ? "" : " ", 1);
}

static void item(buf *o, const void *p, uint32_t n)
{
    add(o, (uint8_t[]){0xFE, 0xFF, 0x00, 0xE0, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)}, 8);
    add(o, p, n);
}

typedef enum enc { ENC_NATIVE, ENC_RLE, ENC_JLS, ENC_J2K, ENC_JLL } enc;

/* A Part 10 file of m in transfer syntax ts (the meta written by hand,
 * the dataset Explicit VR LE), its frames encoded with e; a Basic Offset
 * Table when bot. Native data is laid out for m->planar. */
typedef enum tables { T_NONE, T_BOT, T_EOT_SPLIT } tables;

static dcm_file *make_file_t(const img *m, const uint8_t *frames, const char *ts, enc e, tables t);

static dcm_file *make_file(const img *m, const uint8_t *frames, const char *ts, enc e, bool bot)
{
    return make_file_t(m, frames, ts, e, bot ? T_BOT : T_NONE);
}

/* As make_file; T_EOT_SPLIT: each frame in two fragments, an empty Basic
 * and a full Extended Offset Table. */
static dcm_file *make_file_t(const img *m, const uint8_t *frames, const char *ts, enc e, tables t)
{
    bool bot = t == T_BOT;
    if (strcmp(ts, DCM_TS_DEFLATED_LE) == 0 || strcmp(ts, DCM_TS_EXPLICIT_BE) == 0 ||
        strcmp(ts, DCM_TS_IMPLICIT_LE) == 0) { /* the codec writes these from an Explicit VR LE file */
        dcm_file *le = make_file(m, frames, DCM_TS_EXPLICIT_LE, e, bot);
        dcm_write_options o = {.transfer_syntax = ts};
        uint8_t *b;
        size_t n;
        assert_int_equal(dcm_file_encode(le, &o, &b, &n, NULL), DQR_OK);
        dcm_file_close(le);
        dcm_file *f = dcm_file_parse(b, n, NULL);
        free(b);
        assert_non_null(f);
        assert_string_equal(dcm_file_transfer_syntax(f), ts);
        return f;
    }
    buf o = {0};
    uint8_t pre[128] = {0};
    add(&o, pre, 128);
    add(&o, "DICM", 4);
    str(&o, 0x0002, 0x0010, "UI", ts);
    us(&o, 0x0002, m->spp);
    str(&o, 0x0028, 0x0004, "CS", m->pi);
    if (m->spp == 3)
        us(&o, 0x0006, m->planar);
    char nf[12];
    snprintf(nf, sizeof nf, "%u", m->frames);
    str(&o, 0x0028, 0x0008, "IS", nf);
    us(&o, 0x0010, m->rows);
    us(&o, 0x0011, m->cols);
    us(&o, 0x0100, m->bits);
    us(&o, 0x0101, m->stored);
    us(&o, 0x0102, (uint16_t)(m->stored - 1));
    us(&o, 0x0103, m->is_signed);
    px_info in = info_of(m);
    size_t fs = px_frame_size(&in);
    if (e == ENC_NATIVE && m->bits == 1) { /* packed LSB first, frames back to back */
        size_t bits = fs * m->frames, nb = (bits + 7) / 8;
        uint8_t *packed = calloc(nb + 1, 1);
        for (size_t i = 0; i < bits; i++)
            packed[i / 8] |= (uint8_t)((frames[i] & 1u) << (i % 8));
        el_hdr(&o, 0x7FE0, 0x0010, "OB", (uint32_t)(nb + (nb & 1)));
        add(&o, packed, nb + (nb & 1));
        free(packed);
    } else if (e == ENC_NATIVE) {
        el_hdr(&o, 0x7FE0, 0x0010, m->bits == 8 ? "OB" : "OW", (uint32_t)(fs * m->frames + (fs * m->frames & 1)));
        for (uint32_t k = 0; k < m->frames; k++) {
            px_info pl = in;
            pl.planar = m->planar;
            uint8_t *t = malloc(fs);
            assert_int_equal(px_native_encode(&pl, frames + k * fs, t, NULL), DQR_OK);
            add(&o, t, fs);
            free(t);
        }
        if (fs * m->frames & 1)
            add(&o, "", 1);
    } else {
        uint8_t **frag = calloc(m->frames, sizeof *frag);
        size_t *len = calloc(m->frames, sizeof *len);
        uint8_t offs[4 * 64];
        uint32_t at = 0;
        for (uint32_t k = 0; k < m->frames; k++) {
            dqr_error err = {0};
            dqr_status st = e == ENC_RLE   ? px_rle_encode(&in, frames + k * fs, &frag[k], &len[k], &err)
                            : e == ENC_JLS ? px_jpegls_encode(&in, frames + k * fs, &frag[k], &len[k], &err)
                            : e == ENC_JLL ? px_jpeg_lossless_encode(&in, frames + k * fs, &frag[k], &len[k], &err)
                                           : px_j2k_encode(&in, frames + k * fs, &frag[k], &len[k], &err);
            assert_int_equal(st, DQR_OK);
            memcpy(offs + 4 * k, (uint8_t[]){(uint8_t)at, (uint8_t)(at >> 8), (uint8_t)(at >> 16), (uint8_t)(at >> 24)}, 4);
            at += 8u + (uint32_t)len[k] + (t == T_EOT_SPLIT ? 8u : 0u);
        }
        if (t == T_EOT_SPLIT) { /* (7FE0,0001) OV: the same offsets, 64-bit */
            el_hdr(&o, 0x7FE0, 0x0001, "OV", 8u * m->frames);
            for (uint32_t k = 0; k < m->frames; k++)
                add(&o, (uint8_t[]){offs[4 * k], offs[4 * k + 1], offs[4 * k + 2], offs[4 * k + 3], 0, 0, 0, 0}, 8);
        }
        el_hdr(&o, 0x7FE0, 0x0010, "OB", 0xFFFFFFFFu);
        item(&o, offs, bot ? 4u * m->frames : 0);
        for (uint32_t k = 0; k < m->frames; k++) {
            uint32_t half = t == T_EOT_SPLIT ? (uint32_t)len[k] / 2u & ~1u : (uint32_t)len[k];
            item(&o, frag[k], half);
            if (t == T_EOT_SPLIT)
                item(&o, frag[k] + half, (uint32_t)len[k] - half);
            free(frag[k]);
        }
        add(&o, (uint8_t[]){0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}, 8);
        free(frag);
        free(len);
    }
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse(o.b, o.n, &err);
    free(o.b);
    assert_non_null(f);
    return f;
}

static bool inside(const px_region *r, uint32_t frame, uint32_t x, uint32_t y)
{
    return (r->frame == PX_ALL_FRAMES || r->frame == frame) && x >= r->left && x < r->right && y >= r->top &&
           y < r->bottom;
}

/* Write f with e attached, read it back and check every sample: the last
 * region containing a pixel gives its value, others keep orig. Returns the
 * re-read file (caller closes). */
static dcm_file *edit_and_check(dcm_file *f, const img *m, const uint8_t *orig, const px_region *r, size_t nr,
                                const char *want_ts)
{
    dqr_error err = {0};
    px_edit *e = px_edit_new();
    for (size_t i = 0; i < nr; i++)
        assert_int_equal(px_edit_add(e, &r[i], &err), DQR_OK);
    assert_int_equal(px_edit_attach(f, e, &err), DQR_OK);
    px_edit_free(e);
    for (uint16_t i = 0; i < 64; i++) /* the dataset grows after the attach, as the record does */
        assert_non_null(dcm_dataset_set_string(dcm_file_dataset(f), DCM_TAG(0x0019, 0x1000 + i), DCM_VR_LO, "x", NULL));
    uint8_t *bytes;
    size_t len;
    if (dcm_file_encode(f, NULL, &bytes, &len, &err) != DQR_OK)
        fail_msg("%s", err.message);
    dcm_file *g = dcm_file_parse(bytes, len, &err);
    free(bytes);
    if (!g)
        fail_msg("%s", err.message);
    assert_string_equal(dcm_file_transfer_syntax(g), want_ts);
    px_frames *it;
    assert_int_equal(px_frames_open(g, &it, &err), DQR_OK);
    px_info in = info_of(m);
    size_t fs = px_frame_size(&in);
    const uint8_t *data;
    for (uint32_t k = 0; k < m->frames; k++) {
        assert_int_equal(px_frame_next(it, &data, &err), DQR_OK);
        for (uint32_t y = 0; y < m->rows; y++)
            for (uint32_t x = 0; x < m->cols; x++)
                for (unsigned s = 0; s < m->spp; s++) {
                    size_t p = (size_t)y * m->cols + x;
                    int32_t want = px_sample(&in, orig + k * fs, p, s);
                    for (size_t i = 0; i < nr; i++)
                        if (inside(&r[i], k, x, y))
                            want = r[i].value[r[i].rgb ? s : 0];
                    assert_int_equal(px_sample(px_frames_info(it), data, p, s), want);
                }
    }
    px_frames_close(it);
    return g;
}

static void run(const img *m, const char *ts, enc e, const px_region *r, size_t nr, const char *want_ts)
{
    uint8_t *orig = frames_of(m);
    dcm_file *f = make_file(m, orig, ts, e, false);
    dcm_file *g = edit_and_check(f, m, orig, r, nr, want_ts);
    dcm_file_close(g);
    dcm_file_close(f);
    free(orig);
}

static const px_region box = {.left = 2, .top = 1, .right = 6, .bottom = 4, .frame = PX_ALL_FRAMES, .value = {0}};

static void test_mono8_native(void **state)
{
    (void)state;
    img m = {.rows = 9, .cols = 11, .spp = 1, .bits = 8, .stored = 8, .frames = 1, .pi = "MONOCHROME2"};
    px_region over = {.left = 8, .top = 7, .right = 300, .bottom = 300, .frame = PX_ALL_FRAMES, .value = {255}};
    run(&m, DCM_TS_EXPLICIT_LE, ENC_NATIVE, (px_region[]){box, over}, 2, DCM_TS_EXPLICIT_LE);
    run(&m, DCM_TS_IMPLICIT_LE, ENC_NATIVE, &over, 1, DCM_TS_IMPLICIT_LE);
    /* the produced frames are little-endian: a big-endian write is refused, not written wrong */
    uint8_t *orig = frames_of(&m), *b = NULL;
    dcm_file *f = make_file(&m, orig, DCM_TS_EXPLICIT_LE, ENC_NATIVE, false);
    px_edit *e = px_edit_new();
    assert_int_equal(px_edit_add(e, &box, NULL), DQR_OK);
    assert_int_equal(px_edit_attach(f, e, NULL), DQR_OK);
    dcm_write_options o = {.transfer_syntax = DCM_TS_EXPLICIT_BE};
    size_t n;
    assert_int_equal(dcm_file_encode(f, &o, &b, &n, NULL), DQR_E_UNSUPPORTED);
    px_edit_free(e);
    dcm_file_close(f);
    free(orig);
}

static void test_mono16_signed(void **state)
{
    (void)state;
    img m = {.rows = 8, .cols = 7, .spp = 1, .bits = 16, .stored = 12, .frames = 1, .is_signed = true,
             .pi = "MONOCHROME2"};
    px_region r = box;
    r.value[0] = -1000;
    run(&m, DCM_TS_EXPLICIT_LE, ENC_NATIVE, &r, 1, DCM_TS_EXPLICIT_LE);
    run(&m, DCM_TS_DEFLATED_LE, ENC_NATIVE, &r, 1, DCM_TS_DEFLATED_LE);
    r.value[0] = 2048; /* beyond 12-bit signed */
    uint8_t *orig = frames_of(&m);
    dcm_file *f = make_file(&m, orig, DCM_TS_EXPLICIT_LE, ENC_NATIVE, false);
    px_edit *e = px_edit_new();
    dqr_error err = {0};
    assert_int_equal(px_edit_add(e, &r, &err), DQR_OK);
    assert_int_equal(px_edit_attach(f, e, &err), DQR_E_USAGE);
    assert_non_null(strstr(err.message, "does not fit 12-bit signed"));
    px_edit_free(e);
    dcm_file_close(f);
    free(orig);
}

static void test_rgb_planar(void **state)
{
    (void)state;
    px_region r = box;
    r.rgb = true;
    r.value[0] = 200, r.value[1] = 10, r.value[2] = 30;
    for (uint16_t planar = 0; planar < 2; planar++) {
        img m = {.rows = 6, .cols = 9, .spp = 3, .bits = 8, .stored = 8, .planar = planar, .frames = 1, .pi = "RGB"};
        uint8_t *orig = frames_of(&m);
        dcm_file *f = make_file(&m, orig, DCM_TS_EXPLICIT_LE, ENC_NATIVE, false);
        dcm_file *g = edit_and_check(f, &m, orig, &r, 1, DCM_TS_EXPLICIT_LE);
        long pc = -1;
        assert_true(dcm_dataset_get_int(dcm_file_dataset(g), DCM_TAG(0x0028, 0x0006), &pc));
        assert_int_equal(pc, planar); /* native stays as it was stored */
        dcm_file_close(g);
        dcm_file_close(f);
        free(orig);
    }
    /* r,g,b on a single sample image is refused */
    img mono = {.rows = 4, .cols = 4, .spp = 1, .bits = 8, .stored = 8, .frames = 1, .pi = "MONOCHROME2"};
    uint8_t *orig = frames_of(&mono);
    dcm_file *f = make_file(&mono, orig, DCM_TS_EXPLICIT_LE, ENC_NATIVE, false);
    px_edit *e = px_edit_new();
    dqr_error err = {0};
    assert_int_equal(px_edit_add(e, &r, &err), DQR_OK);
    assert_int_equal(px_edit_attach(f, e, &err), DQR_E_USAGE);
    px_edit_free(e);
    dcm_file_close(f);
    free(orig);
}

static void test_multi_frame(void **state)
{
    (void)state;
    img m = {.rows = 5, .cols = 6, .spp = 1, .bits = 16, .stored = 16, .frames = 4, .pi = "MONOCHROME2"};
    px_region second = {.left = 0, .top = 0, .right = 3, .bottom = 2, .frame = 1, .value = {65535}};
    px_region all = box;
    all.value[0] = 7;
    run(&m, DCM_TS_EXPLICIT_LE, ENC_NATIVE, (px_region[]){second, all}, 2, DCM_TS_EXPLICIT_LE);
    run(&m, DCM_TS_EXPLICIT_BE, ENC_NATIVE, (px_region[]){second, all}, 2, DCM_TS_EXPLICIT_LE);
    run(&m, "1.2.840.10008.1.2.5", ENC_RLE, (px_region[]){second, all}, 2, "1.2.840.10008.1.2.5");
}

static void test_compressed_syntaxes(void **state)
{
    (void)state;
    img mono = {.rows = 16, .cols = 20, .spp = 1, .bits = 16, .stored = 12, .frames = 2, .pi = "MONOCHROME2"};
    img rgb = {.rows = 12, .cols = 10, .spp = 3, .bits = 8, .stored = 8, .frames = 2, .pi = "RGB"};
    px_region c = box;
    c.rgb = true;
    c.value[0] = 1, c.value[1] = 2, c.value[2] = 250;
    run(&mono, "1.2.840.10008.1.2.5", ENC_RLE, &box, 1, "1.2.840.10008.1.2.5");
    run(&rgb, "1.2.840.10008.1.2.5", ENC_RLE, &c, 1, "1.2.840.10008.1.2.5");
    run(&mono, "1.2.840.10008.1.2.4.80", ENC_JLS, &box, 1, "1.2.840.10008.1.2.4.80");
    run(&rgb, "1.2.840.10008.1.2.4.80", ENC_JLS, &c, 1, "1.2.840.10008.1.2.4.80");
    run(&mono, "1.2.840.10008.1.2.4.90", ENC_J2K, &box, 1, "1.2.840.10008.1.2.4.90");
    /* near-lossless and "any" JPEG 2000 are taken as lossy: written native */
    run(&mono, "1.2.840.10008.1.2.4.81", ENC_JLS, &box, 1, DCM_TS_EXPLICIT_LE);
    run(&mono, "1.2.840.10008.1.2.4.91", ENC_J2K, &box, 1, DCM_TS_EXPLICIT_LE);
}

/* JPEG Lossless (.70 and .57) is kept: encoded with selection value 1,
 * decoded back by the hand decoder; 16-bit extremes exercise differences
 * modulo 2^16 and category 16. */
static void test_jpeg_lossless_kept(void **state)
{
    (void)state;
    img mono = {.rows = 9, .cols = 13, .spp = 1, .bits = 16, .stored = 12, .frames = 2, .pi = "MONOCHROME2"};
    img full = {.rows = 4, .cols = 6, .spp = 1, .bits = 16, .stored = 16, .frames = 1, .is_signed = true,
                .pi = "MONOCHROME2"};
    img rgb = {.rows = 7, .cols = 5, .spp = 3, .bits = 8, .stored = 8, .frames = 1, .pi = "RGB"};
    px_region c = box;
    c.rgb = true;
    c.value[0] = 255, c.value[1] = 0, c.value[2] = 128;
    px_region lo = box;
    lo.value[0] = -32768;
    run(&mono, "1.2.840.10008.1.2.4.70", ENC_JLL, &box, 1, "1.2.840.10008.1.2.4.70");
    run(&mono, "1.2.840.10008.1.2.4.57", ENC_JLL, &box, 1, "1.2.840.10008.1.2.4.57");
    run(&full, "1.2.840.10008.1.2.4.70", ENC_JLL, &lo, 1, "1.2.840.10008.1.2.4.70");
    run(&rgb, "1.2.840.10008.1.2.4.70", ENC_JLL, &c, 1, "1.2.840.10008.1.2.4.70");
    /* alternating 0 / 65535: every difference is +-32767 or 32768 */
    px_info in = info_of(&full);
    uint8_t frame[48], back[48], *enc;
    for (int i = 0; i < 24; i++)
        frame[2 * i] = frame[2 * i + 1] = (uint8_t)(i % 2 ? 0xFF : 0x00);
    frame[0] = 0x00, frame[1] = 0x80; /* the first sample 32768 away from its prediction */
    size_t len;
    assert_int_equal(px_jpeg_lossless_encode(&in, frame, &enc, &len, NULL), DQR_OK);
    assert_int_equal(len % 2, 0);
    px_frames *it;
    img one = full;
    uint8_t *src = malloc(48);
    memcpy(src, frame, 48);
    dcm_file *g = make_file(&one, src, "1.2.840.10008.1.2.4.70", ENC_JLL, false);
    const uint8_t *data;
    assert_int_equal(px_frames_open(g, &it, NULL), DQR_OK);
    assert_int_equal(px_frame_next(it, &data, NULL), DQR_OK);
    memcpy(back, data, 48);
    assert_memory_equal(back, frame, 48);
    px_frames_close(it);
    dcm_file_close(g);
    free(src);
    free(enc);
}

static void test_j2k_rgb_becomes_rct(void **state)
{
    (void)state;
    img rgb = {.rows = 8, .cols = 8, .spp = 3, .bits = 8, .stored = 8, .frames = 1, .pi = "RGB"};
    px_region c = box;
    c.rgb = true;
    c.value[0] = 9, c.value[1] = 99, c.value[2] = 199;
    uint8_t *orig = frames_of(&rgb);
    dcm_file *f = make_file(&rgb, orig, "1.2.840.10008.1.2.4.90", ENC_J2K, false);
    dcm_file *g = edit_and_check(f, &rgb, orig, &c, 1, "1.2.840.10008.1.2.4.90");
    char pi[32];
    assert_string_equal(dcm_dataset_get_string(dcm_file_dataset(g), DCM_TAG(0x0028, 0x0004), pi, sizeof pi),
                        "YBR_RCT");
    dcm_file_close(g);
    dcm_file_close(f);
    free(orig);
}

/* A source with a Basic Offset Table gets one that points at the new fragments. */
static void test_offset_table_rewritten(void **state)
{
    (void)state;
    img m = {.rows = 10, .cols = 10, .spp = 1, .bits = 8, .stored = 8, .frames = 3, .pi = "MONOCHROME2"};
    uint8_t *orig = frames_of(&m);
    dcm_file *f = make_file(&m, orig, "1.2.840.10008.1.2.5", ENC_RLE, true);
    dcm_file *g = edit_and_check(f, &m, orig, &box, 1, "1.2.840.10008.1.2.5");
    const dcm_element *px = dcm_dataset_get(dcm_file_dataset(g), DCM_TAG_PIXEL_DATA);
    assert_int_equal(dcm_element_fragment_count(px), 4);
    uint8_t bot[12];
    assert_int_equal(dcm_element_fragment_length(px, 0), 12);
    assert_int_equal(dcm_element_read_fragment(px, 0, 0, bot, 12, NULL), DQR_OK);
    uint32_t want = 0;
    for (int k = 0; k < 3; k++) {
        uint32_t got = bot[4 * k] | bot[4 * k + 1] << 8 | bot[4 * k + 2] << 16 | (uint32_t)bot[4 * k + 3] << 24;
        assert_int_equal(got, want);
        want += 8u + dcm_element_fragment_length(px, (size_t)k + 1);
    }
    dcm_file_close(g);
    dcm_file_close(f);
    free(orig);
}

/* Frames in two fragments each, found only through the Extended Offset
 * Table; the edit writes one fragment a frame, an Extended Offset Table and
 * its lengths for them, and an empty Basic Offset Table. */
static void test_extended_offset_table_read(void **state)
{
    (void)state;
    img m = {.rows = 10, .cols = 12, .spp = 1, .bits = 8, .stored = 8, .frames = 3, .pi = "MONOCHROME2"};
    uint8_t *orig = frames_of(&m);
    dcm_file *f = make_file_t(&m, orig, "1.2.840.10008.1.2.5", ENC_RLE, T_EOT_SPLIT);
    assert_int_equal(dcm_element_fragment_count(dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA)), 7);
    dcm_file *g = edit_and_check(f, &m, orig, &box, 1, "1.2.840.10008.1.2.5");
    const dcm_element *px = dcm_dataset_get(dcm_file_dataset(g), DCM_TAG_PIXEL_DATA);
    const dcm_element *eot = dcm_dataset_get(dcm_file_dataset(g), DCM_TAG(0x7FE0, 0x0001));
    const dcm_element *lens = dcm_dataset_get(dcm_file_dataset(g), DCM_TAG(0x7FE0, 0x0002));
    assert_int_equal(dcm_element_fragment_count(px), 4);
    assert_int_equal(dcm_element_fragment_length(px, 0), 0); /* with an Extended Offset Table the Basic one is empty */
    assert_non_null(eot);
    assert_non_null(lens);
    assert_int_equal(dcm_element_vr(eot), DCM_VR_OV);
    assert_int_equal(dcm_element_vr(lens), DCM_VR_UV);
    uint8_t off[24], len[24];
    assert_int_equal(dcm_element_read(eot, 0, off, 24, NULL), DQR_OK);
    assert_int_equal(dcm_element_read(lens, 0, len, 24, NULL), DQR_OK);
    uint64_t want = 0;
    for (int k = 0; k < 3; k++) {
        uint64_t o = 0, l = 0;
        for (int b = 7; b >= 0; b--)
            o = o << 8 | off[8 * k + b], l = l << 8 | len[8 * k + b];
        assert_int_equal(o, want);
        assert_int_equal(l, dcm_element_fragment_length(px, (size_t)k + 1));
        want += 8u + l;
    }
    dcm_file_close(g);
    dcm_file_close(f);
    free(orig);
}

static void set_us3(dcm_dataset *ds, uint16_t elem, const uint16_t v[3], dcm_vr vr)
{
    uint8_t b[6];
    for (int i = 0; i < 3; i++)
        b[2 * i] = (uint8_t)v[i], b[2 * i + 1] = (uint8_t)(v[i] >> 8);
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, elem), vr, b, 6, NULL));
}

/* Segmented palette LUTs (PS3.3 C.7.9.2): discrete, linear and indirect
 * segments expanded to the table a plain LUT would give. */
static void test_segmented_palette(void **state)
{
    (void)state;
    dcm_dataset *ds = dcm_dataset_new();
    uint8_t v1[2] = {1, 0};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0002), DCM_VR_US, v1, 2, NULL));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, "PALETTE COLOR", NULL));
    uint8_t v2[2] = {2, 0}, v8[2] = {8, 0}, v0[2] = {0, 0};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0010), DCM_VR_US, v2, 2, NULL));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0011), DCM_VR_US, v2, 2, NULL));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0100), DCM_VR_US, v8, 2, NULL));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0101), DCM_VR_US, v8, 2, NULL));
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0103), DCM_VR_US, v0, 2, NULL));
    const uint16_t desc[3] = {9, 0, 16};
    /* discrete 0, 100; linear to 400 over 3 entries; indirect: the first segment again; discrete 7, 7 */
    const uint16_t seg[] = {0, 2, 0, 100, 1, 3, 400, 2, 1, 0, 0, 0, 2, 7, 7};
    const uint16_t want[9] = {0, 100, 200, 300, 400, 0, 100, 7, 7};
    uint8_t raw[sizeof seg];
    for (size_t i = 0; i < sizeof seg / 2; i++)
        raw[2 * i] = (uint8_t)seg[i], raw[2 * i + 1] = (uint8_t)(seg[i] >> 8);
    for (uint16_t c = 0; c < 3; c++) {
        set_us3(ds, (uint16_t)(0x1101 + c), desc, DCM_VR_US);
        assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x1221 + c), DCM_VR_OW, raw, sizeof raw, NULL));
    }
    const uint8_t px[4] = {0, 2, 4, 8};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, px, 4, NULL));
    dcm_file *f = dcm_file_wrap(NULL, ds, DCM_TS_EXPLICIT_LE, NULL);
    px_frames *it;
    dqr_error err = {0};
    if (px_frames_open(f, &it, &err) != DQR_OK)
        fail_msg("%s", err.message);
    const px_palette *pal = px_frames_palette(it);
    assert_non_null(pal);
    assert_int_equal(pal->entries, 9);
    for (int c = 0; c < 3; c++)
        assert_memory_equal(pal->lut[c], want, sizeof want);
    px_frames_close(it);
    dcm_file_close(f);
}

/* Bits Allocated 1: frames of 15 bits share bytes; decoded a byte a pixel,
 * edited, packed back the same way. */
static void test_one_bit(void **state)
{
    (void)state;
    img m = {.rows = 3, .cols = 5, .spp = 1, .bits = 1, .stored = 1, .frames = 3, .pi = "MONOCHROME2"};
    px_region on = {.left = 1, .top = 0, .right = 3, .bottom = 2, .frame = PX_ALL_FRAMES, .value = {1}};
    px_region off = {.left = 0, .top = 2, .right = 5, .bottom = 3, .frame = 1, .value = {0}};
    run(&m, DCM_TS_EXPLICIT_LE, ENC_NATIVE, (px_region[]){on, off}, 2, DCM_TS_EXPLICIT_LE);
    uint8_t *orig = frames_of(&m);
    dcm_file *f = make_file(&m, orig, DCM_TS_EXPLICIT_LE, ENC_NATIVE, false);
    px_region two = on;
    two.value[0] = 2;
    px_edit *e = px_edit_new();
    assert_int_equal(px_edit_add(e, &two, NULL), DQR_OK);
    assert_int_equal(px_edit_attach(f, e, NULL), DQR_E_USAGE); /* a 1-bit image takes 0 or 1 */
    px_edit_free(e);
    dcm_file_close(f);
    free(orig);
}

static void test_frame_fill_counts(void **state)
{
    (void)state;
    img m = {.rows = 4, .cols = 4, .spp = 1, .bits = 8, .stored = 8, .frames = 1, .pi = "MONOCHROME2"};
    px_info in = info_of(&m);
    uint8_t frame[16] = {0};
    px_edit *e = px_edit_new();
    px_region r = {.left = -2, .top = 3, .right = 2, .bottom = 9, .frame = PX_ALL_FRAMES, .value = {5}};
    assert_int_equal(px_edit_add(e, &r, NULL), DQR_OK);
    assert_int_equal(px_edit_frame(e, &in, 0, frame), 2); /* columns 0-1 of row 3 */
    assert_int_equal(frame[12], 5);
    assert_int_equal(frame[13], 5);
    assert_int_equal(frame[14], 0);
    assert_int_equal(frame[11], 0);
    px_region bad = {.left = 3, .right = 2, .bottom = 1};
    assert_int_equal(px_edit_add(e, &bad, NULL), DQR_E_USAGE);
    px_edit_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mono8_native),     cmocka_unit_test(test_mono16_signed),
        cmocka_unit_test(test_rgb_planar),       cmocka_unit_test(test_multi_frame),
        cmocka_unit_test(test_compressed_syntaxes), cmocka_unit_test(test_j2k_rgb_becomes_rct),
        cmocka_unit_test(test_offset_table_rewritten), cmocka_unit_test(test_frame_fill_counts),
        cmocka_unit_test(test_extended_offset_table_read), cmocka_unit_test(test_segmented_palette),
        cmocka_unit_test(test_one_bit),          cmocka_unit_test(test_jpeg_lossless_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

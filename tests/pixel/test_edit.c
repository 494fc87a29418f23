/* test_edit.c — unit tests of pixel editing (src/pixel/edit*.c): regions
 * filled in mono 8 / 16-bit signed, RGB planar 0 and 1, multi-frame, clipped
 * and per-frame regions, and the write round trip through every syntax the
 * edit keeps (native, RLE, JPEG-LS and JPEG 2000 lossless) or replaces
 * (big endian, JPEG-LS near-lossless -> Explicit VR LE): the pixels outside
 * the regions come back bit-identical, those inside equal the fill. */
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
                 .bits_allocated = m->bits, .bits_stored = m->stored, .high_bit = (uint16_t)(m->stored - 1),
                 .is_signed = m->is_signed, .planar = 0,
                 .photometric = m->spp == 3 ? PX_RGB : PX_MONOCHROME2};
    return i;
}

/* Decoded frames (interleaved) of a deterministic pattern within Bits Stored. */
static uint8_t *frames_of(const img *m)
{
    px_info in = info_of(m);
    size_t n = px_frame_size(&in) * m->frames, unit = m->bits / 8u;
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
    bool lng = strcmp(vr, "OB") == 0 || strcmp(vr, "OW") == 0;
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

typedef enum enc { ENC_NATIVE, ENC_RLE, ENC_JLS, ENC_J2K } enc;

/* A Part 10 file of m in transfer syntax ts (the meta written by hand,
 * the dataset Explicit VR LE), its frames encoded with e; a Basic Offset
 * Table when bot. Native data is laid out for m->planar. */
static dcm_file *make_file(const img *m, const uint8_t *frames, const char *ts, enc e, bool bot)
{
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
    if (e == ENC_NATIVE) {
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
        el_hdr(&o, 0x7FE0, 0x0010, "OB", 0xFFFFFFFFu);
        uint8_t **frag = calloc(m->frames, sizeof *frag);
        size_t *len = calloc(m->frames, sizeof *len);
        uint8_t offs[4 * 64];
        uint32_t at = 0;
        for (uint32_t k = 0; k < m->frames; k++) {
            dqr_error err = {0};
            dqr_status st = e == ENC_RLE   ? px_rle_encode(&in, frames + k * fs, &frag[k], &len[k], &err)
                            : e == ENC_JLS ? px_jpegls_encode(&in, frames + k * fs, &frag[k], &len[k], &err)
                                           : px_j2k_encode(&in, frames + k * fs, &frag[k], &len[k], &err);
            assert_int_equal(st, DQR_OK);
            memcpy(offs + 4 * k, (uint8_t[]){(uint8_t)at, (uint8_t)(at >> 8), (uint8_t)(at >> 16), (uint8_t)(at >> 24)}, 4);
            at += 8u + (uint32_t)len[k];
        }
        item(&o, offs, bot ? 4u * m->frames : 0);
        for (uint32_t k = 0; k < m->frames; k++) {
            item(&o, frag[k], (uint32_t)len[k]);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

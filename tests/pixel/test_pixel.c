/* test_pixel.c — unit tests of the pixel layer: RLE encode/decode round
 * trips and a hand-made RLE frame, YBR conversions, palette expansion,
 * planar configuration, YBR_FULL_422, signed 12-bit samples, multi-frame
 * iteration, JPEG-LS and JPEG 2000 lossless round trips, the error for a transfer
 * syntax not decoded, and which JPEG frames go to the 12-bit decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"
#include "pixel/pixel_internal.h" /* the per-codec frame decoders */

static px_info image(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t bits, px_photometric pi)
{
    px_info i = {.rows = rows, .columns = cols, .frames = 1, .samples = spp, .bits_allocated = bits,
                 .bits_stored = bits, .high_bit = (uint16_t)(bits - 1), .photometric = pi};
    return i;
}

/* Runs long and short, literals, and a row boundary inside a run. */
static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (i / 7) % 3 == 0 ? (uint8_t)seed : (i % 300 < 200 ? 0x55 : (uint8_t)(i * 31 + seed));
    return p;
}

static void round_trip(px_info info)
{
    size_t n = px_frame_size(&info);
    uint8_t *frame = pattern(n, info.bits_allocated), *back = malloc(n), *rle;
    size_t len;
    dqr_error err = {0};
    assert_int_equal(px_rle_encode(&info, frame, &rle, &len, &err), DQR_OK);
    assert_int_equal(len % 2, 0);
    assert_int_equal(rle[0], info.samples * info.bits_allocated / 8); /* segments */
    assert_int_equal(px_rle_decode(&info, rle, len, back, &err), DQR_OK);
    assert_memory_equal(frame, back, n);
    free(frame);
    free(back);
    free(rle);
}

static void test_rle_round_trips(void **state)
{
    (void)state;
    round_trip(image(17, 301, 1, 8, PX_MONOCHROME2)); /* rows longer than 128: split runs */
    round_trip(image(9, 33, 1, 16, PX_MONOCHROME2));
    round_trip(image(5, 7, 3, 8, PX_RGB));
    round_trip(image(4, 130, 3, 16, PX_RGB));
    round_trip(image(3, 3, 1, 32, PX_MONOCHROME2));
}

static void jpegls_round_trip(px_info info)
{
    size_t n = px_frame_size(&info);
    uint8_t *frame = pattern(n, 3), *back = malloc(n), *jls;
    size_t len;
    dqr_error err = {0};
    if (info.bits_allocated == 16) /* keep to bits_stored: JPEG-LS codes only those */
        for (size_t i = 1; i < n; i += 2)
            frame[i] &= 0x0F;
    assert_int_equal(px_jpegls_encode(&info, frame, &jls, &len, &err), DQR_OK);
    assert_int_equal(len % 2, 0);
    assert_int_equal(px_jpegls_decode(&info, jls, len, back, &err), DQR_OK);
    assert_memory_equal(frame, back, n);
    free(frame);
    free(back);
    free(jls);
}

static void test_jpegls_round_trips(void **state)
{
    (void)state;
    px_info mono = image(31, 257, 1, 16, PX_MONOCHROME2);
    mono.bits_stored = 12;
    jpegls_round_trip(mono);
    jpegls_round_trip(image(16, 40, 3, 8, PX_RGB));
    px_info neg = image(2, 2, 1, 16, PX_MONOCHROME2);
    neg.is_signed = true;
    uint8_t *out;
    size_t len;
    assert_int_equal(px_jpegls_encode(&neg, (const uint8_t[8]){0}, &out, &len, NULL), DQR_E_UNSUPPORTED);
}

static void j2k_round_trip(px_info info)
{
    size_t n = px_frame_size(&info);
    uint8_t *frame = pattern(n, 5), *back = malloc(n), *j2k;
    size_t len;
    dqr_error err = {0};
    for (size_t i = 0; i < n; i++) /* keep each sample within bits_stored, sign-extended */
        if (info.bits_allocated == 16 && i % 2)
            frame[i] = (frame[i] & 0x08) ? 0xFF : 0x00;
    assert_int_equal(px_j2k_encode(&info, frame, &j2k, &len, &err), DQR_OK);
    assert_int_equal(len % 2, 0);
    px_photometric pi = info.photometric;
    px_info coded = info;
    if (info.samples == 3)
        coded.photometric = PX_YBR_RCT;
    assert_int_equal(px_j2k_decode(&coded, j2k, len, back, &pi, &err), DQR_OK);
    assert_int_equal(pi, PX_RGB * (info.samples == 3) + info.photometric * (info.samples == 1));
    assert_memory_equal(frame, back, n);
    free(frame);
    free(back);
    free(j2k);
}

static void test_j2k_round_trips(void **state)
{
    (void)state;
    px_info ct = image(33, 70, 1, 16, PX_MONOCHROME2);
    ct.bits_stored = 12;
    ct.is_signed = true;
    j2k_round_trip(ct);
    j2k_round_trip(image(20, 24, 3, 8, PX_RGB));
    j2k_round_trip(image(1, 5, 1, 8, PX_MONOCHROME2));
}

static void test_rle_constant_row_compresses(void **state)
{
    (void)state;
    px_info info = image(2, 256, 1, 8, PX_MONOCHROME2);
    uint8_t frame[512], *rle;
    size_t len;
    memset(frame, 9, sizeof frame);
    assert_int_equal(px_rle_encode(&info, frame, &rle, &len, NULL), DQR_OK);
    /* per row two replicate runs of 128: 4 bytes, so 64 + 8 */
    assert_int_equal(len, 72);
    assert_int_equal(rle[64], (uint8_t)(int8_t)-127);
    assert_int_equal(rle[65], 9);
    free(rle);
}

/* PS3.5 G.3.1 by hand: replicate, literal and the -128 no-op, 16-bit samples
 * with the high byte in segment 1. */
static void test_rle_decode_known_frame(void **state)
{
    (void)state;
    uint8_t rle[64 + 8] = {2, 0, 0, 0, 64, 0, 0, 0, 68, 0, 0, 0};
    const uint8_t seg[8] = {0xFE, 0x01, 0x80, 0x00, /* high bytes: 1 1 1, no-op pad */
                            0x02, 0x0A, 0x0B, 0x0C}; /* low bytes: 0A 0B 0C */
    memcpy(rle + 64, seg, sizeof seg);
    px_info info = image(1, 3, 1, 16, PX_MONOCHROME2);
    uint8_t out[6];
    assert_int_equal(px_rle_decode(&info, rle, sizeof rle, out, NULL), DQR_OK);
    const uint8_t want[6] = {0x0A, 0x01, 0x0B, 0x01, 0x0C, 0x01};
    assert_memory_equal(out, want, 6);
}

static void test_rle_malformed(void **state)
{
    (void)state;
    px_info info = image(1, 3, 1, 8, PX_MONOCHROME2);
    uint8_t rle[66] = {2, 0, 0, 0, 64, 0, 0, 0, 65}, out[3];
    dqr_error err = {0};
    assert_int_equal(px_rle_decode(&info, rle, sizeof rle, out, &err), DQR_E_PARSE);
    assert_non_null(strstr(err.message, "2 segments where 1"));
    rle[0] = 1;
    rle[64] = 0x00; /* a literal of one byte: too few pixels */
    assert_int_equal(px_rle_decode(&info, rle, sizeof rle, out, &err), DQR_E_PARSE);
    assert_int_equal(px_rle_decode(&info, rle, 10, out, &err), DQR_E_PARSE);
}

static void test_ybr_conversions(void **state)
{
    (void)state;
    uint8_t px[9] = {76, 85, 255, 150, 44, 21, 255, 128, 128}; /* red, green, white in YBR */
    px_ybr_full_to_rgb(px, 3);
    const uint8_t rgb[9] = {254, 0, 0, 0, 255, 1, 255, 255, 255};
    assert_memory_equal(px, rgb, 9);
    uint8_t grey[3] = {100, 100, 100}, orig[3];
    uint8_t colours[12] = {12, 200, 99, 255, 0, 0, 0, 0, 255, 40, 80, 160};
    memcpy(orig, grey, 3);
    px_rgb_to_ybr_full(grey, 1);
    assert_int_equal(grey[1], 128);
    assert_int_equal(grey[2], 128);
    px_ybr_full_to_rgb(grey, 1);
    assert_memory_equal(grey, orig, 3);
    uint8_t copy[12];
    memcpy(copy, colours, 12);
    px_rgb_to_ybr_full(copy, 4);
    px_ybr_full_to_rgb(copy, 4);
    for (int i = 0; i < 12; i++)
        assert_true(abs(copy[i] - colours[i]) <= 2);
}

static void test_palette(void **state)
{
    (void)state;
    uint16_t r[4] = {0, 100, 200, 65535}, g[4] = {1, 2, 3, 4}, b[4] = {9, 8, 7, 6};
    px_palette pal = {.entries = 4, .first = 10, .bits = 16, .lut = {r, g, b}};
    px_info info = image(1, 4, 1, 8, PX_PALETTE_COLOR);
    const uint8_t idx[4] = {9, 11, 13, 200};
    uint16_t out[12];
    px_palette_to_rgb(&info, &pal, idx, 4, out);
    const uint16_t want[12] = {0, 1, 9, 100, 2, 8, 65535, 4, 6, 65535, 4, 6};
    assert_memory_equal(out, want, sizeof want);
}

static void test_signed_12_bit(void **state)
{
    (void)state;
    px_info info = image(1, 4, 1, 16, PX_MONOCHROME2);
    info.bits_stored = 12;
    info.high_bit = 11;
    info.is_signed = true;
    const uint8_t frame[8] = {0xFF, 0x0F, 0x00, 0x08, 0xFF, 0xF7, 0x05, 0x00};
    assert_int_equal(px_sample(&info, frame, 0, 0), -1);
    assert_int_equal(px_sample(&info, frame, 1, 0), -2048);
    assert_int_equal(px_sample(&info, frame, 2, 0), 2047); /* unused high bits ignored */
    assert_int_equal(px_sample(&info, frame, 3, 0), 5);
    info.is_signed = false;
    assert_int_equal(px_sample(&info, frame, 0, 0), 4095);
}

static void set_us(dcm_dataset *ds, uint16_t elem, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, elem), DCM_VR_US, b, 2, NULL));
}

/* A file in memory with native Pixel Data, to run the iterator over. */
static dcm_file *native_file(const char *ts, const char *pi, uint16_t spp, uint16_t planar,
                             uint16_t rows, uint16_t cols, const char *frames, const uint8_t *data,
                             size_t len)
{
    dcm_dataset *ds = dcm_dataset_new();
    assert_non_null(ds);
    set_us(ds, 0x0002, spp);
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, pi, NULL));
    if (spp == 3)
        set_us(ds, 0x0006, planar);
    if (frames)
        assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0008), DCM_VR_IS, frames, NULL));
    set_us(ds, 0x0010, rows);
    set_us(ds, 0x0011, cols);
    set_us(ds, 0x0100, 8);
    set_us(ds, 0x0101, 8);
    set_us(ds, 0x0102, 7);
    set_us(ds, 0x0103, 0);
    assert_non_null(dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, DCM_VR_OB, data, len, NULL));
    dcm_file *f = dcm_file_wrap(NULL, ds, ts, NULL);
    assert_non_null(f);
    return f;
}

static void test_planar_configuration(void **state)
{
    (void)state;
    const uint8_t planes[6] = {1, 2, 10, 20, 100, 200}; /* R R G G B B */
    dcm_file *f = native_file(DCM_TS_EXPLICIT_LE, "RGB", 3, 1, 1, 2, NULL, planes, 6);
    px_frames *it;
    const uint8_t *data;
    assert_int_equal(px_frames_open(f, &it, NULL), DQR_OK);
    assert_int_equal(px_frames_info(it)->planar, 0);
    assert_int_equal(px_frame_next(it, &data, NULL), DQR_OK);
    const uint8_t want[6] = {1, 10, 100, 2, 20, 200};
    assert_memory_equal(data, want, 6);
    px_info stored = *px_frames_info(it);
    stored.planar = 1;
    uint8_t back[6];
    assert_int_equal(px_native_encode(&stored, data, back, NULL), DQR_OK);
    assert_memory_equal(back, planes, 6);
    px_frames_close(it);
    dcm_file_close(f);
}

static void test_ybr_full_422_expands(void **state)
{
    (void)state;
    const uint8_t stored[8] = {10, 20, 128, 130, 30, 40, 100, 90}; /* Y1 Y2 Cb Cr, twice */
    dcm_file *f = native_file(DCM_TS_EXPLICIT_LE, "YBR_FULL_422", 3, 0, 1, 4, NULL, stored, 8);
    px_frames *it;
    const uint8_t *data;
    assert_int_equal(px_frames_open(f, &it, NULL), DQR_OK);
    assert_int_equal(px_frames_info(it)->photometric, PX_YBR_FULL);
    assert_int_equal(px_frame_next(it, &data, NULL), DQR_OK);
    const uint8_t want[12] = {10, 128, 130, 20, 128, 130, 30, 100, 90, 40, 100, 90};
    assert_memory_equal(data, want, 12);
    px_frames_close(it);
    dcm_file_close(f);
}

static void test_multi_frame_one_at_a_time(void **state)
{
    (void)state;
    uint8_t pixels[3 * 4];
    for (int i = 0; i < 12; i++)
        pixels[i] = (uint8_t)(i * 3);
    dcm_file *f = native_file(DCM_TS_EXPLICIT_BE, "MONOCHROME2", 1, 0, 2, 2, "3", pixels, 12);
    px_frames *it;
    const uint8_t *data;
    dqr_error err = {0};
    assert_int_equal(px_frames_open(f, &it, &err), DQR_OK);
    assert_int_equal(px_frames_info(it)->frames, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(px_frame_next(it, &data, &err), DQR_OK);
        assert_memory_equal(data, pixels + 4 * k, 4);
    }
    assert_int_equal(px_frame_next(it, &data, &err), DQR_E_NOTFOUND);
    assert_int_equal(px_frame_get(it, 1, &data, &err), DQR_OK);
    assert_memory_equal(data, pixels + 4, 4);
    assert_int_equal(px_frame_next(it, &data, &err), DQR_OK); /* continues after 1 */
    assert_memory_equal(data, pixels + 8, 4);
    px_frames_close(it);
    dcm_file_close(f);
}

static void test_unsupported_syntax_named(void **state)
{
    (void)state;
    const uint8_t px[4] = {0};
    dcm_file *f = native_file("1.2.840.10008.1.2.4.102", "MONOCHROME2", 1, 0, 2, 2, NULL, px, 4);
    px_frames *it = NULL;
    dqr_error err = {0};
    assert_int_equal(px_frames_open(f, &it, &err), DQR_E_UNSUPPORTED);
    assert_null(it);
    assert_non_null(strstr(err.message, "transfer syntax 1.2.840.10008.1.2.4.102 (MPEG-4 AVC/H.264 High"));
    assert_non_null(strstr(err.message, "cannot be decoded"));
    dcm_file_close(f);
}

/* A JPEG of an SOF segment alone (8x8, one component) of the given marker
 * and precision, then EOI. */
static size_t sof_only(uint8_t *b, uint8_t marker, uint8_t precision)
{
    const uint8_t j[] = {0xFF, 0xD8, 0xFF, marker, 0x00, 0x0B, precision, 0x00, 0x08, 0x00, 0x08,
                         0x01, 0x01, 0x11, 0x00, 0xFF, 0xD9};
    memcpy(b, j, sizeof j);
    return sizeof j;
}

/* 12-bit extended frames reach the 12-bit IJG build (it reads the 12-bit
 * frame header, then reports the missing scan through its error manager,
 * where libjpeg-turbo would refuse the precision); 12-bit lossless (SOF3)
 * and baseline (SOF0, which allows 8 bits only) are refused by name. */
static void test_jpeg_12_bit_routed(void **state)
{
    (void)state;
    uint8_t j[32], out[8 * 8 * 2];
    px_info info = image(8, 8, 1, 16, PX_MONOCHROME2);
    info.bits_stored = 12, info.high_bit = 11;
    px_photometric pi = PX_MONOCHROME2;
    dqr_error err = {0};
    size_t n = sof_only(j, 0xC1, 12);
    assert_int_equal(px_jpeg_decode(&info, j, n, out, &pi, &err), DQR_E_PARSE);
    assert_non_null(strstr(err.message, "JPEG: "));
    assert_null(strstr(err.message, "precision"));
    n = sof_only(j, 0xC2, 12);
    assert_int_equal(px_jpeg_decode(&info, j, n, out, &pi, &err), DQR_E_PARSE);
    assert_null(strstr(err.message, "precision"));
    n = sof_only(j, 0xC3, 12);
    assert_int_equal(px_jpeg_decode(&info, j, n, out, &pi, &err), DQR_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "12-bit JPEG (SOF marker 0xC3) cannot be decoded"));
    n = sof_only(j, 0xC0, 12);
    assert_int_equal(px_jpeg_decode(&info, j, n, out, &pi, &err), DQR_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "(SOF marker 0xC0)"));
}

/* Append explicit VR LE element bytes: tag, VR, 16-bit length, value. */
static size_t put_el(uint8_t *b, size_t at, uint16_t g, uint16_t e, const char *vr, const void *v,
                     uint16_t len)
{
    const uint8_t h[8] = {(uint8_t)g, (uint8_t)(g >> 8), (uint8_t)e, (uint8_t)(e >> 8),
                          (uint8_t)vr[0], (uint8_t)vr[1], (uint8_t)len, (uint8_t)(len >> 8)};
    memcpy(b + at, h, 8);
    memcpy(b + at + 8, v, len);
    return at + 8 + len;
}

/* An RLE file of a few bytes claiming 65535 x 65535 16-bit pixels: refused
 * before the 8 GiB frame buffer is allocated. */
static void test_huge_frame_refused(void **state)
{
    (void)state;
    uint8_t b[512] = {0};
    size_t at = 128;
    memcpy(b + at, "DICM", 4);
    at = put_el(b, at + 4, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.5\0", 20);
    at = put_el(b, at, 0x0028, 0x0002, "US", (const uint8_t[]){1, 0}, 2);
    at = put_el(b, at, 0x0028, 0x0004, "CS", "MONOCHROME2 ", 12);
    at = put_el(b, at, 0x0028, 0x0010, "US", (const uint8_t[]){0xFF, 0xFF}, 2);
    at = put_el(b, at, 0x0028, 0x0011, "US", (const uint8_t[]){0xFF, 0xFF}, 2);
    at = put_el(b, at, 0x0028, 0x0100, "US", (const uint8_t[]){16, 0}, 2);
    static const uint8_t pixels[] = {0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                                     0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0,             /* empty BOT */
                                     0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 0x01, 0x00, /* a fragment */
                                     0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0};
    memcpy(b + at, pixels, sizeof pixels);
    at += sizeof pixels;
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse(b, at, &err);
    assert_non_null(f);
    px_frames *it = NULL;
    assert_int_equal(px_frames_open(f, &it, &err), DQR_E_LIMIT);
    assert_null(it);
    assert_non_null(strstr(err.message, "exceeds the limit"));
    dcm_file_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rle_round_trips),
        cmocka_unit_test(test_rle_constant_row_compresses),
        cmocka_unit_test(test_rle_decode_known_frame),
        cmocka_unit_test(test_jpegls_round_trips),
        cmocka_unit_test(test_j2k_round_trips),
        cmocka_unit_test(test_rle_malformed),
        cmocka_unit_test(test_ybr_conversions),
        cmocka_unit_test(test_palette),
        cmocka_unit_test(test_signed_12_bit),
        cmocka_unit_test(test_planar_configuration),
        cmocka_unit_test(test_ybr_full_422_expands),
        cmocka_unit_test(test_multi_frame_one_at_a_time),
        cmocka_unit_test(test_unsupported_syntax_named),
        cmocka_unit_test(test_jpeg_12_bit_routed),
        cmocka_unit_test(test_huge_frame_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

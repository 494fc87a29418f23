/* test_render.c — unit tests of render.c and png.c: the linear VOI window
 * (given, from the dataset, from min..max), Rescale Slope/Intercept,
 * MONOCHROME1 inversion, RGB / YBR_FULL / palette colour, 16-bit colour,
 * area-average downscaling, and PNG bytes decoded back by libpng to the
 * same pixels, to memory and through a callback that refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

static px_info image(uint32_t rows, uint32_t cols, uint16_t spp, uint16_t bits, px_photometric pi)
{
    px_info i = {.rows = rows, .columns = cols, .frames = 1, .samples = spp, .bits_allocated = bits,
                 .bits_stored = bits, .high_bit = (uint16_t)(bits - 1), .photometric = pi};
    return i;
}

static void put16(uint8_t *f, size_t i, uint16_t v)
{
    f[2 * i] = (uint8_t)v;
    f[2 * i + 1] = (uint8_t)(v >> 8);
}

/* PS3.3 C.11.2.1.2.1, written out independently of render.c. */
static uint8_t linear(double x, double c, double w)
{
    if (x <= c - 0.5 - (w - 1) / 2)
        return 0;
    if (x > c - 0.5 + (w - 1) / 2)
        return 255;
    return (uint8_t)(((x - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5);
}

static void test_window_from_dataset(void **state)
{
    (void)state;
    px_info info = image(1, 5, 1, 16, PX_MONOCHROME2);
    uint8_t f[10];
    uint16_t v[5] = {0, 50, 100, 150, 300};
    for (int i = 0; i < 5; i++)
        put16(f, (size_t)i, v[i]);
    px_voi voi = {.slope = 1, .has_window = true, .center = 100, .width = 200};
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, NULL, &voi, f, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.width, 5);
    assert_int_equal(img.height, 1);
    assert_int_equal(img.channels, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(img.pixels[i], linear(v[i], 100, 200));
    assert_int_equal(img.pixels[0], 0);
    assert_int_equal(img.pixels[4], 255);
    px_image_free(&img);

    /* A given window wins over the dataset's. */
    px_render_opts opts = {.window = true, .center = 50, .width = 20};
    assert_int_equal(px_render(&info, NULL, &voi, f, &opts, &img, &err), DQR_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(img.pixels[i], linear(v[i], 50, 20));
    assert_in_range(img.pixels[1], 100, 155);
    px_image_free(&img);
}

static void test_rescale_and_minmax(void **state)
{
    (void)state;
    /* CT-like: stored 0..2000, intercept -1024; window on Hounsfield units. */
    px_info info = image(1, 4, 1, 16, PX_MONOCHROME2);
    uint8_t f[8];
    uint16_t v[4] = {0, 1024, 1064, 2000};
    for (int i = 0; i < 4; i++)
        put16(f, (size_t)i, v[i]);
    px_voi voi = {.slope = 1, .intercept = -1024, .has_window = true, .center = 40, .width = 80};
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, NULL, &voi, f, NULL, &img, &err), DQR_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(img.pixels[i], linear(v[i] - 1024.0, 40, 80));
    assert_int_equal(img.pixels[0], 0);  /* air */
    assert_int_equal(img.pixels[3], 255); /* bone */
    px_image_free(&img);

    /* No window anywhere: the frame's min..max spans black..white. */
    px_voi none = {.slope = 2, .intercept = 10};
    assert_int_equal(px_render(&info, NULL, &none, f, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.pixels[0], 0);
    assert_int_equal(img.pixels[3], 255);
    assert_true(img.pixels[1] > img.pixels[0] && img.pixels[2] > img.pixels[1]);
    px_image_free(&img);
}

static void test_monochrome1_and_signed(void **state)
{
    (void)state;
    px_info info = image(1, 3, 1, 16, PX_MONOCHROME1);
    info.is_signed = true;
    uint8_t f[6];
    put16(f, 0, (uint16_t)-100);
    put16(f, 1, 0);
    put16(f, 2, 100);
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, NULL, NULL, f, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.pixels[0], 255); /* lowest value is white in MONOCHROME1 */
    assert_int_equal(img.pixels[2], 0);
    assert_in_range(img.pixels[1], 120, 135);
    px_image_free(&img);
}

static void test_colour(void **state)
{
    (void)state;
    px_info info = image(1, 2, 3, 8, PX_RGB);
    uint8_t rgb[6] = {10, 20, 30, 200, 100, 0};
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, NULL, NULL, rgb, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.channels, 3);
    assert_memory_equal(img.pixels, rgb, 6);
    px_image_free(&img);

    uint8_t ybr[6];
    memcpy(ybr, rgb, 6);
    px_rgb_to_ybr_full(ybr, 2);
    info.photometric = PX_YBR_FULL;
    assert_int_equal(px_render(&info, NULL, NULL, ybr, NULL, &img, &err), DQR_OK);
    for (int i = 0; i < 6; i++)
        assert_in_range(img.pixels[i], rgb[i] > 2 ? rgb[i] - 2 : 0, rgb[i] + 2);
    px_image_free(&img);

    /* 16-bit RGB (12 stored): shifted down to the top 8 bits. */
    px_info deep = image(1, 1, 3, 16, PX_RGB);
    deep.bits_stored = 12;
    deep.high_bit = 11;
    uint8_t f[6];
    put16(f, 0, 4095);
    put16(f, 1, 2048);
    put16(f, 2, 16);
    assert_int_equal(px_render(&deep, NULL, NULL, f, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.pixels[0], 255);
    assert_int_equal(img.pixels[1], 128);
    assert_int_equal(img.pixels[2], 1);
    px_image_free(&img);
}

static void test_palette(void **state)
{
    (void)state;
    uint16_t r[4] = {0, 0xFFFF, 0x8000, 0}, g[4] = {0, 0, 0x8000, 0xFFFF}, b[4] = {0xFFFF, 0, 0x8000, 0};
    px_palette pal = {.entries = 4, .first = 0, .bits = 16, .lut = {r, g, b}};
    px_info info = image(1, 4, 1, 8, PX_PALETTE_COLOR);
    uint8_t idx[4] = {0, 1, 2, 9}; /* 9 is past the last entry: clamps to 3 */
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, &pal, NULL, idx, NULL, &img, &err), DQR_OK);
    uint8_t want[12] = {0, 0, 255, 255, 0, 0, 128, 128, 128, 0, 255, 0};
    assert_memory_equal(img.pixels, want, 12);
    px_image_free(&img);

    uint16_t r8[4] = {0, 255, 128, 0};
    pal.bits = 8;
    pal.lut[0] = r8;
    pal.lut[1] = r8;
    pal.lut[2] = r8;
    assert_int_equal(px_render(&info, &pal, NULL, idx, NULL, &img, &err), DQR_OK);
    assert_int_equal(img.pixels[3], 255);
    assert_int_equal(img.pixels[6], 128);
    px_image_free(&img);

    assert_int_equal(px_render(&info, NULL, NULL, idx, NULL, &img, &err), DQR_E_USAGE);
    assert_null(img.pixels);
}

static void test_downscale(void **state)
{
    (void)state;
    px_info info = image(4, 8, 1, 8, PX_MONOCHROME2);
    uint8_t f[32];
    for (int i = 0; i < 32; i++)
        f[i] = (uint8_t)((i % 8) < 4 ? 0 : 255);
    f[0] = 255; /* one white pixel in the first 2x2 block: its mean is 64 */
    px_render_opts opts = {.window = true, .center = 127.5, .width = 256, .max_size = 4};
    px_image img;
    dqr_error err = {0};
    assert_int_equal(px_render(&info, NULL, NULL, f, &opts, &img, &err), DQR_OK);
    assert_int_equal(img.width, 4);
    assert_int_equal(img.height, 2);
    assert_int_equal(img.pixels[0], 64);
    assert_int_equal(img.pixels[1], 0);
    assert_int_equal(img.pixels[2], 255);
    assert_int_equal(img.pixels[4], 0);
    px_image_free(&img);

    opts.max_size = 100; /* already smaller: unchanged */
    assert_int_equal(px_render(&info, NULL, NULL, f, &opts, &img, &err), DQR_OK);
    assert_int_equal(img.width, 8);
    px_image_free(&img);
}

static void test_voi_read(void **state)
{
    (void)state;
    dcm_dataset *ds = dcm_dataset_new();
    dqr_error err = {0};
    px_voi voi;
    px_voi_read(ds, &voi);
    assert_true(voi.slope == 1.0 && voi.intercept == 0.0 && !voi.has_window);
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x1050), DCM_VR_DS, "40\\400", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "80\\2000", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x1052), DCM_VR_DS, "-1024", &err));
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x1053), DCM_VR_DS, "0.5", &err));
    px_voi_read(ds, &voi);
    assert_true(voi.has_window);
    assert_true(voi.center == 40.0 && voi.width == 80.0);
    assert_true(voi.intercept == -1024.0 && voi.slope == 0.5);
    assert_non_null(dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x1051), DCM_VR_DS, "0", &err));
    px_voi_read(ds, &voi);
    assert_false(voi.has_window); /* width below 1 is no window */
    dcm_dataset_free(ds);
}

/* Decode PNG bytes with libpng's simplified API. */
static uint8_t *png_decode(const uint8_t *png, size_t len, png_uint_32 fmt, png_uint_32 *w, png_uint_32 *h)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&pi, png, len));
    pi.format = fmt;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(pi));
    assert_true(png_image_finish_read(&pi, NULL, buf, 0, NULL));
    *w = pi.width;
    *h = pi.height;
    return buf;
}

static void check_png_round_trip(uint16_t channels)
{
    px_image img = {.width = 37, .height = 11, .channels = channels};
    size_t n = (size_t)img.width * img.height * channels;
    img.pixels = malloc(n);
    for (size_t i = 0; i < n; i++)
        img.pixels[i] = (uint8_t)(i * 7 + i / 37);
    uint8_t *png;
    size_t len;
    dqr_error err = {0};
    assert_int_equal(px_png_encode(&img, &png, &len, &err), DQR_OK);
    assert_true(len > 8);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    png_uint_32 w, h;
    uint8_t *back = png_decode(png, len, channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY, &w, &h);
    assert_int_equal(w, 37);
    assert_int_equal(h, 11);
    assert_memory_equal(back, img.pixels, n);
    free(back);
    free(png);
    px_image_free(&img);
}

static void test_png_round_trip(void **state)
{
    (void)state;
    check_png_round_trip(1);
    check_png_round_trip(3);
}

static int refuse(void *ctx, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    ++*(int *)ctx;
    return 1;
}

static void test_png_callback_refuses(void **state)
{
    (void)state;
    uint8_t px[4] = {1, 2, 3, 4};
    px_image img = {.width = 2, .height = 2, .channels = 1, .pixels = px};
    int calls = 0;
    dqr_error err = {0};
    assert_int_equal(px_png_write(&img, refuse, &calls, &err), DQR_E_IO);
    assert_int_equal(calls, 1);
    assert_non_null(strstr(err.message, "refused"));
    px_image empty = {0};
    assert_int_equal(px_png_write(&empty, refuse, &calls, &err), DQR_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_from_dataset), cmocka_unit_test(test_rescale_and_minmax),
        cmocka_unit_test(test_monochrome1_and_signed), cmocka_unit_test(test_colour),
        cmocka_unit_test(test_palette),             cmocka_unit_test(test_downscale),
        cmocka_unit_test(test_voi_read),            cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_png_callback_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ocr.c — unit tests of the OCR step's decisions and of Tesseract on a
 * drawn frame: the whitelist (orientation markers, units, screen labels,
 * short numbers only with digits_ok, site extras, punctuation, noise by
 * size and confidence), the frames sampled from a multi-frame, which
 * instances are at risk, and a frame with a word drawn by a crude built-in
 * bitmap font found at its box (the letters need not all be read right:
 * the box is what masking and refusing act on), also in grey over a bright
 * textured band that touches it (the case a single ink level drops); and
 * which ink px_ink_keep_text keeps: strokes, not bones (solid discs) nor the
 * faint noise a CT window puts at the ink level, letters inside a bright
 * texture at the higher level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"
#include "pixel/pixel_internal.h"

static bool allowed(const char *text, const px_ocr_filter *f)
{
    px_ocr_word w = {.text = (char *)text, .width = 40, .height = 12, .confidence = 90};
    return px_ocr_allowed(&w, f);
}

static void test_whitelist(void **state)
{
    (void)state;
    px_ocr_filter f = {.digits_ok = true, .extra = "ACME, Lab7"};
    const char *ok[] = {"L", "R", "LAO", "ant", "cm", "MHz", "dB", "bpm", "%", "Gain", "TIS", "(cm)", "16",
                        "3.5", "-20dB", "60%", "120", "acme", "LAB7", "x", "|", "--", NULL};
    for (const char *const *w = ok; *w; w++)
        if (!allowed(*w, &f))
            fail_msg("\"%s\" should be allowed", *w);
    const char *phi[] = {"QUILLFEATHER", "TOBIAS,", "1961", "48213957", "03/12/1961", "1961-03-12", "12:30",
                         "24.05.1961", "MRN:4821", "AB", "Jo", NULL};
    for (const char *const *w = phi; *w; w++)
        if (allowed(*w, &f))
            fail_msg("\"%s\" should be suspect", *w);
    px_ocr_filter strict = {0};
    assert_false(allowed("16", &strict)); /* numbers count unless digits_ok */
    assert_false(allowed("acme", &strict));
    assert_true(allowed("cm", NULL));
    px_ocr_word small = {.text = "TOBIAS", .height = PX_OCR_MIN_HEIGHT - 1, .confidence = 90};
    assert_true(px_ocr_allowed(&small, &f)); /* too small to be legible: noise */
    px_ocr_word unsure = {.text = "TOBIAS", .height = 12, .confidence = 5};
    assert_false(px_ocr_allowed(&unsure, &f));
    px_ocr_filter sure = {.min_confidence = 50};
    assert_true(px_ocr_allowed(&unsure, &sure));
}

static void test_keep_suspect(void **state)
{
    (void)state;
    px_ocr_words w = {.n = 3, .v = calloc(3, sizeof(px_ocr_word))};
    const char *t[3] = {"cm", "SMITHSONIA", "L"};
    for (int i = 0; i < 3; i++) {
        w.v[i].text = strdup(t[i]);
        w.v[i].height = 12;
        w.v[i].left = (uint32_t)i;
    }
    assert_int_equal(px_ocr_keep_suspect(&w, NULL), 1);
    assert_string_equal(w.v[0].text, "SMITHSONIA");
    assert_int_equal(w.v[0].left, 1);
    px_ocr_words_free(&w);
    assert_null(w.v);
}

static void test_sample_frames(void **state)
{
    (void)state;
    uint32_t out[100];
    assert_int_equal(px_ocr_sample_frames(1, 3, out), 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(px_ocr_sample_frames(100, 3, out), 3);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 49);
    assert_int_equal(out[2], 99);
    assert_int_equal(px_ocr_sample_frames(100, 1, out), 1);
    assert_int_equal(px_ocr_sample_frames(5, 0, out), 5);
    assert_int_equal(out[4], 4);
    assert_int_equal(px_ocr_sample_frames(4, 10, out), 4);
    assert_int_equal(px_ocr_sample_frames(2, 3, out), 2); /* never a frame twice */
    assert_int_equal(out[1], 1);
}

static void test_at_risk(void **state)
{
    (void)state;
    const char *mods = "US,SC,OT,XA,ES,DX,CR,MG";
    dcm_dataset *ds = dcm_dataset_new();
    dqr_error err = {0};
    assert_true(px_ocr_at_risk(ds, mods)); /* no Modality */
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "CT", &err);
    assert_false(px_ocr_at_risk(ds, mods));
    dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "YES", &err);
    assert_true(px_ocr_at_risk(ds, mods));
    dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "NO", &err);
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "US", &err);
    assert_true(px_ocr_at_risk(ds, mods));
    assert_false(px_ocr_at_risk(ds, "SC, OT"));
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "U", &err);
    assert_false(px_ocr_at_risk(ds, mods)); /* a prefix of US is not US */
    dcm_dataset_free(ds);
}

/* A 5x7 font of the letters needed, one row of 5 bits a byte. */
static const struct glyph {
    char c;
    uint8_t rows[7];
} font[] = {
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}}, {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
};

/* Draw text at x, y in grey level v, each font pixel as a 3x3 block. */
static void draw_in(uint8_t *img, uint32_t w, uint32_t x, uint32_t y, const char *text, uint8_t v)
{
    for (; *text; text++, x += 18)
        for (size_t g = 0; g < sizeof font / sizeof *font; g++)
            if (font[g].c == *text)
                for (int r = 0; r < 7; r++)
                    for (int c = 0; c < 5; c++)
                        if (font[g].rows[r] & (0x10 >> c))
                            for (int k = 0; k < 9; k++)
                                img[(size_t)(y + 3 * r + k / 3) * w + x + 3 * c + k % 3] = v;
}

static void draw(uint8_t *img, uint32_t w, uint32_t x, uint32_t y, const char *text)
{
    draw_in(img, w, x, y, text, 255);
}

/* The word of draw() read at its box in w. */
static bool found_at(const px_ocr_words *w)
{
    for (size_t i = 0; i < w->n; i++)
        if (strlen(w->v[i].text) >= 8 && !px_ocr_allowed(&w->v[i], NULL) && w->v[i].left >= 15 &&
            w->v[i].left <= 25 && w->v[i].top >= 35 && w->v[i].top <= 45 && w->v[i].width > 150)
            return true;
    return false;
}

enum { KW = 120, KH = 60 };

static void fill_box(uint8_t *img, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, uint8_t v)
{
    for (uint32_t y = y0; y < y1; y++)
        for (uint32_t x = x0; x < x1; x++)
            img[y * KW + x] = v;
}

/* px_ink_keep_text on bright with levels t1, t2: the level kept at (x, y). */
static uint8_t kept_at(const uint8_t *bright, unsigned t1, unsigned t2, uint32_t x, uint32_t y)
{
    static uint8_t mask[KW * KH];
    static uint32_t stack[KW * KH];
    for (size_t i = 0; i < KW * KH; i++)
        mask[i] = bright[i] >= t1;
    px_ink_keep_text(mask, bright, t1, t2, KW, KH, 32, stack);
    return mask[y * KW + x];
}

static void test_keep_ink(void **state)
{
    (void)state;
    static uint8_t img[KW * KH];
    /* an "H" of 3-pixel strokes at the brightest level is a letter */
    memset(img, 0, sizeof img);
    fill_box(img, 10, 10, 13, 30, 255);
    fill_box(img, 20, 10, 23, 30, 255);
    fill_box(img, 13, 19, 20, 22, 255);
    assert_int_equal(kept_at(img, 127, 191, 11, 15), 1);
    /* so is a large one of 7-pixel strokes (most pixels inside them) */
    memset(img, 0, sizeof img);
    fill_box(img, 10, 10, 17, 40, 255);
    fill_box(img, 30, 10, 37, 40, 255);
    fill_box(img, 17, 22, 30, 29, 255);
    assert_int_equal(kept_at(img, 127, 191, 12, 15), 1);
    /* a filled disc 15 pixels across (79 % of its box: not a blob) is a bone */
    memset(img, 0, sizeof img);
    for (int y = 0; y < KH; y++)
        for (int x = 0; x < KW; x++)
            if ((x - 60) * (x - 60) + (y - 30) * (y - 30) <= 49)
                img[y * KW + x] = 255;
    assert_int_equal(kept_at(img, 127, 191, 60, 30), 0);
    /* the same "H" at the ink level only (noise of soft tissue): faint */
    memset(img, 0, sizeof img);
    fill_box(img, 10, 10, 13, 30, 140);
    fill_box(img, 20, 10, 23, 30, 140);
    fill_box(img, 13, 19, 20, 22, 140);
    assert_int_equal(kept_at(img, 127, 191, 11, 15), 0);
    /* a grey "H" (190) inside a bright texture band (100-140, taller than a
     * letter): the texture goes, the letter stays at the higher level */
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i / KW >= 5 && i / KW < 55 ? 100 + (i * 7919) % 41 : 0);
    fill_box(img, 10, 10, 13, 30, 190);
    fill_box(img, 20, 10, 23, 30, 190);
    fill_box(img, 13, 19, 20, 22, 190);
    assert_int_equal(kept_at(img, 96, 143, 11, 15), 2);
    assert_int_equal(kept_at(img, 96, 143, 80, 40), 0);
}

static void test_read_drawn_text(void **state)
{
    (void)state;
    px_ocr *o;
    dqr_error err = {0};
    if (px_ocr_new(NULL, &o, &err) != DQR_OK)
        fail_msg("%s", err.message);
    px_image img = {.width = 320, .height = 120, .channels = 1};
    img.pixels = calloc((size_t)img.width * img.height, 1);
    for (size_t i = 0; i < (size_t)img.width * img.height; i++)
        img.pixels[i] = (uint8_t)((i * 7919) % 61); /* dark texture */
    draw(img.pixels, img.width, 20, 40, "QUILFEATHER");
    px_ocr_words w;
    assert_int_equal(px_ocr_read(o, &img, &w, &err), DQR_OK);
    if (!found_at(&w))
        fail_msg("the drawn word was not read at its box (%zu words, first \"%s\")", w.n, w.n ? w.v[0].text : "");
    px_ocr_words_free(&w);
    /* grey text (190) over a bright textured band (90-140, 60 rows: taller
     * than a letter) that touches it: at half the text's level the band is
     * ink and the word part of it */
    for (size_t i = 0; i < (size_t)img.width * img.height; i++)
        img.pixels[i] = (uint8_t)(i / img.width >= 30 && i / img.width < 90 ? 90 + (i * 7919) % 51 : (i * 7919) % 61);
    draw_in(img.pixels, img.width, 20, 40, "QUILFEATHER", 190);
    assert_int_equal(px_ocr_read(o, &img, &w, &err), DQR_OK);
    if (!found_at(&w))
        fail_msg("the word over a bright band was not read at its box (%zu words, first \"%s\")", w.n,
                 w.n ? w.v[0].text : "");
    px_ocr_words_free(&w);
    /* an empty (black) frame has no words */
    memset(img.pixels, 0, (size_t)img.width * img.height);
    assert_int_equal(px_ocr_read(o, &img, &w, &err), DQR_OK);
    assert_int_equal(w.n, 0);
    px_ocr_words_free(&w);
    px_image_free(&img);
    px_ocr_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whitelist),    cmocka_unit_test(test_keep_suspect),
        cmocka_unit_test(test_sample_frames), cmocka_unit_test(test_at_risk),
        cmocka_unit_test(test_keep_ink),      cmocka_unit_test(test_read_drawn_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

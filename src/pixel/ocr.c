/* ocr.c — burned-in text found in a rendered frame with Tesseract (its C
 * API), as words with a box in frame pixels and a confidence.
 *
 * Burned-in annotations are drawn in a light (often coloured) overlay on a
 * dark image, small (8-16 pixels high); Tesseract reads dark text on a light
 * page, at least ~20 pixels high. So the frame is prepared first: colour
 * becomes its brightest channel (yellow or green text stays bright), a
 * light page (a scanned document) is inverted so its text is the bright
 * part, everything at or above a fraction of the brightest level becomes
 * black ink on white (the anatomy's speckle and soft tissue drop out, which
 * is also what keeps clean CT/MR frames from producing words; letters over a
 * bright texture are cut out at a second, higher level: ocr_ink.c), and small
 * frames are upscaled. Page segmentation is "sparse text": annotations are
 * scattered words, not paragraphs.
 *
 * An engine (px_ocr) loads the English model once (about 0.1-0.2 s) and is
 * then used by one thread at a time; callers keep one per worker thread.
 * Tesseract is built with OpenMP on Debian: set OMP_THREAD_LIMIT=1 in the
 * environment of a server that runs one engine per worker.
 *
 * The filter (px_ocr_allowed) decides which words are not PHI: orientation
 * markers, units, short numbers (setting) and a site's extras.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tesseract/capi.h>

#include "pixel/pixel.h"
#include "pixel/pixel_internal.h"


/* Scratch buffers, kept between calls: a server reads frames of one size. */
struct px_ocr {
    TessBaseAPI *api;
    uint8_t *page;      /* the prepared image (scaled) */
    size_t page_cap;
    uint8_t *bright;    /* brightness of the light-text image, frame size */
    uint8_t *keep;      /* ink that can be text, dilated by one pixel */
    uint8_t *keep_dim;  /* the same at the level of grey text, when there is some */
    uint32_t *stack;    /* component flood fill */
    size_t frame_cap;
};

dqr_status px_ocr_new(const char *datapath, px_ocr **out, dqr_error *err)
{
    *out = NULL;
    px_ocr *o = calloc(1, sizeof *o);
    if (!o || !(o->api = TessBaseAPICreate())) {
        free(o);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory starting Tesseract");
    }
    /* Tesseract writes diagnostics to stderr; a library must not print. */
    TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
    if (TessBaseAPIInit2(o->api, datapath, "eng", OEM_LSTM_ONLY) != 0) {
        px_ocr_free(o);
        return dqr_error_set(err, DQR_E_NOTFOUND,
                             "Tesseract could not load its English model (tesseract-ocr-eng) from %s",
                             datapath ? datapath : "its default tessdata folder");
    }
    TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
    TessBaseAPISetVariable(o->api, "user_defined_dpi", "300");
    TessBaseAPISetPageSegMode(o->api, PSM_SPARSE_TEXT);
    *out = o;
    return DQR_OK;
}

void px_ocr_free(px_ocr *o)
{
    if (!o)
        return;
    if (o->api) {
        TessBaseAPIEnd(o->api);
        TessBaseAPIDelete(o->api);
    }
    free(o->page);
    free(o->bright);
    free(o->keep);
    free(o->keep_dim);
    free(o->stack);
    free(o);
}

void px_ocr_words_free(px_ocr_words *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].text);
    free(w->v);
    w->v = NULL;
    w->n = 0;
}

static uint8_t brightness(const px_image *img, size_t i)
{
    if (img->channels == 1)
        return img->pixels[i];
    const uint8_t *p = img->pixels + 3 * i;
    uint8_t m = p[0] > p[1] ? p[0] : p[1];
    return m > p[2] ? m : p[2];
}

/* The ink thresholds: t[1] is half the brightest level present (its 99.9th
 * percentile, so a few hot pixels do not set it), never below 96. Half, not
 * more: the anti-aliased strokes of a small font only reach part of the
 * text's level, and must stay joined. t[2], halfway from there to the
 * brightest, separates text from a bright textured area it is drawn over
 * (ocr_ink.c). */
static void ink_thresholds(const unsigned hist[256], size_t n, bool inverted, unsigned t[3])
{
    size_t above = 0, cut = n / 1000;
    unsigned peak = 255;
    for (int v = 255; v >= 0; v--) {
        above += hist[inverted ? 255 - v : v];
        if (above > cut) {
            peak = (unsigned)v;
            break;
        }
    }
    t[0] = 256; /* not ink */
    t[1] = peak / 2 < 96 ? 96 : peak / 2;
    t[2] = (t[1] + (peak > t[1] ? peak : t[1]) + 1) / 2;
}

/* o->bright at (x, y) of the scaled page, bilinear between pixels:
 * upscaling by interpolation keeps the thin anti-aliased strokes of small
 * fonts joined, which duplicating pixels before thresholding breaks. */
static unsigned sample_at(const px_ocr *o, uint32_t w, uint32_t h, uint32_t sx, uint32_t sy,
                          unsigned scale)
{
    if (scale == 1)
        return o->bright[(size_t)sy * w + sx];
    float fx = (sx + 0.5f) / scale - 0.5f, fy = (sy + 0.5f) / scale - 0.5f;
    fx = fx < 0 ? 0 : fx;
    fy = fy < 0 ? 0 : fy;
    uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
    uint32_t x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float ax = fx - x0, ay = fy - y0;
    const uint8_t *r0 = o->bright + (size_t)y0 * w, *r1 = o->bright + (size_t)y1 * w;
    float v = (1 - ay) * ((1 - ax) * r0[x0] + ax * r0[x1]) + ay * ((1 - ax) * r1[x0] + ax * r1[x1]);
    return (unsigned)(v + 0.5f);
}

static bool reserve(px_ocr *o, size_t n, size_t page)
{
    if (page > o->page_cap) {
        uint8_t *p = realloc(o->page, page);
        if (!p)
            return false;
        o->page = p;
        o->page_cap = page;
    }
    if (n > o->frame_cap) {
        uint8_t *b = realloc(o->bright, n), *k = b ? realloc(o->keep, n) : NULL;
        o->bright = b ? b : o->bright;
        o->keep = k ? k : o->keep;
        uint8_t *kd = k ? realloc(o->keep_dim, n) : NULL;
        o->keep_dim = kd ? kd : o->keep_dim;
        uint32_t *st = kd ? realloc(o->stack, n * sizeof *st) : NULL;
        if (!st)
            return false;
        o->stack = st;
        o->frame_cap = n;
    }
    return true;
}

/* Mark in keep the ink at thresholds t[base + 1], t[base + 2] that can be
 * text (none of its components brighter than ceiling), with the level it is
 * ink at (base + 1 or base + 2, an index of t), grown by one pixel so the
 * anti-aliased edge of a kept stroke survives the upscale. */
static void keep_text_ink(px_ocr *o, uint8_t *keep, uint32_t w, uint32_t h, const unsigned *t, uint8_t base,
                          unsigned ceiling)
{
    size_t n = (size_t)w * h;
    uint8_t *mask = o->page; /* the page is free until the scaled image is drawn */
    for (size_t i = 0; i < n; i++)
        mask[i] = o->bright[i] >= t[base + 1];
    uint32_t max_h = h / 12 > 32 ? h / 12 : 32;
    px_ink_keep_text_under(mask, o->bright, t[base + 1], t[base + 2], ceiling, w, h, max_h, o->stack);
    memset(keep, 0, n);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t level = mask[(size_t)y * w + x];
            if (!level)
                continue;
            level += base;
            for (uint32_t yy = y ? y - 1 : 0; yy <= y + 1 && yy < h; yy++)
                for (uint32_t xx = x ? x - 1 : 0; xx <= x + 1 && xx < w; xx++) {
                    uint8_t *k = keep + (size_t)yy * w + xx;
                    *k = *k > level ? *k : level;
                }
        }
}

/* Grey text beside something white (a scanner's scale, a logo): at half
 * the brightest level it is no ink, or faint ink dropped as soft-tissue
 * noise. Text is drawn in one colour, so its level stands out of the
 * histogram as a narrow peak, which tissue, speckle and a window's ramp do
 * not make: the count at v against the levels 2-4 away (a lossless
 * syntax keeps the one level), or the sum of the five levels around v
 * against the levels 6-9 away (a lossy one spreads it). The strongest such peak under the faint level (where
 * the first pass does not read) with enough pixels for a few words; 0 when
 * none. */
static unsigned grey_text_level(const unsigned hist[256], size_t n, bool inverted, const unsigned t[3])
{
    unsigned faint = (t[1] + t[2]) / 2, best = 0;
    double best_ratio = 0;
#define H(v) ((double)hist[inverted ? 255 - (v) : (v)])
    for (unsigned v = 48; v < faint && v + 9 < 256; v++) {
        double local = H(v - 2) + H(v - 1) + H(v) + H(v + 1) + H(v + 2), side = 0, near = 0;
        for (unsigned d = 6; d <= 9; d++)
            side += H(v - d) + H(v + d);
        for (unsigned d = 2; d <= 4; d++)
            near += H(v - d) + H(v + d);
        side *= 5.0 / 8.0;
        near /= 6.0;
        /* one exact level (lossless), or five (lossy) */
        double wide = local / (side + 30), narrow = H(v) / (near + 6);
        double ratio = wide > narrow ? wide : narrow, excess = wide > narrow ? local - side : H(v) - near;
        if (excess * 4000 >= (double)n && ratio > (wide > narrow ? 1.7 : 2.5) && ratio > best_ratio) {
            best_ratio = ratio;
            best = v;
        }
    }
#undef H
    return best;
}

/* The ink kept at the grey text's level, where the first pass kept none. */
static void add_grey_text(px_ocr *o, uint32_t w, uint32_t h, unsigned *t, unsigned level)
{
    t[3] = level / 2 < 40 ? 40 : level / 2;
    t[4] = (t[3] + level + 1) / 2;
    /* speckle and tissue brighter than the text are no text of that grey */
    unsigned ceiling = level + level / 8 + 6;
    keep_text_ink(o, o->keep_dim, w, h, t, 2, ceiling > 255 ? 255 : ceiling);
    for (size_t i = 0, n = (size_t)w * h; i < n; i++)
        if (!o->keep[i])
            o->keep[i] = o->keep_dim[i];
}

/* img → black-on-white ink at scale x in o->page; false when out of memory. */
static bool prepare(px_ocr *o, const px_image *img, unsigned scale)
{
    uint32_t w = img->width, h = img->height, sw = w * scale, sh = h * scale;
    size_t n = (size_t)w * h;
    if (!reserve(o, n, (size_t)sw * sh > n ? (size_t)sw * sh : n))
        return false;
    unsigned hist[256] = {0};
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = brightness(img, i);
        o->bright[i] = b;
        hist[b]++;
        sum += b;
    }
    bool inverted = sum > 160u * n; /* a light page: its text is the dark part */
    if (inverted)
        for (size_t i = 0; i < n; i++)
            o->bright[i] = (uint8_t)(255 - o->bright[i]);
    unsigned t[5];
    ink_thresholds(hist, n, inverted, t);
    keep_text_ink(o, o->keep, w, h, t, 0, 255);
    unsigned grey = grey_text_level(hist, n, inverted, t);
    if (grey)
        add_grey_text(o, w, h, t, grey);
    for (uint32_t y = 0; y < sh; y++)
        for (uint32_t x = 0; x < sw; x++) {
            uint8_t level = o->keep[(size_t)(y / scale) * w + x / scale];
            bool ink = level && sample_at(o, w, h, x, y, scale) >= t[level];
            o->page[(size_t)y * sw + x] = ink ? 0 : 255;
        }
    return true;
}

static dqr_status add_word(px_ocr_words *out, size_t *cap, const char *text, int l, int t, int r,
                           int b, float conf, unsigned scale, dqr_error *err)
{
    if (out->n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        px_ocr_word *v = realloc(out->v, c * sizeof *v);
        if (!v)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory collecting OCR words");
        out->v = v;
        *cap = c;
    }
    px_ocr_word *w = &out->v[out->n];
    if (!(w->text = strdup(text)))
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory collecting OCR words");
    w->left = (uint32_t)l / scale;
    w->top = (uint32_t)t / scale;
    w->width = (uint32_t)(r - l + (int)scale - 1) / scale;
    w->height = (uint32_t)(b - t + (int)scale - 1) / scale;
    w->confidence = conf;
    out->n++;
    return DQR_OK;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static dqr_status collect(px_ocr *o, unsigned scale, px_ocr_words *out, dqr_error *err)
{
    TessResultIterator *ri = TessBaseAPIGetIterator(o->api);
    if (!ri)
        return DQR_OK; /* nothing recognised */
    const TessPageIterator *pi = TessResultIteratorGetPageIteratorConst(ri);
    size_t cap = 0;
    dqr_status st = DQR_OK;
    do {
        char *text = TessResultIteratorGetUTF8Text(ri, RIL_WORD);
        int l, t, r, b;
        if (text && !blank(text) && TessPageIteratorBoundingBox(pi, RIL_WORD, &l, &t, &r, &b))
            st = add_word(out, &cap, text, l, t, r, b, TessResultIteratorConfidence(ri, RIL_WORD),
                          scale, err);
        TessDeleteText(text);
    } while (!st && TessResultIteratorNext(ri, RIL_WORD));
    TessResultIteratorDelete(ri);
    return st;
}

dqr_status px_ocr_read(px_ocr *o, const px_image *img, px_ocr_words *out, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    if (!img || !img->pixels || !img->width || !img->height)
        return dqr_error_set(err, DQR_E_USAGE, "no image to read");
    /* Annotations of a frame up to 1024 pixels are ~8-16 px high: double them
     * (larger screens use larger fonts, and 4x the pixels cost 4x the time). */
    unsigned scale = img->width <= 1024 && img->height <= 1024 ? 2 : 1;
    if (!prepare(o, img, scale))
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory preparing a frame for OCR");
    int w = (int)(img->width * scale), h = (int)(img->height * scale);
    TessBaseAPISetImage(o->api, o->page, w, h, 1, w);
    TessBaseAPISetSourceResolution(o->api, 300);
    dqr_status st = DQR_OK;
    if (TessBaseAPIRecognize(o->api, NULL) != 0)
        st = dqr_error_set(err, DQR_E_IO, "Tesseract could not read a %ux%u frame", img->width,
                           img->height);
    else
        st = collect(o, scale, out, err);
    TessBaseAPIClear(o->api);
    if (st)
        px_ocr_words_free(out);
    return st;
}

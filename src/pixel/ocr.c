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
 * is also what keeps clean CT/MR frames from producing words), and small
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

struct px_ocr {
    TessBaseAPI *api;
    uint8_t *page;      /* the prepared image, reused between calls */
    size_t page_cap;
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

/* The ink threshold: a fraction of the brightest level present (the 99.9th
 * percentile, so a few hot pixels do not set it), never below 96. */
static unsigned ink_threshold(const unsigned hist[256], size_t n, bool inverted)
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
    unsigned t = peak * 7 / 10;
    return t < 96 ? 96 : t;
}

/* img → black-on-white ink at scale x in o->page; false when out of memory. */
static bool prepare(px_ocr *o, const px_image *img, unsigned scale)
{
    size_t n = (size_t)img->width * img->height, w = (size_t)img->width * scale;
    size_t need = n * scale * scale;
    if (need > o->page_cap) {
        uint8_t *p = realloc(o->page, need);
        if (!p)
            return false;
        o->page = p;
        o->page_cap = need;
    }
    unsigned hist[256] = {0};
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = brightness(img, i);
        hist[b]++;
        sum += b;
    }
    bool inverted = sum > 160u * n; /* a light page: its text is the dark part */
    unsigned t = ink_threshold(hist, n, inverted);
    for (size_t y = 0; y < img->height; y++)
        for (size_t x = 0; x < img->width; x++) {
            unsigned b = brightness(img, y * img->width + x);
            uint8_t v = (inverted ? 255 - b : b) >= t ? 0 : 255;
            for (unsigned dy = 0; dy < scale; dy++)
                memset(o->page + (y * scale + dy) * w + x * scale, v, scale);
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
    /* Annotations of a frame up to 1024 wide are ~8-16 px high: double them. */
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

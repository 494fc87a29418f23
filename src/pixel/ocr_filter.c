/* ocr_filter.c — which words read from a frame are not PHI: the whitelist
 * of px_ocr_allowed.
 *
 * The built-in list holds what every modality burns in and identifies no
 * one: orientation markers (L, R, A, P, H, F, S, I and their pairs such as
 * LAO, RAO, AP, PA), units (cm, mm, Hz, MHz, dB, bpm, %, ...) and the
 * labels of ultrasound and X-ray screens (Gain, Depth, MI, TIS, kVp, mAs, ...).
 * Short numbers (1-3 digits, a sign, a decimal part, a unit: "16", "3.5",
 * "-20dB", "60%") are allowed only when the caller says so: a longer number
 * may be a record number, and anything with / or : may be a date or time,
 * so those always count. Words are compared case-insensitively after
 * stripping the punctuation OCR glues to them; a word of one character, or
 * without any letter or digit, is noise, not identifying text.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pixel/pixel.h"

static const char *const builtin[] = {
    /* orientation */
    "L", "R", "A", "P", "H", "F", "S", "I", "AP", "PA", "LR", "RL", "HF", "FH", "SI", "IS", "LAO",
    "RAO", "LPO", "RPO", "LAT", "ANT", "POST", "SUP", "INF", "MED", "LEFT", "RIGHT", "AXIAL",
    "SAG", "COR", "TRANS", "LONG", "PROX", "DIST",
    /* units */
    "cm", "mm", "um", "m", "Hz", "kHz", "MHz", "dB", "bpm", "%", "fps", "ms", "s", "sec", "min",
    "mmHg", "cm/s", "m/s", "mm/s", "kV", "kVp", "mA", "mAs", "mGy", "cGy", "Gy", "ml", "mL", "deg",
    /* ultrasound and X-ray screen labels */
    "Gain", "Depth", "Freq", "FR", "THI", "PW", "CW", "PRF", "MI", "TIS", "TIB", "TIC", "HR", "2D",
    "CF", "PD", "DR", "Dyn", "Map", "Res", "Gen", "Pen", "WF", "SV", "Angle", "Vel", "RI", "PI",
    "Zoom", "Focus", "Power", "Persist", "Frq", "Compound", "Harmonic",
};

static bool is_punct(unsigned char c)
{
    return c && strchr(".,;:()[]{}<>\"'`|*_~!?=", c) != NULL;
}

/* text without the punctuation at its ends, into buf. */
static void strip(const char *text, char *buf, size_t size)
{
    while (is_punct((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n && is_punct((unsigned char)text[n - 1]))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
}

static bool in_builtin(const char *w)
{
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (strcasecmp(w, builtin[i]) == 0)
            return true;
    return false;
}

/* w is one of the comma- or space-separated words of list (case-insensitive). */
static bool in_list(const char *w, const char *list)
{
    size_t n = strlen(w);
    while (list && *list) {
        list += strspn(list, ", \t");
        size_t len = strcspn(list, ", \t");
        if (len == n && len && strncasecmp(list, w, n) == 0)
            return true;
        list += len;
    }
    return false;
}

/* A short number, optionally followed by a unit: [+-]d{1,3}([.,]d{1,3})?unit? */
static bool short_number(const char *w)
{
    const char *p = w + (*w == '+' || *w == '-');
    size_t d = strspn(p, "0123456789");
    if (d < 1 || d > 3)
        return false;
    p += d;
    if ((*p == '.' || *p == ',') && isdigit((unsigned char)p[1])) {
        size_t f = strspn(p + 1, "0123456789");
        if (f > 3)
            return false;
        p += 1 + f;
    }
    return *p == '\0' || in_builtin(p);
}

static bool has_alnum(const char *w, size_t *count)
{
    *count = 0;
    for (; *w; w++)
        if (isalnum((unsigned char)*w))
            ++*count;
    return *count > 0;
}

bool px_ocr_allowed(const px_ocr_word *word, const px_ocr_filter *f)
{
    char w[128];
    size_t alnum;
    if (f && word->confidence < f->min_confidence)
        return true;
    strip(word->text, w, sizeof w);
    if (!has_alnum(w, &alnum) || (alnum == 1 && strlen(w) == 1))
        return true;
    if (in_builtin(w) || (f && in_list(w, f->extra)))
        return true;
    return f && f->digits_ok && short_number(w);
}

size_t px_ocr_keep_suspect(px_ocr_words *w, const px_ocr_filter *f)
{
    size_t kept = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (px_ocr_allowed(&w->v[i], f)) {
            free(w->v[i].text);
            continue;
        }
        w->v[kept++] = w->v[i];
    }
    w->n = kept;
    return kept;
}

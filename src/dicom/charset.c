/* charset.c — Specific Character Set (0008,0005) to UTF-8.
 *
 * Single-byte sets, UTF-8, GB18030/GBK and the ISO 2022 code extensions of
 * PS3.5 6.1.2.5 (Japanese, Korean, Chinese), decoded with glibc's iconv.
 * The rules follow PS3.5 and match pydicom: a value is split into fragments
 * at each ESC; a fragment without escape uses the first declared set; an
 * escaped fragment uses the set its escape names until the first delimiter
 * (^ in PN, CR LF TAB FF in text), after which the first set applies again.
 * Undecodable bytes become U+FFFD.
 */
#include "dicom/dicom.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>

enum cs_kind {
    CS_LATIN1,   /* ISO_IR 6 / ISO_IR 100: bytes are code points */
    CS_JISX0201, /* ISO_IR 13: ASCII + half-width katakana */
    CS_ICONV,    /* any other: iconv from `iconv_name` */
};

typedef struct cs_term {
    const char *term;       /* defined term without "ISO 2022 " prefix variations */
    const char *escape;     /* ISO 2022 escape sequence that selects it, or NULL */
    const char *escape2;    /* a second escape for the same set, or NULL */
    enum cs_kind kind;
    const char *iconv_name;
    bool keep_escape;       /* iconv itself decodes the escape (ISO-2022-JP*) */
} cs_term;

static const cs_term TERMS[] = {
    {"ISO_IR 6", "\x1b(B", NULL, CS_LATIN1, NULL, false},
    {"ISO 2022 IR 6", "\x1b(B", NULL, CS_LATIN1, NULL, false},
    {"ISO_IR 100", "\x1b-A", NULL, CS_LATIN1, NULL, false},
    {"ISO 2022 IR 100", "\x1b-A", NULL, CS_LATIN1, NULL, false},
    {"ISO_IR 101", "\x1b-B", NULL, CS_ICONV, "ISO-8859-2", false},
    {"ISO 2022 IR 101", "\x1b-B", NULL, CS_ICONV, "ISO-8859-2", false},
    {"ISO_IR 109", "\x1b-C", NULL, CS_ICONV, "ISO-8859-3", false},
    {"ISO 2022 IR 109", "\x1b-C", NULL, CS_ICONV, "ISO-8859-3", false},
    {"ISO_IR 110", "\x1b-D", NULL, CS_ICONV, "ISO-8859-4", false},
    {"ISO 2022 IR 110", "\x1b-D", NULL, CS_ICONV, "ISO-8859-4", false},
    {"ISO_IR 144", "\x1b-L", NULL, CS_ICONV, "ISO-8859-5", false},
    {"ISO 2022 IR 144", "\x1b-L", NULL, CS_ICONV, "ISO-8859-5", false},
    {"ISO_IR 127", "\x1b-G", NULL, CS_ICONV, "ISO-8859-6", false},
    {"ISO 2022 IR 127", "\x1b-G", NULL, CS_ICONV, "ISO-8859-6", false},
    {"ISO_IR 126", "\x1b-F", NULL, CS_ICONV, "ISO-8859-7", false},
    {"ISO 2022 IR 126", "\x1b-F", NULL, CS_ICONV, "ISO-8859-7", false},
    {"ISO_IR 138", "\x1b-H", NULL, CS_ICONV, "ISO-8859-8", false},
    {"ISO 2022 IR 138", "\x1b-H", NULL, CS_ICONV, "ISO-8859-8", false},
    {"ISO_IR 148", "\x1b-M", NULL, CS_ICONV, "ISO-8859-9", false},
    {"ISO 2022 IR 148", "\x1b-M", NULL, CS_ICONV, "ISO-8859-9", false},
    {"ISO_IR 166", "\x1b-T", NULL, CS_ICONV, "TIS-620", false},
    {"ISO 2022 IR 166", "\x1b-T", NULL, CS_ICONV, "TIS-620", false},
    {"ISO_IR 13", "\x1b)I", "\x1b(J", CS_JISX0201, NULL, false},
    {"ISO 2022 IR 13", "\x1b)I", "\x1b(J", CS_JISX0201, NULL, false},
    {"ISO 2022 IR 87", "\x1b$B", NULL, CS_ICONV, "ISO-2022-JP", true},
    {"ISO 2022 IR 159", "\x1b$(D", NULL, CS_ICONV, "ISO-2022-JP-2", true},
    {"ISO 2022 IR 149", "\x1b$)C", NULL, CS_ICONV, "EUC-KR", false},
    {"ISO 2022 IR 58", "\x1b$)A", NULL, CS_ICONV, "GB2312", false},
    {"ISO_IR 192", NULL, NULL, CS_ICONV, "UTF-8", false},
    {"GB18030", NULL, NULL, CS_ICONV, "GB18030", false},
    {"GBK", NULL, NULL, CS_ICONV, "GBK", false},
};
#define N_TERMS (sizeof TERMS / sizeof TERMS[0])
#define MAX_SETS 8

struct dcm_charset {
    const cs_term *set[MAX_SETS];
    iconv_t cd[MAX_SETS];
    size_t n;
    /* Sets reachable only by escape (ISO 2022 IR 6 / JIS X 0201 romaji) that
     * were not declared still decode, with the first set's converter. */
};

static const cs_term *find_term(const char *s, size_t n)
{
    for (size_t i = 0; i < N_TERMS; i++)
        if (strlen(TERMS[i].term) == n && memcmp(TERMS[i].term, s, n) == 0)
            return &TERMS[i];
    /* Common misspellings that pydicom also accepts: "ISO_IR100", "ISO-IR 100", "ISO IR 100". */
    char fixed[32];
    if (n < 6 || n >= sizeof fixed)
        return NULL;
    memcpy(fixed, s, n);
    fixed[n] = '\0';
    if (strncmp(fixed, "ISO IR", 6) == 0 || strncmp(fixed, "ISO-IR", 6) == 0)
        fixed[3] = '_';
    if (strncmp(fixed, "ISO_IR", 6) == 0 && fixed[6] != ' ' && n + 1 < sizeof fixed) {
        memmove(fixed + 7, fixed + 6, n - 5);
        fixed[6] = ' ';
    }
    for (size_t i = 0; i < N_TERMS; i++)
        if (strcmp(TERMS[i].term, fixed) == 0)
            return &TERMS[i];
    return NULL;
}

static bool add_set(dcm_charset *cs, const cs_term *t)
{
    if (cs->n == MAX_SETS)
        return true;
    cs->set[cs->n] = t;
    cs->cd[cs->n] = (iconv_t)-1;
    if (t->kind == CS_ICONV) {
        cs->cd[cs->n] = iconv_open("UTF-8", t->iconv_name);
        if (cs->cd[cs->n] == (iconv_t)-1)
            return false;
    }
    cs->n++;
    return true;
}

dcm_charset *dcm_charset_new(const char *spec, dqr_error *err)
{
    dcm_charset *cs = calloc(1, sizeof *cs);
    if (!cs) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    const char *p = spec ? spec : "";
    for (size_t k = 0;; k++) {
        const char *end = strchr(p, '\\');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && p[n - 1] == ' ')
            n--;
        while (n && *p == ' ') {
            p++;
            n--;
        }
        const cs_term *t = n ? find_term(p, n) : (k == 0 ? &TERMS[0] : NULL);
        if (!t && k == 0)
            t = &TERMS[0]; /* unknown first set: default repertoire, as pydicom warns and does */
        if (t && !add_set(cs, t)) {
            dqr_error_set(err, DQR_E_UNSUPPORTED, "iconv cannot convert from %s", t->iconv_name);
            dcm_charset_free(cs);
            return NULL;
        }
        /* Stand-alone sets (UTF-8, GB18030, GBK) take no extensions (PS3.3 C.12.1.1.2). */
        if (!end || (k == 0 && t && !t->escape))
            break;
        p = end + 1;
    }
    return cs;
}

void dcm_charset_free(dcm_charset *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n; i++)
        if (cs->cd[i] != (iconv_t)-1)
            iconv_close(cs->cd[i]);
    free(cs);
}

/* Growing UTF-8 output buffer. */
typedef struct out {
    char *p;
    size_t len, cap;
    bool failed;
} out;

static void reserve(out *o, size_t n)
{
    if (o->failed || o->len + n + 1 <= o->cap)
        return;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->len + n + 1)
        cap *= 2;
    char *np = realloc(o->p, cap);
    if (!np) {
        o->failed = true;
        return;
    }
    o->p = np;
    o->cap = cap;
}

static void put_cp(out *o, uint32_t cp)
{
    reserve(o, 4);
    if (o->failed)
        return;
    char *d = o->p + o->len;
    if (cp < 0x80) {
        d[0] = (char)cp;
        o->len += 1;
    } else if (cp < 0x800) {
        d[0] = (char)(0xC0 | cp >> 6);
        d[1] = (char)(0x80 | (cp & 0x3F));
        o->len += 2;
    } else if (cp < 0x10000) {
        d[0] = (char)(0xE0 | cp >> 12);
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        o->len += 3;
    } else {
        d[0] = (char)(0xF0 | cp >> 18);
        d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[3] = (char)(0x80 | (cp & 0x3F));
        o->len += 4;
    }
}

static void decode_with(out *o, const cs_term *t, iconv_t cd, const uint8_t *s, size_t n)
{
    if (t->kind == CS_LATIN1) {
        for (size_t i = 0; i < n; i++)
            put_cp(o, s[i]);
        return;
    }
    if (t->kind == CS_JISX0201) {
        for (size_t i = 0; i < n; i++)
            put_cp(o, s[i] < 0x80 ? s[i] : (s[i] >= 0xA1 && s[i] <= 0xDF) ? 0xFF61u + (s[i] - 0xA1u) : 0xFFFDu);
        return;
    }
    iconv(cd, NULL, NULL, NULL, NULL);
    char *in = (char *)s;
    size_t inleft = n;
    while (inleft && !o->failed) {
        reserve(o, inleft * 4 + 16);
        if (o->failed)
            return;
        char *dst = o->p + o->len;
        size_t outleft = o->cap - o->len - 1;
        size_t r = iconv(cd, &in, &inleft, &dst, &outleft);
        o->len = (size_t)(dst - o->p);
        if (r == (size_t)-1 && errno != E2BIG) {
            put_cp(o, 0xFFFD); /* invalid or incomplete sequence: replace one byte */
            in++;
            inleft--;
            iconv(cd, NULL, NULL, NULL, NULL);
        }
    }
}

static bool is_delim(dcm_vr vr, uint8_t c)
{
    if (vr == DCM_VR_PN)
        return c == '^' || c == '=';
    return c == '\r' || c == '\n' || c == '\t' || c == '\f';
}

static bool starts_with(const uint8_t *s, size_t n, const char *prefix)
{
    return prefix && strlen(prefix) <= n && memcmp(prefix, s, strlen(prefix)) == 0;
}

static void decode_fragment(out *o, const dcm_charset *cs, dcm_vr vr, const uint8_t *s, size_t n)
{
    if (n == 0 || s[0] != 0x1b) {
        decode_with(o, cs->set[0], cs->cd[0], s, n);
        return;
    }
    size_t i;
    const char *esc = NULL;
    for (i = 0; i < cs->n; i++) {
        if (starts_with(s, n, cs->set[i]->escape))
            esc = cs->set[i]->escape;
        else if (starts_with(s, n, cs->set[i]->escape2))
            esc = cs->set[i]->escape2;
        if (esc)
            break;
    }
    if (i == cs->n) {
        if (n >= 3 && memcmp(s, "\x1b(B", 3) == 0) { /* back to ASCII, always allowed */
            decode_with(o, &TERMS[0], (iconv_t)-1, s + 3, n - 3);
            return;
        }
        decode_with(o, cs->set[0], cs->cd[0], s, n); /* unknown escape: first set */
        return;
    }
    const cs_term *t = cs->set[i];
    if (t->keep_escape) {
        decode_with(o, t, cs->cd[i], s, n);
        return;
    }
    size_t el = strlen(esc), d;
    for (d = el; d < n && !is_delim(vr, s[d]); d++)
        ;
    decode_with(o, t, cs->cd[i], s + el, d - el);
    if (d < n)
        decode_with(o, cs->set[0], cs->cd[0], s + d, n - d);
}

char *dcm_charset_decode(const dcm_charset *cs, dcm_vr vr, const uint8_t *s, size_t n)
{
    out o = {0};
    reserve(&o, n);
    if (dcm_vr_uses_charset(vr)) {
        size_t start = 0;
        for (size_t i = 1; i <= n; i++)
            if (i == n || s[i] == 0x1b) {
                decode_fragment(&o, cs, vr, s + start, i - start);
                start = i;
            }
    } else {
        decode_with(&o, &TERMS[0], (iconv_t)-1, s, n);
    }
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    reserve(&o, 0);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    o.p[o.len] = '\0';
    return o.p;
}

uint8_t *dcm_charset_encode(const dcm_charset *cs, const char *utf8, size_t *out_len)
{
    size_t n = strlen(utf8);
    const cs_term *t = cs ? cs->set[0] : &TERMS[0];
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        ascii = ascii && (unsigned char)utf8[i] < 0x80;
    uint8_t *out = malloc(n + 1);
    if (!out)
        return NULL;
    if (ascii || (t->kind == CS_ICONV && (!t->escape || t->keep_escape || strlen(t->escape) == 4))) {
        memcpy(out, utf8, n); /* ASCII, UTF-8, GB18030/GBK, ISO 2022 multi-byte: as given */
        *out_len = n;
        return out;
    }
    iconv_t cd = iconv_open(t->kind == CS_ICONV ? t->iconv_name : "ISO-8859-1", "UTF-8");
    if (cd == (iconv_t)-1) {
        memcpy(out, utf8, n);
        *out_len = n;
        return out;
    }
    char *in = (char *)utf8, *dst = (char *)out;
    size_t inleft = n, outleft = n; /* a single-byte set never needs more bytes than UTF-8 */
    while (inleft) {
        if (iconv(cd, &in, &inleft, &dst, &outleft) != (size_t)-1)
            break;
        if (errno == E2BIG || !outleft)
            break;
        *dst++ = '?'; /* not in the set: skip one UTF-8 character */
        outleft--;
        do {
            in++;
            inleft--;
        } while (inleft && ((unsigned char)*in & 0xC0) == 0x80);
    }
    iconv_close(cd);
    *out_len = (size_t)(dst - (char *)out);
    return out;
}

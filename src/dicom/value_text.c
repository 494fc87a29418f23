/* value_text.c — an element's whole value as UTF-8 text and back: the form
 * in which the de-identification scripts read and write attributes. */
#include "dicom/format.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct joiner {
    char *p;
    size_t len, cap;
    bool failed;
} joiner;

static void join(joiner *j, const char *s, bool sep)
{
    size_t n = strlen(s) + (sep ? 1 : 0);
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *p = realloc(j->p, cap);
        if (!p) {
            j->failed = true;
            return;
        }
        j->p = p;
        j->cap = cap;
    }
    if (sep)
        j->p[j->len++] = '\\';
    memcpy(j->p + j->len, s, strlen(s) + 1);
    j->len += strlen(s);
}

static int join_value(void *ctx, size_t index, dcm_fv_kind kind, const char *text)
{
    (void)kind;
    join(ctx, text, index > 0);
    return ((joiner *)ctx)->failed;
}

char *dcm_element_text(const dcm_element *el, const dcm_charset *cs)
{
    joiner j = {0};
    join(&j, "", false);
    if (el->kind != DCM_KIND_BLOB) {
        free(j.p);
        return NULL;
    }
    if (dcm_vr_is_bulk(el->vr)) {
        uint8_t *raw = malloc(el->blob.len + 1);
        if (!raw || dcm_element_read(el, 0, raw, el->blob.len, NULL)) {
            free(raw);
            free(j.p);
            return NULL;
        }
        char *s = dcm_charset_decode(NULL, DCM_VR_OB, raw, el->blob.len);
        free(raw);
        free(j.p);
        return s;
    }
    dcm_charset *own = NULL;
    if (!cs)
        cs = own = dcm_charset_new("", NULL);
    dqr_status st = dcm_format_values(el, cs, 0, join_value, &j, NULL);
    dcm_charset_free(own);
    if (st || j.failed) {
        free(j.p);
        return NULL;
    }
    /* An empty value between separators reads as empty, as in the raw string. */
    return j.p;
}

static int parse_number(dcm_vr vr, const char *s, uint8_t out[8])
{
    char *end;
    errno = 0;
    if (vr == DCM_VR_FL || vr == DCM_VR_FD) {
        double d = strtod(s, &end);
        if (end == s || *end || errno)
            return -1;
        if (vr == DCM_VR_FL) {
            float f = (float)d;
            memcpy(out, &f, 4); /* host is little endian (x86-64, arm64) */
        } else {
            memcpy(out, &d, 8);
        }
        return 0;
    }
    if (vr == DCM_VR_AT) {
        unsigned long v = strtoul(s, &end, 16);
        if (end - s != 8 || *end)
            return -1;
        dcm_wr16(out, (uint16_t)(v >> 16), false);
        dcm_wr16(out + 2, (uint16_t)v, false);
        return 0;
    }
    bool is_signed = vr == DCM_VR_SS || vr == DCM_VR_SL || vr == DCM_VR_SV;
    long long v = is_signed ? strtoll(s, &end, 10) : (long long)strtoull(s, &end, 10);
    if (end == s || *end || errno || (!is_signed && *s == '-'))
        return -1;
    uint64_t u = (uint64_t)v;
    size_t width = dcm_vr_swap_unit(vr);
    for (size_t i = 0; i < width; i++)
        out[i] = (uint8_t)(u >> (8 * i));
    if (width < 8) { /* range check */
        long long lo = is_signed ? -(1LL << (8 * width - 1)) : 0;
        long long hi = is_signed ? (1LL << (8 * width - 1)) - 1 : (long long)((1ULL << (8 * width)) - 1);
        if (v < lo || v > hi)
            return -1;
    }
    return 0;
}

static dcm_element *set_numbers(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *text,
                                dqr_error *err)
{
    size_t width = vr == DCM_VR_AT ? 4 : dcm_vr_swap_unit(vr);
    size_t count = *text ? 1 : 0;
    for (const char *p = text; *p; p++)
        count += *p == '\\';
    uint8_t *buf = malloc(count * width + 1);
    char *copy = strdup(text);
    if (!buf || !copy) {
        free(buf);
        free(copy);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t i = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "\\", &save); tok && *text; tok = strtok_r(NULL, "\\", &save)) {
        while (*tok == ' ')
            tok++;
        if (parse_number(vr, tok, buf + i * width)) {
            char t[12];
            dqr_error_set(err, DQR_E_USAGE, "'%s' is not a valid %s value for %s", tok, dcm_vr_str(vr),
                          dcm_tag_str(tag, t));
            free(buf);
            free(copy);
            return NULL;
        }
        i++;
    }
    free(copy);
    dcm_element *el = dcm_dataset_set_bytes(ds, tag, vr, buf, i * width, err);
    free(buf);
    return el;
}

dcm_element *dcm_dataset_set_text(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *utf8,
                                  const dcm_charset *cs, dqr_error *err)
{
    if (vr == DCM_VR_SQ) {
        dqr_error_set(err, DQR_E_USAGE, "cannot set a sequence from text");
        return NULL;
    }
    if (!dcm_vr_is_string(vr) && !dcm_vr_is_bulk(vr))
        return set_numbers(ds, tag, vr, utf8, err);
    if (!dcm_vr_uses_charset(vr) || !cs)
        return dcm_dataset_set_bytes(ds, tag, vr, utf8, strlen(utf8), err);
    size_t n;
    uint8_t *bytes = dcm_charset_encode(cs, utf8, &n);
    if (!bytes) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dcm_element *el = dcm_dataset_set_bytes(ds, tag, vr, bytes, n, err);
    free(bytes);
    return el;
}

dcm_element *dcm_dataset_set_key(dcm_dataset *ds, const char *key, const char *utf8, dqr_error *err)
{
    uint32_t tag;
    if (dcm_tag_parse(key, &tag) != 0) {
        dqr_error_set(err, DQR_E_USAGE, "unknown attribute '%s'", key);
        return NULL;
    }
    dcm_vr vr = dcm_dict_vr(tag);
    if (vr == DCM_VR_SQ)
        return dcm_dataset_set_sequence(ds, tag, err);
    dcm_element *el = dcm_dataset_set_text(ds, tag, vr, utf8 ? utf8 : "", NULL, err);
    if (!el)
        dqr_error_prefix(err, "%s: ", key);
    return el;
}

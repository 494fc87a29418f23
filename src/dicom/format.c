/* format.c — turn element values into text, one value at a time. */
#include "dicom/format.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool dcm_vr_is_bulk(dcm_vr vr)
{
    switch (vr) {
    case DCM_VR_OB: case DCM_VR_OD: case DCM_VR_OF: case DCM_VR_OL:
    case DCM_VR_OV: case DCM_VR_OW: case DCM_VR_UN: case DCM_VR_NONE:
        return true;
    default:
        return false;
    }
}

const dcm_charset *dcm_dataset_charset(const dcm_dataset *ds, const dcm_charset *parent,
                                   dcm_charset **owned, dqr_error *err)
{
    *owned = NULL;
    const dcm_element *el = dcm_dataset_get(ds, DCM_TAG_SPECIFIC_CHARSET);
    const uint8_t *b = el ? dcm_element_bytes(el) : NULL;
    if (!b && parent)
        return parent;
    char spec[256] = "";
    if (b) {
        size_t n = el->blob.len < sizeof spec - 1 ? el->blob.len : sizeof spec - 1;
        memcpy(spec, b, n);
        spec[n] = '\0';
        while (n && (spec[n - 1] == ' ' || spec[n - 1] == '\0'))
            spec[--n] = '\0';
    }
    *owned = dcm_charset_new(spec, err);
    return *owned;
}

/* Is s (length n) a number in JSON's grammar? */
static bool json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (*p >= '0' && *p <= '9')
            p++;
    else
        return false;
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* Classify an IS/DS string: a JSON number as is, or normalized through strtod
 * ("+1", "1.", ".5", "007"); text that is no number stays a string. */
static dcm_fv_kind number_kind(char *text, size_t cap)
{
    char *p = text;
    while (*p == ' ')
        p++;
    if (p != text)
        memmove(text, p, strlen(p) + 1);
    if (json_number(text))
        return DCM_FV_NUMBER;
    char *end;
    double d = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(d))
        return DCM_FV_STRING;
    snprintf(text, cap, "%.17g", d);
    return DCM_FV_NUMBER;
}

static int string_values(const dcm_element *el, const uint8_t *b, const dcm_charset *cs,
                         size_t max, dcm_value_fn fn, void *ctx, dqr_error *err)
{
    size_t len = el->blob.len;
    bool single = dcm_vr_single_valued(el->vr);
    if (el->vr == DCM_VR_PN) /* pydicom strips padding before splitting PN */
        while (len && (b[len - 1] == ' ' || b[len - 1] == '\0'))
            len--;
    size_t start = 0, index = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && (single || b[i] != '\\'))
            continue;
        char *text = dcm_charset_decode(cs, el->vr, b + start, i - start);
        if (!text)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        size_t n = strlen(text);
        while (n && (text[n - 1] == ' ' || text[n - 1] == '\0'))
            text[--n] = '\0';
        dcm_fv_kind kind = n == 0 ? DCM_FV_EMPTY : DCM_FV_STRING;
        if (n && (el->vr == DCM_VR_IS || el->vr == DCM_VR_DS)) {
            char *t2 = realloc(text, n + 32);
            if (!t2) {
                free(text);
                return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
            }
            text = t2;
            kind = number_kind(text, n + 32);
        }
        int stop = fn(ctx, index++, kind, text);
        free(text);
        if (stop || (max && index >= max))
            return 0;
        start = i + 1;
    }
    return 0;
}

static void format_binary(dcm_vr vr, const uint8_t *p, char *out, size_t cap, dcm_fv_kind *kind)
{
    *kind = DCM_FV_NUMBER;
    union { uint32_t u; float f; } f32;
    union { uint64_t u; double d; } f64;
    uint64_t u64;
    switch (vr) {
    case DCM_VR_US: snprintf(out, cap, "%u", dcm_rd16(p, false)); break;
    case DCM_VR_SS: snprintf(out, cap, "%d", (int16_t)dcm_rd16(p, false)); break;
    case DCM_VR_UL: snprintf(out, cap, "%u", dcm_rd32(p, false)); break;
    case DCM_VR_SL: snprintf(out, cap, "%d", (int32_t)dcm_rd32(p, false)); break;
    case DCM_VR_AT:
        snprintf(out, cap, "%04X%04X", dcm_rd16(p, false), dcm_rd16(p + 2, false));
        *kind = DCM_FV_STRING;
        break;
    case DCM_VR_FL:
        f32.u = dcm_rd32(p, false);
        if (!isfinite(f32.f)) {
            snprintf(out, cap, "%s", isnan(f32.f) ? "NaN" : f32.f > 0 ? "Infinity" : "-Infinity");
            *kind = DCM_FV_STRING;
        } else {
            snprintf(out, cap, "%.9g", (double)f32.f);
        }
        break;
    case DCM_VR_FD:
        f64.u = (uint64_t)dcm_rd32(p, false) | (uint64_t)dcm_rd32(p + 4, false) << 32;
        if (!isfinite(f64.d)) {
            snprintf(out, cap, "%s", isnan(f64.d) ? "NaN" : f64.d > 0 ? "Infinity" : "-Infinity");
            *kind = DCM_FV_STRING;
        } else {
            snprintf(out, cap, "%.17g", f64.d);
        }
        break;
    case DCM_VR_SV:
    case DCM_VR_UV:
        u64 = (uint64_t)dcm_rd32(p, false) | (uint64_t)dcm_rd32(p + 4, false) << 32;
        if (vr == DCM_VR_SV)
            snprintf(out, cap, "%lld", (long long)u64);
        else
            snprintf(out, cap, "%llu", (unsigned long long)u64);
        break;
    default:
        snprintf(out, cap, "?");
        *kind = DCM_FV_STRING;
    }
}

static int binary_values(const dcm_element *el, size_t max, dcm_value_fn fn, void *ctx,
                         dqr_error *err)
{
    size_t unit = el->vr == DCM_VR_AT ? 4 : dcm_vr_swap_unit(el->vr);
    size_t count = el->blob.len / unit;
    if (max && count > max)
        count = max;
    uint8_t chunk[4096];
    size_t per = sizeof chunk / unit;
    for (size_t i = 0; i < count; i += per) {
        size_t k = count - i < per ? count - i : per;
        dqr_status s = dcm_element_read(el, (uint64_t)i * unit, chunk, k * unit, err);
        if (s)
            return s;
        for (size_t j = 0; j < k; j++) {
            char text[40];
            dcm_fv_kind kind;
            format_binary(el->vr, chunk + j * unit, text, sizeof text, &kind);
            if (fn(ctx, i + j, kind, text))
                return 0;
        }
    }
    return 0;
}

dqr_status dcm_format_values(const dcm_element *el, const dcm_charset *cs, size_t max_values,
                             dcm_value_fn fn, void *ctx, dqr_error *err)
{
    if (el->kind != DCM_KIND_BLOB || dcm_vr_is_bulk(el->vr) || el->vr == DCM_VR_SQ)
        return dqr_error_set(err, DQR_E_USAGE, "element has no formattable values");
    if (el->blob.len == 0)
        return DQR_OK;
    if (!dcm_vr_is_string(el->vr))
        return binary_values(el, max_values, fn, ctx, err);
    const uint8_t *b = el->blob.bytes;
    uint8_t *loaded = NULL;
    if (!b) { /* a long deferred string (UT): bring it in, bounded by its length */
        loaded = malloc(el->blob.len);
        if (!loaded)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        dqr_status s = dcm_element_read(el, 0, loaded, el->blob.len, err);
        if (s) {
            free(loaded);
            return s;
        }
        b = loaded;
    }
    dqr_status s = string_values(el, b, cs, max_values, fn, ctx, err);
    free(loaded);
    return s;
}

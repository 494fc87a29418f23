/* json.c — the DICOM JSON model (PS3.18 Annex F) of a dataset.
 *
 * Strings are decoded to UTF-8 through the Specific Character Set in force
 * (an item's own, else its parent's). IS/DS values are JSON numbers (DS text
 * that is not a JSON number is normalized, text that is no number at all
 * stays a string); empty values inside a multi-valued string are null.
 * Byte VRs are InlineBinary (base64); pixel data and any value of at least
 * bulk_min bytes are written as BulkDataURI "bulkdata/<tag>[/<item>/<tag>...]",
 * a placeholder naming the element, since a dump has nowhere to serve it from.
 */
#include "dicom/format.h"

#include <string.h>

typedef struct jctx {
    FILE *out;
    size_t bulk_min;
    dqr_error *err;
    char path[256];
} jctx;

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_block(FILE *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        fwrite(q, 1, 4, out);
    }
}

/* Base64 of the whole value, read in chunks (a multiple of 3 bytes). */
static dqr_status inline_binary(jctx *j, const dcm_element *el)
{
    uint8_t chunk[3 * 4096];
    fputs(",\"InlineBinary\":\"", j->out);
    for (uint64_t off = 0; off < el->blob.len; off += sizeof chunk) {
        size_t k = el->blob.len - off < sizeof chunk ? (size_t)(el->blob.len - off) : sizeof chunk;
        dqr_status s = dcm_element_read(el, off, chunk, k, j->err);
        if (s)
            return s;
        b64_block(j->out, chunk, k);
    }
    fputc('"', j->out);
    return DQR_OK;
}

static int emit_value(void *ctx, size_t index, dcm_fv_kind kind, const char *text)
{
    FILE *out = ctx;
    if (index)
        fputc(',', out);
    if (kind == DCM_FV_EMPTY)
        fputs("null", out);
    else if (kind == DCM_FV_NUMBER)
        fputs(text, out);
    else
        json_string(out, text);
    return 0;
}

static int emit_pn(void *ctx, size_t index, dcm_fv_kind kind, const char *text)
{
    static const char *const GROUPS[3] = {"Alphabetic", "Ideographic", "Phonetic"};
    FILE *out = ctx;
    if (index)
        fputc(',', out);
    if (kind == DCM_FV_EMPTY) {
        fputs("null", out);
        return 0;
    }
    fputc('{', out);
    const char *p = text;
    for (int g = 0; g < 3 && p; g++) {
        const char *eq = strchr(p, '=');
        size_t n = eq ? (size_t)(eq - p) : strlen(p);
        char buf[1024];
        if (n >= sizeof buf)
            n = sizeof buf - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
        if (g)
            fputc(',', out);
        fprintf(out, "\"%s\":", GROUPS[g]);
        json_string(out, buf);
        p = eq ? eq + 1 : NULL;
    }
    fputc('}', out);
    return 0;
}

static dqr_status json_dataset(jctx *j, const dcm_dataset *ds, const dcm_charset *parent);

static dqr_status json_element(jctx *j, const dcm_element *el, const dcm_charset *cs)
{
    FILE *out = j->out;
    char key[9];
    snprintf(key, sizeof key, "%08X", el->tag);
    size_t plen = strlen(j->path);
    snprintf(j->path + plen, sizeof j->path - plen, "%s%s", plen ? "/" : "", key);
    fprintf(out, "\"%s\":{\"vr\":\"%s\"", key, dcm_vr_str(el->vr == DCM_VR_NONE ? DCM_VR_UN : el->vr));
    dqr_status s = DQR_OK;
    if (el->kind == DCM_KIND_SEQ) {
        fputs(",\"Value\":[", out);
        for (size_t i = 0; i < el->n && !s; i++) {
            size_t l2 = strlen(j->path);
            snprintf(j->path + l2, sizeof j->path - l2, "/%zu", i);
            if (i)
                fputc(',', out);
            s = json_dataset(j, el->items[i], cs);
            j->path[l2] = '\0';
        }
        fputc(']', out);
    } else if (el->kind == DCM_KIND_ENCAP || el->tag == DCM_TAG_PIXEL_DATA ||
               (el->blob.len >= j->bulk_min && el->blob.len > 0)) {
        fputs(",\"BulkDataURI\":\"bulkdata/", out);
        fputs(j->path, out);
        fputc('"', out);
    } else if (el->blob.len == 0) {
        /* empty: no Value (PS3.18 F.2.5) */
    } else if (dcm_vr_is_bulk(el->vr)) {
        s = inline_binary(j, el);
    } else {
        fputs(",\"Value\":[", out);
        s = dcm_format_values(el, cs, 0, el->vr == DCM_VR_PN ? emit_pn : emit_value, out, j->err);
        fputc(']', out);
    }
    fputc('}', out);
    j->path[plen] = '\0';
    return s;
}

static dqr_status json_dataset(jctx *j, const dcm_dataset *ds, const dcm_charset *parent)
{
    dcm_charset *owned;
    const dcm_charset *cs = dcm_dataset_charset(ds, parent, &owned, j->err);
    if (!cs)
        return j->err ? j->err->code : DQR_E_NOMEM;
    fputc('{', j->out);
    dqr_status s = DQR_OK;
    for (size_t i = 0; i < ds->n && !s; i++) {
        if (i)
            fputc(',', j->out);
        s = json_element(j, &ds->els[i], cs);
    }
    fputc('}', j->out);
    dcm_charset_free(owned);
    return s;
}

dqr_status dcm_dump_json(const dcm_dataset *ds, FILE *out, size_t bulk_min, dqr_error *err)
{
    jctx j = {out, bulk_min ? bulk_min : (1u << 20), err, ""};
    dqr_status s = json_dataset(&j, ds, NULL);
    if (!s && ferror(out))
        s = dqr_error_set(err, DQR_E_IO, "write failed");
    return s;
}

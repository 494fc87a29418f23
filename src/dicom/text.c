/* text.c — dcmdump-like text: one line per element, sequences indented.
 *
 *   (0010,0010) PN [Doe^John]                               #   8, 1 PatientName
 *
 * Strings are shown in brackets, decoded to UTF-8; numbers bare, values
 * separated by backslashes; bytes as hex; long values cut at max_value_chars
 * with "...". Pixel data is never loaded: its length stands in for it.
 */
#include "dicom/format.h"

#include <string.h>

typedef struct tctx {
    FILE *out;
    size_t max_chars;
    dqr_error *err;
} tctx;

/* A line buffer: value text, cut to the limit. */
typedef struct line {
    char buf[1024];
    size_t len, limit;
    bool cut;
} line;

static void lput(line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n > l->limit) {
        n = l->limit > l->len ? l->limit - l->len : 0;
        l->cut = true;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static int add_value(void *ctx, size_t index, dcm_fv_kind kind, const char *text)
{
    line *l = ctx;
    (void)kind;
    if (index)
        lput(l, "\\");
    lput(l, text);
    return l->cut;
}

static void print_line(tctx *t, int depth, uint32_t tag, const char *vr, const char *value,
                       const char *len, size_t vm, const char *keyword)
{
    int width = fprintf(t->out, "%*s(%04x,%04x) %s %s", depth * 2, "", DCM_GROUP(tag), DCM_ELEM(tag),
                        vr, value);
    fprintf(t->out, "%*s # %4s, %zu %s\n", width < 56 ? 56 - width : 0, "", len, vm,
            keyword[0] ? keyword : "Unknown");
}

static dqr_status text_dataset(tctx *t, const dcm_dataset *ds, const dcm_charset *parent, int depth);

static void bytes_hex(const dcm_element *el, line *l, dqr_error *err)
{
    uint8_t chunk[64];
    size_t n = el->blob.len < sizeof chunk ? el->blob.len : sizeof chunk;
    bool words = el->vr == DCM_VR_OW && n >= 2;
    if (dcm_element_read(el, 0, chunk, n - (words ? n % 2 : 0), err))
        return;
    for (size_t i = 0; i + (words ? 1 : 0) < n && !l->cut; i += words ? 2 : 1) {
        char hx[8];
        if (words)
            snprintf(hx, sizeof hx, "%s%04x", i ? "\\" : "", dcm_rd16(chunk + i, false));
        else
            snprintf(hx, sizeof hx, "%s%02x", i ? "\\" : "", chunk[i]);
        lput(l, hx);
    }
    if (n < el->blob.len)
        l->cut = true;
}

static dqr_status text_element(tctx *t, const dcm_dataset *ds, const dcm_element *el,
                               const dcm_charset *cs, int depth)
{
    const char *kw = dcm_dict_keyword(el->tag);
    char creator[64], private_kw[80];
    if (!kw[0] && dcm_private_creator(ds, el->tag, creator, sizeof creator)) {
        snprintf(private_kw, sizeof private_kw, "Private[%s]", creator); /* name the block's owner */
        kw = private_kw;
    }
    char len[24], value[1200];
    line l = {.limit = t->max_chars};
    if (el->kind == DCM_KIND_SEQ) {
        snprintf(value, sizeof value, "(Sequence with %s length #=%zu)",
                 el->undefined_length ? "undefined" : "explicit", el->n);
        print_line(t, depth, el->tag, dcm_vr_str(el->vr), value, el->undefined_length ? "u/l" : "-", 1, kw);
        for (size_t i = 0; i < el->n; i++) {
            const dcm_dataset *item = el->items[i];
            snprintf(value, sizeof value, "(Item with %s length #=%zu)",
                     item->undefined_length ? "undefined" : "explicit", item->n);
            print_line(t, depth + 1, DCM_TAG_ITEM, "na", value, item->undefined_length ? "u/l" : "-", 1,
                       "Item");
            dqr_status s = text_dataset(t, item, cs, depth + 2);
            if (s)
                return s;
            if (item->undefined_length)
                print_line(t, depth + 1, DCM_TAG_ITEM_DELIM, "na", "(ItemDelimitationItem)", "0", 0,
                           "ItemDelimitationItem");
        }
        if (el->undefined_length)
            print_line(t, depth, DCM_TAG_SEQ_DELIM, "na", "(SequenceDelimitationItem)", "0", 0,
                       "SequenceDelimitationItem");
        return DQR_OK;
    }
    if (el->kind == DCM_KIND_ENCAP) {
        snprintf(value, sizeof value, "(PixelSequence #=%zu)", el->n);
        print_line(t, depth, el->tag, dcm_vr_str(el->vr), value, "u/l", 1, kw);
        for (size_t i = 0; i < el->n; i++) {
            snprintf(value, sizeof value, "(%u bytes%s)", el->frags[i].len,
                     i == 0 ? ", offset table" : "");
            snprintf(len, sizeof len, "%u", el->frags[i].len);
            print_line(t, depth + 1, DCM_TAG_ITEM, "pi", value, len, 1, "Item");
        }
        print_line(t, depth, DCM_TAG_SEQ_DELIM, "na", "(SequenceDelimitationItem)", "0", 0,
                   "SequenceDelimitationItem");
        return DQR_OK;
    }
    snprintf(len, sizeof len, "%u", el->blob.len);
    if (el->blob.len == 0) {
        snprintf(value, sizeof value, "(no value available)");
    } else if (el->tag == DCM_TAG_PIXEL_DATA) {
        snprintf(value, sizeof value, "(not loaded, %u bytes)", el->blob.len);
    } else if (dcm_vr_is_bulk(el->vr)) {
        bytes_hex(el, &l, t->err);
        snprintf(value, sizeof value, "%s%s", l.buf, l.cut ? "..." : "");
    } else {
        dqr_status s = dcm_format_values(el, cs, 0, add_value, &l, t->err);
        if (s)
            return s;
        bool str = dcm_vr_is_string(el->vr) && el->vr != DCM_VR_IS && el->vr != DCM_VR_DS;
        snprintf(value, sizeof value, "%s%s%s%s", str ? "[" : "", l.buf, str ? "]" : "",
                 l.cut ? "..." : "");
    }
    print_line(t, depth, el->tag, dcm_vr_str(el->vr), value, len, dcm_element_vm(el), kw);
    return DQR_OK;
}

static dqr_status text_dataset(tctx *t, const dcm_dataset *ds, const dcm_charset *parent, int depth)
{
    dcm_charset *owned;
    const dcm_charset *cs = dcm_dataset_charset(ds, parent, &owned, t->err);
    if (!cs)
        return t->err ? t->err->code : DQR_E_NOMEM;
    dqr_status s = DQR_OK;
    for (size_t i = 0; i < ds->n && !s; i++)
        s = text_element(t, ds, &ds->els[i], cs, depth);
    dcm_charset_free(owned);
    return s;
}

dqr_status dcm_dump_text(const dcm_file *f, FILE *out, const dcm_dump_options *opts,
                         dqr_error *err)
{
    dcm_dump_options defaults = {64, true};
    if (!opts)
        opts = &defaults;
    tctx t = {out, opts->max_value_chars ? opts->max_value_chars : 64, err};
    if (t.max_chars > 1000)
        t.max_chars = 1000;
    const dcm_uid_entry *ts = dcm_ts_lookup(f->ts);
    dqr_status s = DQR_OK;
    if (opts->show_meta) {
        fprintf(out, "# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n"
                     "# Used TransferSyntax: Little Endian Explicit\n");
        s = text_dataset(&t, f->meta, NULL, 0);
        fputc('\n', out);
    }
    if (!s) {
        fprintf(out, "# Dicom-Data-Set\n# Used TransferSyntax: %s\n", ts ? ts->name : f->ts);
        s = text_dataset(&t, f->ds, NULL, 0);
    }
    if (!s && ferror(out))
        s = dqr_error_set(err, DQR_E_IO, "write failed");
    return s;
}

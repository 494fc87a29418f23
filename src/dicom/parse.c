/* parse.c — decode a DICOM byte stream into a dcm_dataset tree.
 *
 * A recursive-descent reader over dcm_stream. Every length is checked
 * against what is left before anything is allocated, nesting is bounded by
 * DCM_MAX_DEPTH (the error names the tag path), and every loop consumes input, so malformed data ends in a
 * DQR_E_PARSE error naming the byte offset and tag, never a crash or a hang.
 * Values of DCM_DEFER_MIN bytes or more in a seekable file are recorded as
 * file ranges instead of being read.
 */
#include "dicom/parse.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    dcm_stream *st;
    dcm_source *src; /* set when values may be deferred */
    bool borrow;     /* memory stream: large values point into it, not copied */
    dqr_error *err;
    int depth;                       /* sequences open */
    uint32_t path[DCM_MAX_DEPTH + 1]; /* their tags, outermost first */
} parser;

typedef struct enc {
    bool explicit_vr, big_endian;
} enc;

static dqr_status fail(parser *p, uint64_t at, uint32_t tag, const char *what)
{
    char t[12];
    if (p->err && p->err->code)
        return p->err->code; /* keep the first, most specific message */
    return dqr_error_set(p->err, DQR_E_PARSE, "offset %llu, tag %s: %s", (unsigned long long)at,
                         dcm_tag_str(tag, t), what);
}

/* The sequence path to the current element, e.g. "(0040,A730)/(0040,A730)";
 * a long one keeps its first and last levels. */
static void path_text(const parser *p, char *out, size_t cap)
{
    size_t o = 0;
    char t[12];
    out[0] = '\0';
    for (int i = 0; i < p->depth && o + 16 < cap; i++) {
        if (p->depth > 8 && i == 3) {
            o += (size_t)snprintf(out + o, cap - o, "/.../");
            i = p->depth - 3;
        } else if (i) {
            out[o++] = '/';
        }
        o += (size_t)snprintf(out + o, cap - o, "%s", dcm_tag_str(p->path[i], t));
    }
}

static dqr_status too_deep(parser *p, uint64_t at)
{
    char path[160];
    path_text(p, path, sizeof path);
    return dqr_error_set(p->err, DQR_E_PARSE, "offset %llu, tag path %s: sequences nested deeper than %d levels",
                         (unsigned long long)at, path, DCM_MAX_DEPTH);
}

/* Element header as read. */
typedef struct header {
    uint64_t at;  /* offset of the tag */
    uint32_t tag;
    dcm_vr vr;
    uint32_t len;
    bool vr_known; /* explicit VR present in the stream */
} header;

/* Read a tag + (VR) + length. Returns DQR_E_NOTFOUND at a clean end of
 * stream (fewer than 8 bytes left, as pydicom also ignores a short tail). */
static dqr_status read_header(parser *p, enc e, header *h)
{
    dcm_stream *st = p->st;
    /* Defined on every return, errors included, so no caller reads an unset
     * field (GCC -O3 cannot see that fail() never returns DQR_OK). */
    *h = (header){.at = st->pos, .vr = DCM_VR_NONE};
    size_t avail = dcm_stream_need(st, 8, p->err);
    if (p->err && p->err->code)
        return p->err->code;
    if (avail < 8) {
        dcm_stream_advance(st, avail);
        return DQR_E_NOTFOUND;
    }
    const uint8_t *b = st->data + st->start;
    h->at = st->pos;
    h->tag = (uint32_t)dcm_rd16(b, e.big_endian) << 16 | dcm_rd16(b + 2, e.big_endian);
    h->vr_known = false;
    if (DCM_GROUP(h->tag) == 0xFFFE || !e.explicit_vr) {
        h->len = dcm_rd32(b + 4, e.big_endian);
        h->vr = DCM_VR_NONE;
        dcm_stream_advance(st, 8);
        return DQR_OK;
    }
    h->vr = dcm_vr_from_chars((char)b[4], (char)b[5]);
    h->vr_known = true;
    if (h->vr == DCM_VR_NONE) {
        char msg[64];
        snprintf(msg, sizeof msg, "invalid VR bytes 0x%02X 0x%02X", b[4], b[5]);
        return fail(p, h->at, h->tag, msg);
    }
    if (!dcm_vr_long_header(h->vr)) {
        h->len = dcm_rd16(b + 6, e.big_endian);
        dcm_stream_advance(st, 8);
        return DQR_OK;
    }
    dcm_stream_advance(st, 8);
    uint8_t l[4];
    if (dcm_stream_read(st, l, 4, p->err))
        return fail(p, h->at, h->tag, "truncated element header");
    h->len = dcm_rd32(l, e.big_endian);
    return DQR_OK;
}

/* Read len bytes into blob: deferred when large and seekable, else in memory.
 * Binary values of a big-endian stream are swapped into little-endian. */
static dqr_status read_blob(parser *p, dcm_blob *b, uint32_t len, dcm_vr vr, enc e, uint32_t tag,
                            uint64_t at)
{
    dcm_stream *st = p->st;
    if ((uint64_t)len > dcm_stream_remaining(st)) {
        char msg[96];
        snprintf(msg, sizeof msg, "value length %u exceeds the %llu bytes left", len,
                 (unsigned long long)dcm_stream_remaining(st));
        return fail(p, at, tag, msg);
    }
    b->len = len;
    if (p->src && len >= DCM_DEFER_MIN) {
        b->src = dcm_source_ref(p->src);
        b->offset = st->pos;
        b->big_endian = e.big_endian && dcm_vr_swap_unit(vr) > 1;
        return dcm_stream_skip(st, len, p->err) ? fail(p, at, tag, "truncated value") : DQR_OK;
    }
    if (len == 0)
        return DQR_OK;
    if (p->borrow && len >= DCM_DEFER_MIN && !(e.big_endian && dcm_vr_swap_unit(vr) > 1) &&
        st->fd < 0 && !st->inner && st->end - st->start >= len) {
        b->bytes = (uint8_t *)(st->data + st->start); /* the caller keeps the buffer alive */
        b->borrowed = true;
        dcm_stream_advance(st, len);
        return DQR_OK;
    }
    /* Grow with the data actually read, so a lying length in a stream of
     * unknown size (deflate) cannot make us allocate more than arrives. */
    size_t cap = len < (1u << 20) ? len : (1u << 20);
    size_t got = 0;
    b->bytes = malloc(cap);
    if (!b->bytes)
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    while (got < len) {
        if (got == cap) {
            size_t ncap = cap * 2 < len ? cap * 2 : len;
            uint8_t *nb = realloc(b->bytes, ncap);
            if (!nb)
                return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
            b->bytes = nb;
            cap = ncap;
        }
        size_t want = cap - got;
        if (dcm_stream_read(st, b->bytes + got, want, p->err))
            return fail(p, at, tag, "truncated value");
        got += want;
    }
    if (e.big_endian)
        dcm_swap(b->bytes, len, dcm_vr_swap_unit(vr));
    return DQR_OK;
}

static dqr_status parse_items(parser *p, dcm_element *el, header *h, enc e);
static dqr_status parse_fragments(parser *p, dcm_element *el, header *h, enc e);

/* The VR for an implicit-VR element: the dictionary's, with the ambiguous
 * ones resolved as PS3.5 Annex A.1 / pydicom do for Implicit VR LE, by the
 * Pixel Representation read so far in the same dataset. */
static dcm_vr implicit_vr(uint32_t tag, long pixrep)
{
    const dcm_dict_entry *d = dcm_dict_lookup(tag);
    if (!d || d->vr[0] == DCM_VR_NONE)
        return DCM_VR_UN;
    if (d->vr[1] == DCM_VR_NONE)
        return d->vr[0];
    for (int i = 0; i < 3; i++)
        if (d->vr[i] == DCM_VR_OW)
            return DCM_VR_OW; /* OB or OW, US or OW: OW in implicit VR */
    return pixrep == 1 ? DCM_VR_SS : DCM_VR_US;
}

static bool starts_with_item(parser *p)
{
    static const uint8_t item_le[4] = {0xFE, 0xFF, 0x00, 0xE0};
    return dcm_stream_need(p->st, 4, NULL) >= 4 &&
           memcmp(p->st->data + p->st->start, item_le, 4) == 0;
}

/* Parse one element's value into a new element appended to ds (sorted at
 * the end of the dataset: inserting each in order would be quadratic for
 * tags that arrive in descending order). */
static dqr_status parse_element(parser *p, dcm_dataset *ds, header *h, enc e, long pixrep)
{
    dcm_vr vr = h->vr_known ? h->vr : implicit_vr(h->tag, pixrep);
    dcm_element *el = dcm_dataset_append(ds, h->tag);
    if (!el)
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    el->vr = vr;
    if (h->len == DCM_UNDEFINED_LENGTH) {
        el->undefined_length = true;
        if (h->tag == DCM_TAG_PIXEL_DATA) {
            el->kind = DCM_KIND_ENCAP;
            return parse_fragments(p, el, h, e);
        }
        el->kind = DCM_KIND_SEQ;
        if (vr == DCM_VR_UN) {
            /* PS3.5 6.2.2: UN of undefined length holds an Implicit VR LE sequence. */
            el->implicit_seq = true;
            e = (enc){false, false};
        }
        return parse_items(p, el, h, e);
    }
    if (vr == DCM_VR_SQ) {
        el->kind = DCM_KIND_SEQ;
        return parse_items(p, el, h, e);
    }
    if (vr == DCM_VR_UN && h->len >= 8 && dcm_dict_vr(h->tag) == DCM_VR_SQ && starts_with_item(p)) {
        /* A known sequence sent as UN (a peer that did not know it): parse
         * it, so nothing inside hides from de-identification. */
        el->kind = DCM_KIND_SEQ;
        el->implicit_seq = true;
        return parse_items(p, el, h, (enc){false, false});
    }
    el->kind = DCM_KIND_BLOB;
    return read_blob(p, &el->blob, h->len, vr, e, h->tag, h->at);
}

/* Pixel Representation as an element holds it (US, or SS from a careless
 * writer); 0 when unreadable. */
static long pixel_representation(const dcm_element *el)
{
    const uint8_t *b = dcm_element_bytes(el);
    return b && el->blob.len >= 2 ? dcm_rd16(b, false) : 0;
}

/* Parse elements into ds until end (absolute offset) is reached, or, when
 * end is UINT64_MAX, until an item delimiter (in_item) or end of stream. */
static dqr_status parse_elements(parser *p, dcm_dataset *ds, uint64_t end, bool in_item, enc e)
{
    dqr_status s = DQR_OK;
    long pixrep = 0;
    for (;;) {
        if (end != UINT64_MAX && p->st->pos >= end) {
            if (p->st->pos > end)
                s = fail(p, p->st->pos, 0, "element runs past the end of its item");
            break;
        }
        header h;
        s = read_header(p, e, &h);
        if (s == DQR_E_NOTFOUND) {
            s = in_item ? fail(p, p->st->pos, 0, "data ends inside an item") : DQR_OK;
            break;
        }
        if (s)
            break;
        if (h.tag == DCM_TAG_ITEM_DELIM && in_item && end == UINT64_MAX)
            break;
        if (DCM_GROUP(h.tag) == 0xFFFE) {
            if (h.tag == DCM_TAG_ITEM_DELIM || h.tag == DCM_TAG_SEQ_DELIM) {
                if (h.len == 0 && !in_item)
                    continue; /* stray delimiter at top level: skip, as DCMTK does */
                if (h.len == 0 && h.tag == DCM_TAG_ITEM_DELIM)
                    continue; /* delimiter inside a defined-length item */
            }
            s = fail(p, h.at, h.tag, "unexpected item tag in a dataset");
            break;
        }
        if ((s = parse_element(p, ds, &h, e, pixrep)))
            break;
        if (h.tag == DCM_TAG(0x0028, 0x0103))
            pixrep = pixel_representation(&ds->els[ds->n - 1]);
    }
    return s;
}

/* parse_elements, then the elements in tag order (also after an error, so
 * the tree stays valid for whoever frees or reads it). */
static dqr_status parse_dataset(parser *p, dcm_dataset *ds, uint64_t end, bool in_item, enc e)
{
    dqr_status s = parse_elements(p, ds, end, in_item, e);
    if (dcm_dataset_sort(ds) && !s)
        s = dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    return s;
}

static dqr_status parse_sequence(parser *p, dcm_element *el, header *h, enc e);

/* The items of a sequence, one level deeper on the tag path. */
static dqr_status parse_items(parser *p, dcm_element *el, header *h, enc e)
{
    p->path[p->depth++] = h->tag; /* depth <= DCM_MAX_DEPTH: items refuse deeper */
    dqr_status s = parse_sequence(p, el, h, e);
    p->depth--;
    return s;
}

static dqr_status parse_sequence(parser *p, dcm_element *el, header *h, enc e)
{
    uint64_t end = h->len == DCM_UNDEFINED_LENGTH ? UINT64_MAX : p->st->pos + h->len;
    /* A sequence or item longer than the file is cut to the file, as DCMTK
     * and pydicom do: the structure is damaged but every value in it is whole
     * (a value cut short is still an error). */
    if (end != UINT64_MAX && h->len > dcm_stream_remaining(p->st))
        end = p->st->pos + dcm_stream_remaining(p->st);
    for (;;) {
        if (end != UINT64_MAX && p->st->pos >= end) {
            if (p->st->pos > end)
                return fail(p, p->st->pos, h->tag, "item runs past the end of its sequence");
            return DQR_OK;
        }
        header ih;
        dqr_status s = read_header(p, (enc){false, e.big_endian}, &ih);
        if (s == DQR_E_NOTFOUND)
            return fail(p, p->st->pos, h->tag, "data ends inside a sequence");
        if (s)
            return s;
        if (ih.tag == DCM_TAG_SEQ_DELIM) {
            if (end == UINT64_MAX)
                return DQR_OK;
            continue; /* tolerated inside a defined-length sequence */
        }
        if (ih.tag != DCM_TAG_ITEM)
            return fail(p, ih.at, h->tag, "expected an item tag (FFFE,E000) in the sequence");
        dqr_error tmp = {0};
        dcm_dataset *item = dcm_element_append_item(el, &tmp);
        if (!item)
            return tmp.code == DQR_E_LIMIT ? too_deep(p, ih.at) : dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
        if (ih.len == DCM_UNDEFINED_LENGTH) {
            item->undefined_length = true;
            s = parse_dataset(p, item, UINT64_MAX, true, e);
        } else {
            uint64_t left = dcm_stream_remaining(p->st);
            s = parse_dataset(p, item, p->st->pos + (ih.len < left ? ih.len : left), true, e);
        }
        if (s)
            return s;
    }
}

static dqr_status parse_fragments(parser *p, dcm_element *el, header *h, enc e)
{
    for (;;) {
        header fh;
        dqr_status s = read_header(p, (enc){false, e.big_endian}, &fh);
        if (s == DQR_E_NOTFOUND)
            return fail(p, p->st->pos, h->tag, "data ends inside encapsulated pixel data");
        if (s)
            return s;
        if (fh.tag == DCM_TAG_SEQ_DELIM)
            return DQR_OK;
        if (fh.tag != DCM_TAG_ITEM || fh.len == DCM_UNDEFINED_LENGTH)
            return fail(p, fh.at, h->tag, "expected a fragment item in encapsulated pixel data");
        if (el->n == el->cap) {
            size_t cap = el->cap ? el->cap * 2 : 8;
            dcm_blob *f = realloc(el->frags, cap * sizeof *f);
            if (!f)
                return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
            el->frags = f;
            el->cap = cap;
        }
        dcm_blob *b = &el->frags[el->n++];
        memset(b, 0, sizeof *b);
        if ((s = read_blob(p, b, fh.len, DCM_VR_OB, e, h->tag, fh.at)))
            return s;
    }
}

dqr_status dcm_parse_dataset(dcm_stream *st, dcm_source *src, bool explicit_vr, bool big_endian,
                             dcm_dataset *ds, bool borrow, dqr_error *err)
{
    parser p = {st, src, borrow, err, 0, {0}};
    return parse_dataset(&p, ds, UINT64_MAX, false, (enc){explicit_vr, big_endian});
}

static dqr_status parse_meta_elements(parser *p, dcm_dataset *meta)
{
    dcm_stream *st = p->st;
    dqr_error *err = p->err;
    for (;;) {
        size_t avail = dcm_stream_need(st, 6, err);
        if (avail < 6)
            return DQR_OK;
        const uint8_t *b = st->data + st->start;
        if (dcm_rd16(b, false) != 0x0002)
            return DQR_OK;
        /* Some writers put the meta group in implicit VR: tell by the VR bytes. */
        bool explicit_vr = dcm_vr_from_chars((char)b[4], (char)b[5]) != DCM_VR_NONE;
        header h;
        dqr_status s = read_header(p, (enc){explicit_vr, false}, &h);
        if (s == DQR_E_NOTFOUND)
            return DQR_OK;
        if (s)
            return s;
        if (h.len == DCM_UNDEFINED_LENGTH)
            return fail(p, h.at, h.tag, "undefined length in the file meta information");
        if ((s = parse_element(p, meta, &h, (enc){explicit_vr, false}, 0)))
            return s;
    }
}

dqr_status dcm_parse_meta(dcm_stream *st, dcm_dataset *meta, dqr_error *err)
{
    parser p = {st, NULL, false, err, 0, {0}};
    dqr_status s = parse_meta_elements(&p, meta);
    if (dcm_dataset_sort(meta) && !s)
        s = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    return s;
}

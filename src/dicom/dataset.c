/* dataset.c — the in-memory dataset tree: elements sorted by tag, values as
 * memory or deferred file ranges, sequences of item datasets.
 *
 * Every dataset knows how many sequences enclose it, and an item is refused
 * beyond DCM_MAX_DEPTH, so the recursive walks over a tree (copy, free,
 * write, text and JSON dumps) are bounded whoever built it. */
#include "dicom/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- sources ----------------------------------------------------------- */

dcm_source *dcm_source_new(int fd, const char *path)
{
    dcm_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->path = strdup(path ? path : "");
    if (!s->path) {
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->refs = 1;
    return s;
}

dcm_source *dcm_source_ref(dcm_source *s)
{
    if (s)
        s->refs++;
    return s;
}

void dcm_source_unref(dcm_source *s)
{
    if (s && --s->refs == 0) {
        close(s->fd);
        free(s->path);
        free(s);
    }
}

/* ---- blobs ------------------------------------------------------------- */

void dcm_blob_free(dcm_blob *b)
{
    if (!b->borrowed)
        free(b->bytes);
    dcm_source_unref(b->src);
    memset(b, 0, sizeof *b);
}

void dcm_swap(uint8_t *buf, size_t n, size_t unit)
{
    if (unit < 2)
        return;
    for (size_t i = 0; i + unit <= n; i += unit)
        for (size_t a = i, z = i + unit - 1; a < z; a++, z--) {
            uint8_t t = buf[a];
            buf[a] = buf[z];
            buf[z] = t;
        }
}

dqr_status dcm_blob_read(const dcm_blob *b, dcm_vr vr, uint64_t offset, void *buf, size_t n,
                         dqr_error *err)
{
    if (offset > b->len || n > b->len - offset)
        return dqr_error_set(err, DQR_E_USAGE, "read of %zu bytes at %llu past value end (%u)",
                             n, (unsigned long long)offset, b->len);
    if (!b->src) {
        memcpy(buf, b->bytes + offset, n);
        return DQR_OK;
    }
    size_t unit = dcm_vr_swap_unit(vr);
    if (b->big_endian && unit > 1 && (offset % unit || n % unit))
        return dqr_error_set(err, DQR_E_USAGE, "unaligned read of a big-endian value");
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(b->src->fd, (uint8_t *)buf + done, n - done,
                          (off_t)(b->offset + offset + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return dqr_error_set(err, DQR_E_IO, "%s: read at offset %llu failed: %s",
                                 b->src->path, (unsigned long long)(b->offset + offset + done),
                                 r < 0 ? strerror(errno) : "file shrank");
        done += (size_t)r;
    }
    if (b->big_endian)
        dcm_swap(buf, n, unit);
    return DQR_OK;
}

static dqr_status blob_copy(dcm_blob *dst, const dcm_blob *src)
{
    *dst = *src;
    if (src->src) {
        dcm_source_ref(src->src);
        return DQR_OK;
    }
    dst->bytes = NULL;
    dst->borrowed = false;
    if (src->len) {
        dst->bytes = malloc(src->len);
        if (!dst->bytes)
            return DQR_E_NOMEM;
        memcpy(dst->bytes, src->bytes, src->len);
    }
    return DQR_OK;
}

/* ---- elements ---------------------------------------------------------- */

void dcm_element_clear(dcm_element *el)
{
    dcm_blob_free(&el->blob);
    for (size_t i = 0; el->items && i < el->n; i++)
        dcm_dataset_free(el->items[i]);
    free(el->items);
    for (size_t i = 0; el->frags && i < el->n; i++)
        dcm_blob_free(&el->frags[i]);
    free(el->frags);
    uint32_t tag = el->tag;
    uint8_t depth = el->depth;
    memset(el, 0, sizeof *el);
    el->tag = tag;
    el->depth = depth;
}

uint32_t dcm_element_tag(const dcm_element *el) { return el->tag; }
dcm_vr dcm_element_vr(const dcm_element *el) { return el->vr; }
bool dcm_element_is_sequence(const dcm_element *el) { return el->kind == DCM_KIND_SEQ; }
bool dcm_element_is_encapsulated(const dcm_element *el) { return el->kind == DCM_KIND_ENCAP; }

uint64_t dcm_element_length(const dcm_element *el)
{
    if (el->kind == DCM_KIND_BLOB)
        return el->blob.len;
    if (el->undefined_length)
        return DCM_UNDEFINED_LENGTH;
    uint64_t total = 0;
    if (el->kind == DCM_KIND_ENCAP)
        for (size_t i = 0; i < el->n; i++)
            total += 8u + el->frags[i].len;
    return el->kind == DCM_KIND_ENCAP ? total : DCM_UNDEFINED_LENGTH;
}

const uint8_t *dcm_element_bytes(const dcm_element *el)
{
    if (el->kind != DCM_KIND_BLOB || el->blob.src)
        return NULL;
    return el->blob.bytes ? el->blob.bytes : (const uint8_t *)"";
}

dqr_status dcm_element_read(const dcm_element *el, uint64_t offset, void *buf, size_t n,
                            dqr_error *err)
{
    if (el->kind != DCM_KIND_BLOB)
        return dqr_error_set(err, DQR_E_USAGE, "element is a sequence or encapsulated");
    return dcm_blob_read(&el->blob, el->vr, offset, buf, n, err);
}

size_t dcm_element_item_count(const dcm_element *el)
{
    return el->kind == DCM_KIND_SEQ ? el->n : 0;
}

dcm_dataset *dcm_element_item(const dcm_element *el, size_t i)
{
    return (el->kind == DCM_KIND_SEQ && i < el->n) ? el->items[i] : NULL;
}

dcm_dataset *dcm_element_append_item(dcm_element *el, dqr_error *err)
{
    if (el->kind != DCM_KIND_SEQ) {
        dqr_error_set(err, DQR_E_USAGE, "not a sequence");
        return NULL;
    }
    if (el->depth >= DCM_MAX_DEPTH) {
        dqr_error_set(err, DQR_E_LIMIT, "sequences nested deeper than %d levels", DCM_MAX_DEPTH);
        return NULL;
    }
    if (el->n == el->cap) {
        size_t cap = el->cap ? el->cap * 2 : 4;
        dcm_dataset **p = realloc(el->items, cap * sizeof *p);
        if (!p) {
            dqr_error_set(err, DQR_E_NOMEM, "out of memory");
            return NULL;
        }
        el->items = p;
        el->cap = cap;
    }
    dcm_dataset *item = dcm_dataset_new();
    if (!item) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    item->depth = (uint8_t)(el->depth + 1);
    el->items[el->n++] = item;
    return item;
}

size_t dcm_element_fragment_count(const dcm_element *el)
{
    return el->kind == DCM_KIND_ENCAP ? el->n : 0;
}

uint32_t dcm_element_fragment_length(const dcm_element *el, size_t i)
{
    return (el->kind == DCM_KIND_ENCAP && i < el->n) ? el->frags[i].len : 0;
}

dqr_status dcm_element_read_fragment(const dcm_element *el, size_t i, uint64_t offset, void *buf,
                                     size_t n, dqr_error *err)
{
    if (el->kind != DCM_KIND_ENCAP || i >= el->n)
        return dqr_error_set(err, DQR_E_USAGE, "no fragment %zu", i);
    return dcm_blob_read(&el->frags[i], DCM_VR_OB, offset, buf, n, err);
}

size_t dcm_element_vm(const dcm_element *el)
{
    if (el->kind == DCM_KIND_SEQ)
        return el->n;
    if (el->kind == DCM_KIND_ENCAP || el->blob.len == 0)
        return el->kind == DCM_KIND_ENCAP ? 1 : 0;
    if (dcm_vr_is_string(el->vr)) {
        if (dcm_vr_single_valued(el->vr) || !el->blob.bytes)
            return 1;
        size_t vm = 1;
        for (uint32_t i = 0; i < el->blob.len; i++)
            vm += el->blob.bytes[i] == '\\';
        return vm;
    }
    switch (el->vr) {
    case DCM_VR_OB: case DCM_VR_OW: case DCM_VR_OD: case DCM_VR_OF: case DCM_VR_OL:
    case DCM_VR_OV: case DCM_VR_UN:
        return 1;
    case DCM_VR_AT:
        return el->blob.len / 4;
    default:
        return el->blob.len / dcm_vr_swap_unit(el->vr);
    }
}

/* ---- datasets ---------------------------------------------------------- */

dcm_dataset *dcm_dataset_new(void)
{
    return calloc(1, sizeof(dcm_dataset));
}

void dcm_dataset_free(dcm_dataset *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->n; i++)
        dcm_element_clear(&ds->els[i]);
    free(ds->els);
    free(ds);
}

size_t dcm_dataset_count(const dcm_dataset *ds) { return ds->n; }

dcm_element *dcm_dataset_at(const dcm_dataset *ds, size_t i)
{
    return i < ds->n ? &ds->els[i] : NULL;
}

/* Index of the first element with tag >= tag. */
static size_t lower_bound(const dcm_dataset *ds, uint32_t tag)
{
    size_t lo = 0, hi = ds->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ds->els[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

dcm_element *dcm_dataset_get(const dcm_dataset *ds, uint32_t tag)
{
    size_t i = lower_bound(ds, tag);
    return (i < ds->n && ds->els[i].tag == tag) ? &ds->els[i] : NULL;
}

bool dcm_dataset_remove(dcm_dataset *ds, uint32_t tag)
{
    size_t i = lower_bound(ds, tag);
    if (i >= ds->n || ds->els[i].tag != tag)
        return false;
    dcm_element_clear(&ds->els[i]);
    memmove(&ds->els[i], &ds->els[i + 1], (ds->n - i - 1) * sizeof *ds->els);
    ds->n--;
    return true;
}

static bool reserve_one(dcm_dataset *ds)
{
    if (ds->n < ds->cap)
        return true;
    size_t cap = ds->cap ? ds->cap * 2 : 16;
    dcm_element *p = realloc(ds->els, cap * sizeof *p);
    if (!p)
        return false;
    ds->els = p;
    ds->cap = cap;
    return true;
}

/* A zeroed element with tag at index i, the ones from i on moved up. */
static dcm_element *open_at(dcm_dataset *ds, size_t i, uint32_t tag)
{
    memmove(&ds->els[i + 1], &ds->els[i], (ds->n - i) * sizeof *ds->els);
    ds->n++;
    memset(&ds->els[i], 0, sizeof ds->els[i]);
    ds->els[i].tag = tag;
    ds->els[i].depth = ds->depth;
    return &ds->els[i];
}

dcm_element *dcm_dataset_insert(dcm_dataset *ds, uint32_t tag)
{
    size_t i = lower_bound(ds, tag);
    if (i < ds->n && ds->els[i].tag == tag) {
        dcm_element_clear(&ds->els[i]);
        return &ds->els[i];
    }
    return reserve_one(ds) ? open_at(ds, i, tag) : NULL;
}

dcm_element *dcm_dataset_append(dcm_dataset *ds, uint32_t tag)
{
    if (!reserve_one(ds))
        return NULL;
    if (ds->n && ds->els[ds->n - 1].tag >= tag)
        ds->unsorted = true;
    return open_at(ds, ds->n, tag);
}

/* Stable merge of the sorted runs a[lo..mid) and a[mid..hi) through tmp. */
static void merge(dcm_element *a, dcm_element *tmp, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, o = lo;
    while (i < mid && j < hi)
        tmp[o++] = a[j].tag < a[i].tag ? a[j++] : a[i++];
    while (i < mid)
        tmp[o++] = a[i++];
    while (j < hi)
        tmp[o++] = a[j++];
    memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

dqr_status dcm_dataset_sort(dcm_dataset *ds)
{
    if (!ds->unsorted)
        return DQR_OK;
    dcm_element *tmp = malloc(ds->n * sizeof *tmp);
    if (!tmp)
        return DQR_E_NOMEM;
    /* bottom-up merge sort: stable, so equal tags stay in arrival order */
    for (size_t width = 1; width < ds->n; width *= 2)
        for (size_t lo = 0; lo + width < ds->n; lo += 2 * width)
            merge(ds->els, tmp, lo, lo + width, lo + 2 * width < ds->n ? lo + 2 * width : ds->n);
    free(tmp);
    size_t o = 0; /* of equal tags keep the last */
    for (size_t i = 0; i < ds->n; i++) {
        if (i + 1 < ds->n && ds->els[i + 1].tag == ds->els[i].tag) {
            dcm_element_clear(&ds->els[i]);
            continue;
        }
        ds->els[o++] = ds->els[i];
    }
    ds->n = o;
    ds->unsorted = false;
    return DQR_OK;
}

dcm_element *dcm_dataset_set_bytes(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const void *data,
                                   size_t len, dqr_error *err)
{
    if (len >= DCM_UNDEFINED_LENGTH - 1) {
        dqr_error_set(err, DQR_E_LIMIT, "value too long");
        return NULL;
    }
    size_t padded = len + (len & 1);
    uint8_t *copy = malloc(padded ? padded : 1);
    if (!copy) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    if (len)
        memcpy(copy, data, len);
    if (padded != len)
        copy[len] = (uint8_t)dcm_vr_pad(vr);
    dcm_element *el = dcm_dataset_insert(ds, tag);
    if (!el) {
        free(copy);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    el->vr = vr;
    el->kind = DCM_KIND_BLOB;
    el->blob.bytes = copy;
    el->blob.len = (uint32_t)padded;
    return el;
}

dcm_element *dcm_dataset_set_string(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *s,
                                    dqr_error *err)
{
    return dcm_dataset_set_bytes(ds, tag, vr, s, strlen(s), err);
}

dcm_element *dcm_dataset_set_sequence(dcm_dataset *ds, uint32_t tag, dqr_error *err)
{
    dcm_element *el = dcm_dataset_insert(ds, tag);
    if (!el) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    el->vr = DCM_VR_SQ;
    el->kind = DCM_KIND_SEQ;
    el->undefined_length = true;
    return el;
}

char *dcm_dataset_get_string(const dcm_dataset *ds, uint32_t tag, char *buf, size_t bufsize)
{
    const dcm_element *el = dcm_dataset_get(ds, tag);
    if (!el || !bufsize || !dcm_vr_is_string(el->vr))
        return NULL;
    const uint8_t *b = dcm_element_bytes(el);
    if (!b)
        return NULL;
    size_t n = 0;
    while (n < el->blob.len && b[n] != '\\' && n + 1 < bufsize)
        n++;
    if (dcm_vr_single_valued(el->vr))
        n = el->blob.len < bufsize ? el->blob.len : bufsize - 1;
    while (n && (b[n - 1] == ' ' || b[n - 1] == '\0'))
        n--;
    memcpy(buf, b, n);
    buf[n] = '\0';
    return buf;
}

bool dcm_dataset_get_int(const dcm_dataset *ds, uint32_t tag, long *out)
{
    const dcm_element *el = dcm_dataset_get(ds, tag);
    const uint8_t *b = el ? dcm_element_bytes(el) : NULL;
    if (!b)
        return false;
    size_t len = el->blob.len;
    switch (el->vr) {
    case DCM_VR_US: if (len < 2) return false; *out = dcm_rd16(b, false); return true;
    case DCM_VR_SS: if (len < 2) return false; *out = (int16_t)dcm_rd16(b, false); return true;
    case DCM_VR_UL: if (len < 4) return false; *out = (long)dcm_rd32(b, false); return true;
    case DCM_VR_SL: if (len < 4) return false; *out = (int32_t)dcm_rd32(b, false); return true;
    case DCM_VR_IS: {
        char tmp[16], *end;
        if (!dcm_dataset_get_string(ds, tag, tmp, sizeof tmp))
            return false;
        errno = 0;
        long v = strtol(tmp, &end, 10);
        if (end == tmp || errno)
            return false;
        *out = v;
        return true;
    }
    default:
        return false;
    }
}

static dqr_status element_copy(dcm_element *dst, const dcm_element *src)
{
    *dst = *src;
    dst->items = NULL;
    dst->frags = NULL;
    dst->blob = (dcm_blob){0};
    dst->n = dst->cap = 0;
    if (src->kind == DCM_KIND_BLOB)
        return blob_copy(&dst->blob, &src->blob);
    if (src->kind == DCM_KIND_SEQ) {
        if (!src->n)
            return DQR_OK;
        dst->items = calloc(src->n, sizeof *dst->items);
        if (!dst->items)
            return DQR_E_NOMEM;
        dst->cap = src->n;
        for (; dst->n < src->n; dst->n++) {
            dst->items[dst->n] = dcm_dataset_copy(src->items[dst->n]);
            if (!dst->items[dst->n])
                return DQR_E_NOMEM;
        }
        return DQR_OK;
    }
    dst->frags = calloc(src->n ? src->n : 1, sizeof *dst->frags);
    if (!dst->frags)
        return DQR_E_NOMEM;
    dst->cap = src->n;
    for (; dst->n < src->n; dst->n++)
        if (blob_copy(&dst->frags[dst->n], &src->frags[dst->n]))
            return DQR_E_NOMEM;
    return DQR_OK;
}

dcm_dataset *dcm_dataset_copy(const dcm_dataset *ds)
{
    dcm_dataset *c = dcm_dataset_new();
    if (!c)
        return NULL;
    c->undefined_length = ds->undefined_length;
    c->depth = ds->depth;
    c->els = calloc(ds->n ? ds->n : 1, sizeof *c->els);
    if (!c->els) {
        free(c);
        return NULL;
    }
    c->cap = ds->n;
    for (; c->n < ds->n; c->n++) {
        if (element_copy(&c->els[c->n], &ds->els[c->n])) {
            c->n++; /* free the partly copied element too */
            dcm_dataset_free(c);
            return NULL;
        }
    }
    return c;
}

const char *dcm_tag_str(uint32_t tag, char buf[12])
{
    static const char hex[] = "0123456789ABCDEF";
    buf[0] = '(';
    for (int i = 0; i < 4; i++)
        buf[1 + i] = hex[(tag >> (28 - 4 * i)) & 0xF];
    buf[5] = ',';
    for (int i = 0; i < 4; i++)
        buf[6 + i] = hex[(tag >> (12 - 4 * i)) & 0xF];
    buf[10] = ')';
    buf[11] = '\0';
    return buf;
}

/* write.c — encode datasets and Part 10 files.
 *
 * Lengths of defined-length sequences and items are computed from the tree
 * before writing, so an unchanged dataset written in its own transfer syntax
 * comes out byte for byte as it came in. Deferred values are streamed from
 * their source file (copy_file_range when nothing needs changing), so
 * writing a 1 GiB file needs only the sink's buffer.
 */
#include "dicom/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define SINK_BUF (256u * 1024u)

typedef struct sink {
    int fd;                 /* output file, or -1 for memory / callback */
    dcm_write_fn cb;        /* callback output (fd < 0) */
    void *cb_ctx;
    uint8_t *mem;           /* memory output (fd < 0) */
    size_t mem_len, mem_cap;
    bool deflating;
    z_stream z;
    uint8_t *buf, *zbuf;
    size_t len;
    dqr_error *err;
    dqr_status status;
    const dcm_pixel_writer *pw; /* produces the Pixel Data of top (write_file), or NULL */
    const dcm_dataset *top;
    uint64_t *lens;             /* pw->extended_offsets: each frame's fragment length, measured first */
} sink;

typedef struct enc {
    bool explicit_vr, big_endian;
} enc;

static void raw_out(sink *s, const uint8_t *p, size_t n)
{
    if (s->status || n == 0)
        return;
    if (s->cb) {
        if (s->cb(s->cb_ctx, p, n) != 0)
            s->status = dqr_error_set(s->err, DQR_E_IO, "the receiver of the data failed");
        return;
    }
    if (s->fd < 0) {
        if (s->mem_len + n > s->mem_cap) {
            size_t cap = s->mem_cap ? s->mem_cap : 4096;
            while (cap < s->mem_len + n)
                cap *= 2;
            uint8_t *m = realloc(s->mem, cap);
            if (!m) {
                s->status = dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
                return;
            }
            s->mem = m;
            s->mem_cap = cap;
        }
        memcpy(s->mem + s->mem_len, p, n);
        s->mem_len += n;
        return;
    }
    while (n) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s->status = dqr_error_set(s->err, DQR_E_IO, "write failed: %s", strerror(errno));
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void deflate_out(sink *s, const uint8_t *p, size_t n, int flush)
{
    s->z.next_in = (Bytef *)p;
    s->z.avail_in = (uInt)n;
    do {
        s->z.next_out = s->zbuf;
        s->z.avail_out = SINK_BUF;
        int zr = deflate(&s->z, flush);
        if (zr == Z_STREAM_ERROR) {
            s->status = dqr_error_set(s->err, DQR_E_IO, "deflate failed");
            return;
        }
        raw_out(s, s->zbuf, SINK_BUF - s->z.avail_out);
    } while (s->z.avail_out == 0 || s->z.avail_in);
}

static void flush(sink *s)
{
    if (s->len && !s->status) {
        if (s->deflating)
            deflate_out(s, s->buf, s->len, Z_NO_FLUSH);
        else
            raw_out(s, s->buf, s->len);
    }
    s->len = 0;
}

static void put(sink *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n && !s->status) {
        size_t k = SINK_BUF - s->len < n ? SINK_BUF - s->len : n;
        memcpy(s->buf + s->len, p, k);
        s->len += k;
        p += k;
        n -= k;
        if (s->len == SINK_BUF)
            flush(s);
    }
}

/* Read len bytes of a blob at off as stored (no swap). */
static dqr_status blob_raw(const dcm_blob *b, uint64_t off, uint8_t *buf, size_t n, dqr_error *err)
{
    dcm_blob raw = *b;
    raw.big_endian = false; /* read as stored */
    return dcm_blob_read(&raw, DCM_VR_OB, off, buf, n, err);
}

/* Copy a deferred value file-to-file in the kernel; returns how many bytes
 * went (fewer if copy_file_range is not supported here). */
static uint64_t copy_range(sink *s, const dcm_blob *b)
{
    loff_t off = (loff_t)b->offset;
    uint64_t done = 0;
    while (done < b->len) {
        ssize_t c = copy_file_range(b->src->fd, &off, s->fd, NULL, (size_t)(b->len - done), 0);
        if (c < 0 && errno == EINTR)
            continue;
        if (c <= 0)
            break;
        done += (uint64_t)c;
    }
    return done;
}

/* The value from offset `from` on, in chunks: read (or copy), swap if the
 * byte order changes, and hand full chunks straight to the output. */
static void put_chunks(sink *s, const dcm_blob *b, size_t unit, bool swap, uint64_t from)
{
    uint8_t *tmp = malloc(SINK_BUF);
    if (!tmp) {
        s->status = dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
        return;
    }
    size_t chunk = SINK_BUF - SINK_BUF % 8;
    for (uint64_t done = from; done < b->len && !s->status; done += chunk) {
        size_t k = b->len - done < chunk ? (size_t)(b->len - done) : chunk;
        if (b->src)
            s->status = blob_raw(b, done, tmp, k, s->err);
        else
            memcpy(tmp, b->bytes + done, k);
        if (s->status)
            break;
        if (swap)
            dcm_swap(tmp, k, unit);
        if (k == chunk && !s->deflating) { /* a full chunk needs no trip through the buffer */
            flush(s);
            raw_out(s, tmp, k);
        } else {
            put(s, tmp, k);
        }
    }
    free(tmp);
}

static void put_blob(sink *s, const dcm_blob *b, dcm_vr vr, bool big_endian)
{
    size_t unit = dcm_vr_swap_unit(vr);
    bool stored_be = b->src && b->big_endian;
    bool swap = unit > 1 && stored_be != big_endian;
    if (!b->src && !swap) {
        if (b->len >= SINK_BUF && !s->deflating) { /* large: straight out, no copy into the buffer */
            flush(s);
            raw_out(s, b->bytes, b->len);
        } else {
            put(s, b->bytes, b->len);
        }
        return;
    }
    uint64_t done = 0;
    if (b->src && !swap && !s->deflating && s->fd >= 0) {
        flush(s);
        done = copy_range(s, b);
    }
    if (done < b->len)
        put_chunks(s, b, unit, swap, done);
}

/* ---- sizes ------------------------------------------------------------- */

static uint64_t dataset_size(const dcm_dataset *ds, enc e);

/* The VR written in an explicit header: a value too long for a 16-bit
 * length goes out as UN (PS3.5 6.2.2 note 4). */
static dcm_vr vr_out(const dcm_element *el)
{
    if (el->kind == DCM_KIND_BLOB && !dcm_vr_long_header(el->vr) && el->blob.len > 0xFFFF)
        return DCM_VR_UN;
    return el->vr;
}

static uint64_t header_size(const dcm_element *el, enc e)
{
    if (!e.explicit_vr)
        return 8;
    return dcm_vr_long_header(vr_out(el)) || el->kind != DCM_KIND_BLOB ? 12 : 8;
}

static enc item_enc(const dcm_element *el, enc e)
{
    return el->implicit_seq ? (enc){false, false} : e;
}

static uint64_t items_size(const dcm_element *el, enc e)
{
    enc ie = item_enc(el, e);
    uint64_t total = 0;
    for (size_t i = 0; i < el->n; i++)
        total += 8 + dataset_size(el->items[i], ie) + (el->items[i]->undefined_length ? 8 : 0);
    return total;
}

static bool seq_undefined(const dcm_element *el, uint64_t content)
{
    return el->undefined_length || content >= DCM_UNDEFINED_LENGTH;
}

static uint64_t element_size(const dcm_element *el, enc e)
{
    uint64_t h = header_size(el, e);
    switch (el->kind) {
    case DCM_KIND_BLOB:
        return h + el->blob.len;
    case DCM_KIND_SEQ: {
        uint64_t c = items_size(el, e);
        return h + c + (seq_undefined(el, c) ? 8 : 0);
    }
    case DCM_KIND_ENCAP: {
        uint64_t c = 8;
        for (size_t i = 0; i < el->n; i++)
            c += 8 + el->frags[i].len;
        return h + c;
    }
    }
    return h;
}

static uint64_t dataset_size(const dcm_dataset *ds, enc e)
{
    uint64_t total = 0;
    for (size_t i = 0; i < ds->n; i++)
        total += element_size(&ds->els[i], e);
    return total;
}

/* ---- encoding ---------------------------------------------------------- */

static void put_tag_len(sink *s, uint32_t tag, uint32_t len, bool be)
{
    uint8_t h[8];
    dcm_wr16(h, DCM_GROUP(tag), be);
    dcm_wr16(h + 2, DCM_ELEM(tag), be);
    dcm_wr32(h + 4, len, be);
    put(s, h, 8);
}

static void put_header(sink *s, const dcm_element *el, uint32_t len, enc e)
{
    if (!e.explicit_vr) {
        put_tag_len(s, el->tag, len, e.big_endian);
        return;
    }
    uint8_t h[12];
    dcm_vr vr = vr_out(el);
    const char *name = dcm_vr_str(vr);
    dcm_wr16(h, DCM_GROUP(el->tag), e.big_endian);
    dcm_wr16(h + 2, DCM_ELEM(el->tag), e.big_endian);
    h[4] = (uint8_t)name[0];
    h[5] = (uint8_t)name[1];
    if (dcm_vr_long_header(vr) || el->kind != DCM_KIND_BLOB) {
        h[6] = h[7] = 0;
        dcm_wr32(h + 8, len, e.big_endian);
        put(s, h, 12);
    } else {
        dcm_wr16(h + 6, (uint16_t)len, e.big_endian);
        put(s, h, 8);
    }
}

static void put_dataset(sink *s, const dcm_dataset *ds, enc e);

/* Group Length (gggg,0000) is recomputed, so edited datasets stay valid. */
static uint32_t group_length(const dcm_dataset *ds, size_t i, enc e)
{
    uint64_t total = 0;
    uint16_t g = DCM_GROUP(ds->els[i].tag);
    for (size_t j = i + 1; j < ds->n && DCM_GROUP(ds->els[j].tag) == g; j++)
        total += element_size(&ds->els[j], e);
    return (uint32_t)total;
}

/* ---- Pixel Data from a producer --------------------------------------- */

static void put_frame_pad(sink *s, const uint8_t *data, size_t len, bool pad)
{
    if (len >= SINK_BUF && !s->deflating) { /* a large frame goes straight out, as put_blob does */
        flush(s);
        raw_out(s, data, len);
    } else {
        put(s, data, len);
    }
    if (pad)
        put(s, "", 1);
}

/* Each frame once through the producer to learn its fragment's length
 * (padded to even; memory: one frame). NULL with s->status set on failure. */
static uint64_t *measure_frames(sink *s, const dcm_pixel_writer *pw)
{
    uint64_t *lens = malloc(sizeof *lens * ((size_t)pw->frames + 1));
    if (!lens) {
        s->status = dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < pw->frames && !s->status; i++) {
        const uint8_t *d;
        size_t n;
        if (!(s->status = pw->frame(pw->ctx, i, &d, &n, s->err)))
            lens[i] = n + (n & 1);
    }
    if (s->status) {
        free(lens);
        return NULL;
    }
    return lens;
}

/* The Basic Offset Table from the measured lengths: offsets from the first
 * fragment's item tag, each fragment taking 8 + its length. */
static uint8_t *basic_offsets(sink *s, const dcm_pixel_writer *pw, const uint64_t *lens, bool be)
{
    uint8_t *bot = malloc(4u * (size_t)pw->frames + 1);
    if (!bot) {
        s->status = dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    uint64_t at = 0;
    for (uint32_t i = 0; i < pw->frames; i++) {
        if (at > 0xFFFFFFFFu) {
            free(bot);
            s->status = dqr_error_set(s->err, DQR_E_LIMIT, "frames beyond 4 GiB: no Basic Offset Table can point to them");
            return NULL;
        }
        dcm_wr32(bot + 4u * i, (uint32_t)at, be);
        at += 8u + lens[i];
    }
    return bot;
}

/* (7FE0,0001) Extended Offset Table or (7FE0,0002) its lengths, from the
 * measured fragments, in place of the dataset's placeholder. */
static void put_extended(sink *s, const dcm_element *el, enc e)
{
    const dcm_pixel_writer *pw = s->pw;
    dcm_element hdr = *el;
    hdr.kind = DCM_KIND_BLOB;
    hdr.blob.len = 8u * pw->frames;
    put_header(s, &hdr, hdr.blob.len, e);
    uint64_t at = 0;
    for (uint32_t i = 0; i < pw->frames; i++) {
        uint64_t v = el->tag == DCM_TAG(0x7FE0, 0x0001) ? at : s->lens[i];
        uint8_t b[8];
        for (int k = 0; k < 8; k++)
            b[k] = (uint8_t)(v >> (8 * k));
        put(s, b, 8);
        at += 8u + s->lens[i];
    }
}

static void put_produced_pixels(sink *s, const dcm_element *el, enc e)
{
    const dcm_pixel_writer *pw = s->pw;
    dcm_element hdr = *el;
    hdr.kind = pw->encapsulated ? DCM_KIND_ENCAP : DCM_KIND_BLOB;
    hdr.vr = pw->encapsulated ? DCM_VR_OB : pw->vr;
    hdr.blob.len = pw->encapsulated ? 0 : (uint32_t)(pw->length + (pw->length & 1));
    if (!pw->encapsulated && pw->length + (pw->length & 1) >= DCM_UNDEFINED_LENGTH) {
        s->status = dqr_error_set(s->err, DQR_E_LIMIT, "native Pixel Data of %llu bytes is too long",
                                  (unsigned long long)pw->length);
        return;
    }
    put_header(s, &hdr, pw->encapsulated ? DCM_UNDEFINED_LENGTH : hdr.blob.len, e);
    if (pw->encapsulated) {
        uint64_t *lens = pw->offset_table && !pw->extended_offsets && pw->frames ? measure_frames(s, pw) : NULL;
        uint8_t *bot = lens ? basic_offsets(s, pw, lens, e.big_endian) : NULL;
        free(lens);
        if (s->status)
            return;
        put_tag_len(s, DCM_TAG_ITEM, bot ? 4u * pw->frames : 0, e.big_endian);
        put(s, bot, bot ? 4u * pw->frames : 0);
        free(bot);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < pw->frames && !s->status; i++) {
        const uint8_t *d;
        size_t n;
        if ((s->status = pw->frame(pw->ctx, i, &d, &n, s->err)))
            return;
        total += n;
        if (pw->encapsulated)
            put_tag_len(s, DCM_TAG_ITEM, (uint32_t)(n + (n & 1)), e.big_endian);
        else if (total > pw->length)
            s->status = dqr_error_set(s->err, DQR_E_USAGE, "the pixel producer gave more bytes than announced");
        put_frame_pad(s, d, n, pw->encapsulated ? (n & 1) : (i + 1 == pw->frames && (total & 1)));
    }
    if (!s->status && !pw->encapsulated && total != pw->length)
        s->status = dqr_error_set(s->err, DQR_E_USAGE, "the pixel producer gave %llu of %llu bytes",
                                  (unsigned long long)total, (unsigned long long)pw->length);
    if (pw->encapsulated)
        put_tag_len(s, DCM_TAG_SEQ_DELIM, 0, e.big_endian);
}

static void put_element(sink *s, const dcm_dataset *ds, size_t i, enc e)
{
    const dcm_element *el = &ds->els[i];
    if (s->pw && ds == s->top && el->tag == DCM_TAG_PIXEL_DATA) {
        put_produced_pixels(s, el, e);
        return;
    }
    if (s->lens && ds == s->top && (el->tag == DCM_TAG(0x7FE0, 0x0001) || el->tag == DCM_TAG(0x7FE0, 0x0002))) {
        put_extended(s, el, e);
        return;
    }
    switch (el->kind) {
    case DCM_KIND_BLOB:
        put_header(s, el, el->blob.len, e);
        if (DCM_ELEM(el->tag) == 0 && el->vr == DCM_VR_UL && el->blob.len == 4) {
            uint8_t v[4];
            dcm_wr32(v, group_length(ds, i, e), e.big_endian);
            put(s, v, 4);
        } else {
            put_blob(s, &el->blob, el->vr, e.big_endian);
        }
        return;
    case DCM_KIND_SEQ: {
        uint64_t c = items_size(el, e);
        bool undef = seq_undefined(el, c);
        enc ie = item_enc(el, e);
        put_header(s, el, undef ? DCM_UNDEFINED_LENGTH : (uint32_t)c, e);
        for (size_t k = 0; k < el->n; k++) {
            const dcm_dataset *item = el->items[k];
            uint64_t isz = dataset_size(item, ie);
            bool iundef = item->undefined_length || isz >= DCM_UNDEFINED_LENGTH;
            put_tag_len(s, DCM_TAG_ITEM, iundef ? DCM_UNDEFINED_LENGTH : (uint32_t)isz, ie.big_endian);
            put_dataset(s, item, ie);
            if (iundef)
                put_tag_len(s, DCM_TAG_ITEM_DELIM, 0, ie.big_endian);
        }
        if (undef)
            put_tag_len(s, DCM_TAG_SEQ_DELIM, 0, ie.big_endian);
        return;
    }
    case DCM_KIND_ENCAP:
        put_header(s, el, DCM_UNDEFINED_LENGTH, e);
        for (size_t k = 0; k < el->n; k++) {
            put_tag_len(s, DCM_TAG_ITEM, el->frags[k].len, e.big_endian);
            put_blob(s, &el->frags[k], DCM_VR_OB, e.big_endian);
        }
        put_tag_len(s, DCM_TAG_SEQ_DELIM, 0, e.big_endian);
        return;
    }
}

static void put_dataset(sink *s, const dcm_dataset *ds, enc e)
{
    for (size_t i = 0; i < ds->n && !s->status; i++)
        put_element(s, ds, i, e);
}

/* The top-level dataset without group 0002: meta elements found after the
 * meta group (a malformed input) would otherwise be read back as part of it,
 * and a stray Transfer Syntax UID there would contradict the one written. */
static void put_body(sink *s, const dcm_dataset *ds, enc e)
{
    for (size_t i = 0; i < ds->n && !s->status; i++)
        if (DCM_GROUP(ds->els[i].tag) != 0x0002)
            put_element(s, ds, i, e);
}

/* ---- sinks and files --------------------------------------------------- */

static dqr_status sink_init(sink *s, int fd, dqr_error *err)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->err = err;
    s->buf = malloc(SINK_BUF);
    if (!s->buf)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    return DQR_OK;
}

static void sink_start_deflate(sink *s)
{
    flush(s);
    s->zbuf = malloc(SINK_BUF);
    if (!s->zbuf || deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                                 Z_DEFAULT_STRATEGY) != Z_OK) {
        s->status = dqr_error_set(s->err, DQR_E_NOMEM, "deflate init failed");
        return;
    }
    s->deflating = true;
}

static dqr_status sink_finish(sink *s)
{
    flush(s);
    if (s->deflating) {
        if (!s->status)
            deflate_out(s, NULL, 0, Z_FINISH);
        deflateEnd(&s->z);
        s->deflating = false;
    }
    free(s->buf);
    free(s->zbuf);
    s->buf = s->zbuf = NULL;
    return s->status;
}

/* Finish a memory sink and hand its buffer to the caller. */
static dqr_status sink_take(sink *s, uint8_t **out, size_t *out_len, dqr_error *err)
{
    dqr_status st = sink_finish(s);
    if (st) {
        free(s->mem);
        return st;
    }
    *out = s->mem ? s->mem : malloc(1);
    *out_len = s->mem_len;
    return *out ? DQR_OK : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
}

static bool has_encapsulated_pixels(const dcm_dataset *ds)
{
    const dcm_element *px = dcm_dataset_get(ds, DCM_TAG_PIXEL_DATA);
    return px && px->kind == DCM_KIND_ENCAP;
}

static dqr_status resolve_ts(const dcm_file *f, const char *ts, enc *e, bool *deflated,
                             dqr_error *err)
{
    const dcm_uid_entry *t = dcm_ts_lookup(ts);
    if (!t && strcmp(ts, f->ts) != 0)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "unknown transfer syntax %s", ts);
    unsigned flags = t ? t->flags : (DCM_TS_EXPLICIT | DCM_TS_ENCAPSULATED);
    const dcm_element *px = dcm_dataset_get(f->ds, DCM_TAG_PIXEL_DATA);
    bool encap = f->pixel_writer ? f->pixel_writer->encapsulated : has_encapsulated_pixels(f->ds);
    if (px && encap != !!(flags & DCM_TS_ENCAPSULATED))
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "cannot write %s pixel data as %s: dqr does not compress or decompress here",
                             encap ? "compressed" : "native", ts);
    if (f->pixel_writer && (flags & DCM_TS_BIG_ENDIAN)) /* produced frames are little-endian samples */
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "cannot write edited pixel data as %s (big endian)", ts);
    e->explicit_vr = flags & DCM_TS_EXPLICIT;
    e->big_endian = flags & DCM_TS_BIG_ENDIAN;
    *deflated = flags & DCM_TS_DEFLATED;
    return DQR_OK;
}

/* Set a meta UID to value unless it already holds it (so unchanged files keep their bytes). */
static bool sync_uid(dcm_dataset *m, uint32_t tag, const char *value, dqr_error *err)
{
    char cur[65];
    if (dcm_dataset_get_string(m, tag, cur, sizeof cur) && strcmp(cur, value) == 0)
        return true;
    return dcm_dataset_set_string(m, tag, DCM_VR_UI, value, err) != NULL;
}

/* The meta group to write: as read when keep_meta, else with dqr's
 * implementation identity; transfer syntax and SOP references filled in. */
static dcm_dataset *build_meta(const dcm_file *f, const char *ts, bool keep, dqr_error *err)
{
    dcm_dataset *m = dcm_dataset_copy(f->meta);
    char buf[65];
    if (!m) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    static const uint8_t version[2] = {0, 1};
    bool ok = dcm_dataset_set_bytes(m, DCM_TAG(0x0002, 0x0000), DCM_VR_UL, "\0\0\0\0", 4, err);
    if (ok && !dcm_dataset_get(m, DCM_TAG(0x0002, 0x0001)))
        ok = dcm_dataset_set_bytes(m, DCM_TAG(0x0002, 0x0001), DCM_VR_OB, version, 2, err);
    /* The meta names the SOP class and instance the dataset holds: after a
     * UID was replaced, the old one must not stay behind in the meta. With
     * keep_meta (an unchanged rewrite) the meta stays as read, even if the
     * input disagreed with itself. */
    if (ok && (!keep || !dcm_dataset_get(m, DCM_TAG(0x0002, 0x0002))) &&
        dcm_dataset_get_string(f->ds, DCM_TAG(0x0008, 0x0016), buf, sizeof buf))
        ok = sync_uid(m, DCM_TAG(0x0002, 0x0002), buf, err);
    if (ok && (!keep || !dcm_dataset_get(m, DCM_TAG(0x0002, 0x0003))) &&
        dcm_dataset_get_string(f->ds, DCM_TAG(0x0008, 0x0018), buf, sizeof buf))
        ok = sync_uid(m, DCM_TAG(0x0002, 0x0003), buf, err);
    bool same_ts = dcm_dataset_get_string(m, DCM_TAG_TRANSFER_SYNTAX, buf, sizeof buf) &&
                   strcmp(buf, ts) == 0;
    if (ok && !same_ts)
        ok = dcm_dataset_set_string(m, DCM_TAG_TRANSFER_SYNTAX, DCM_VR_UI, ts, err);
    if (ok && (!keep || !dcm_dataset_get(m, DCM_TAG(0x0002, 0x0012)))) {
        ok = dcm_dataset_set_string(m, DCM_TAG(0x0002, 0x0012), DCM_VR_UI,
                                    DQR_IMPLEMENTATION_CLASS_UID, err) &&
             dcm_dataset_set_string(m, DCM_TAG(0x0002, 0x0013), DCM_VR_SH,
                                    DQR_IMPLEMENTATION_VERSION, err);
    }
    if (!ok) {
        dcm_dataset_free(m);
        return NULL;
    }
    return m;
}

static dqr_status write_file(const dcm_file *f, sink *s, const dcm_write_options *opts,
                             dqr_error *err)
{
    dcm_write_options defaults = {0};
    if (!opts)
        opts = &defaults;
    const char *ts = opts->transfer_syntax ? opts->transfer_syntax : f->ts;
    enc e = {true, false};
    bool deflated = false;
    dqr_status st = resolve_ts(f, ts, &e, &deflated, err);
    if (st)
        return s->status = st; /* the callers finish the sink and return its status */
    if (!opts->bare) {
        bool keep = opts->keep_meta && strcmp(ts, f->ts) == 0;
        dcm_dataset *meta = build_meta(f, ts, keep, err);
        if (!meta)
            return s->status = err ? err->code : DQR_E_NOMEM;
        static const uint8_t zeros[128];
        put(s, f->has_preamble && !opts->zero_preamble ? f->preamble : zeros, 128);
        put(s, "DICM", 4);
        put_dataset(s, meta, (enc){true, false});
        dcm_dataset_free(meta);
    }
    if (deflated)
        sink_start_deflate(s);
    s->pw = f->pixel_writer;
    s->top = f->ds;
    /* the Extended Offset Table comes before the Pixel Data: measure the frames first */
    if (s->pw && s->pw->encapsulated && s->pw->extended_offsets && !(s->lens = measure_frames(s, s->pw)))
        return s->status;
    put_body(s, f->ds, e);
    free(s->lens);
    s->lens = NULL;
    return s->status;
}

void dcm_file_drop_pixel_writer(dcm_file *f)
{
    if (f->pixel_writer && f->pixel_writer->free_ctx)
        f->pixel_writer->free_ctx(f->pixel_writer->ctx);
    free(f->pixel_writer);
    f->pixel_writer = NULL;
}

dqr_status dcm_file_set_pixel_writer(dcm_file *f, const dcm_pixel_writer *w, dqr_error *err)
{
    dcm_file_drop_pixel_writer(f);
    if (!w)
        return DQR_OK;
    f->pixel_writer = malloc(sizeof *f->pixel_writer);
    if (!f->pixel_writer) {
        if (w->free_ctx)
            w->free_ctx(w->ctx);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    *f->pixel_writer = *w;
    return DQR_OK;
}

dqr_status dcm_file_set_transfer_syntax(dcm_file *f, const char *ts, dqr_error *err)
{
    if (strlen(ts) >= sizeof f->ts)
        return dqr_error_set(err, DQR_E_USAGE, "transfer syntax UID too long");
    memmove(f->ts, ts, strlen(ts) + 1); /* ts may be f's own (dcm_file_transfer_syntax) */
    return DQR_OK;
}

dqr_status dcm_file_write_fd(const dcm_file *f, int fd, const dcm_write_options *opts,
                             dqr_error *err)
{
    sink s;
    dqr_status st = sink_init(&s, fd, err);
    if (st)
        return st;
    write_file(f, &s, opts, err);
    return sink_finish(&s);
}

dqr_status dcm_file_write_cb(const dcm_file *f, const dcm_write_options *opts, dcm_write_fn fn,
                             void *ctx, dqr_error *err)
{
    sink s;
    dqr_status st = sink_init(&s, -1, err);
    if (st)
        return st;
    s.cb = fn;
    s.cb_ctx = ctx;
    write_file(f, &s, opts, err);
    return sink_finish(&s);
}

dqr_status dcm_file_write(const dcm_file *f, const char *path, const dcm_write_options *opts,
                          dqr_error *err)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    /* A unique temporary name beside the target, created with the final mode
     * (opts->file_mode or 0644, less the umask) so no fchmod is needed. */
    mode_t mode = opts && opts->file_mode ? (mode_t)opts->file_mode : 0644;
    uint8_t r[6];
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 8; attempt++) {
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            break;
        snprintf(tmp, n + 16, "%s.tmp.%02x%02x%02x%02x%02x%02x", path, r[0], r[1], r[2], r[3], r[4], r[5]);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        dqr_status st = dqr_error_set(err, DQR_E_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    dqr_status st = dcm_file_write_fd(f, fd, opts, err);
    if (!st && !(opts && opts->no_sync) && fsync(fd) != 0)
        st = dqr_error_set(err, DQR_E_IO, "%s: fsync: %s", tmp, strerror(errno));
    if (!st && opts && opts->no_sync && opts->start_writeback) /* begin the flush now, wait for it later */
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (close(fd) != 0 && !st)
        st = dqr_error_set(err, DQR_E_IO, "%s: close: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = dqr_error_set(err, DQR_E_IO, "%s: rename: %s", path, strerror(errno));
    if (st) {
        unlink(tmp);
        dqr_error_prefix(err, "%s: ", path);
    }
    free(tmp);
    return st;
}

dqr_status dcm_file_encode(const dcm_file *f, const dcm_write_options *opts, uint8_t **out,
                           size_t *out_len, dqr_error *err)
{
    sink s;
    dqr_status st = sink_init(&s, -1, err);
    if (st)
        return st;
    write_file(f, &s, opts, err);
    return sink_take(&s, out, out_len, err);
}

dqr_status dcm_dataset_encode(const dcm_dataset *ds, const char *ts_uid, uint8_t **out,
                              size_t *out_len, dqr_error *err)
{
    const dcm_uid_entry *t = dcm_ts_lookup(ts_uid);
    if (!t)
        return dqr_error_set(err, DQR_E_UNSUPPORTED, "unknown transfer syntax %s", ts_uid);
    sink s;
    dqr_status st = sink_init(&s, -1, err);
    if (st)
        return st;
    if (t->flags & DCM_TS_DEFLATED)
        sink_start_deflate(&s);
    put_dataset(&s, ds, (enc){t->flags & DCM_TS_EXPLICIT, t->flags & DCM_TS_BIG_ENDIAN});
    return sink_take(&s, out, out_len, err);
}

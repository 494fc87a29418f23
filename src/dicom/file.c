/* file.c — Part 10 files: preamble, File Meta Information, and the choice
 * of transfer syntax for the dataset that follows.
 *
 * Accepts what real archives hold: a 128-byte preamble + "DICM", a meta
 * group without preamble, or a bare dataset whose transfer syntax is told by
 * its first element. A declared explicit/implicit VR that the bytes
 * contradict is corrected from the bytes, as pydicom and DCMTK do.
 */
#include "dicom/internal.h"
#include "dicom/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

dcm_dataset *dcm_file_meta(const dcm_file *f) { return f->meta; }
dcm_dataset *dcm_file_dataset(const dcm_file *f) { return f->ds; }
const char *dcm_file_transfer_syntax(const dcm_file *f) { return f->ts; }
bool dcm_file_has_preamble(const dcm_file *f) { return f->has_preamble; }

void dcm_file_close(dcm_file *f)
{
    if (!f)
        return;
    dcm_file_drop_pixel_writer(f); /* its context may read f's pixel data: before the datasets go */
    dcm_dataset_free(f->meta);
    dcm_dataset_free(f->ds);
    dcm_source_unref(f->src);
    free(f);
}

/* Does b (at least 6 bytes) start with an explicit VR element header? */
static bool looks_explicit(const uint8_t *b)
{
    return dcm_vr_from_chars((char)b[4], (char)b[5]) != DCM_VR_NONE;
}

/* Guess the encoding of a dataset from its first element header. */
static void guess_encoding(const uint8_t *b, size_t n, bool *explicit_vr, bool *big_endian)
{
    *explicit_vr = false;
    *big_endian = false;
    if (n < 8)
        return;
    *explicit_vr = looks_explicit(b);
    uint16_t g_le = dcm_rd16(b, false), g_be = dcm_rd16(b, true);
    /* Datasets start with a low group (0008 typically): the byte order that
     * reads the smaller group number is the right one. */
    *big_endian = *explicit_vr && g_be < g_le;
}

static const char *ts_for(bool explicit_vr, bool big_endian)
{
    if (!explicit_vr)
        return DCM_TS_IMPLICIT_LE;
    return big_endian ? DCM_TS_EXPLICIT_BE : DCM_TS_EXPLICIT_LE;
}

static dqr_status read_file(dcm_file *f, dcm_stream *st, const dcm_read_options *o, dqr_error *err)
{
    bool borrow = o->borrow;
    size_t avail = dcm_stream_need(st, 132, err);
    if (err && err->code)
        return err->code;
    const uint8_t *b = st->data + st->start;
    if (avail >= 132 && memcmp(b + 128, "DICM", 4) == 0) {
        memcpy(f->preamble, b, 128);
        f->has_preamble = true;
        dcm_stream_advance(st, 132);
    } else if (avail == 0) {
        return dqr_error_set(err, DQR_E_NOT_DICOM, "empty file");
    }
    dqr_status s = dcm_parse_meta(st, f->meta, err);
    if (s)
        return s;

    char ts[65] = "";
    dcm_dataset_get_string(f->meta, DCM_TAG_TRANSFER_SYNTAX, ts, sizeof ts);
    avail = dcm_stream_need(st, 8, err);
    b = st->data + st->start;
    bool explicit_vr, big_endian, deflated = false;
    const dcm_uid_entry *t = ts[0] ? dcm_ts_lookup(ts) : NULL;
    if (t) {
        explicit_vr = t->flags & DCM_TS_EXPLICIT;
        big_endian = t->flags & DCM_TS_BIG_ENDIAN;
        deflated = t->flags & DCM_TS_DEFLATED;
    } else if (ts[0]) {
        explicit_vr = true; /* an unknown (private) syntax: encapsulated-style explicit LE */
        big_endian = false;
    } else {
        /* Without preamble or meta, only a dataset starting in a low group is plausible. */
        if (!f->has_preamble && dcm_dataset_count(f->meta) == 0 &&
            (avail < 8 || (dcm_rd16(b, false) > 0x0010 && dcm_rd16(b, true) > 0x0010)))
            return dqr_error_set(err, DQR_E_NOT_DICOM, "not a DICOM file (no DICM prefix, no dataset)");
        guess_encoding(b, avail, &explicit_vr, &big_endian);
        snprintf(ts, sizeof ts, "%s", ts_for(explicit_vr, big_endian));
    }
    if (deflated) {
        if ((s = dcm_stream_inflate(st, o->max_inflated ? o->max_inflated : DCM_INFLATE_MAX_DEFAULT, err)))
            return s;
        avail = dcm_stream_need(st, 8, err);
        b = st->data + st->start;
    }
    /* Trust the bytes over the declaration for implicit vs explicit VR. */
    if (avail >= 8 && DCM_GROUP(dcm_rd16(b, big_endian)) != 0xFFFE)
        explicit_vr = looks_explicit(b);
    snprintf(f->ts, sizeof f->ts, "%s", ts);
    return dcm_parse_dataset(st, deflated ? NULL : f->src, explicit_vr, big_endian, f->ds, borrow && !deflated, err);
}

static dcm_file *file_new(void)
{
    dcm_file *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->meta = dcm_dataset_new();
    f->ds = dcm_dataset_new();
    if (!f->meta || !f->ds) {
        dcm_file_close(f);
        return NULL;
    }
    return f;
}

/* The options to use: the caller's, else the defaults. */
static dcm_read_options options(const dcm_read_options *opts)
{
    return opts ? *opts : (dcm_read_options){0, false};
}

dcm_file *dcm_file_open(const char *path, dqr_error *err)
{
    return dcm_file_open_with(path, NULL, err);
}

dcm_file *dcm_file_open_with(const char *path, const dcm_read_options *opts, dqr_error *err)
{
    dcm_read_options o = options(opts);
    o.borrow = false;
    dqr_error_clear(err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    dcm_file *f = file_new();
    if (!f || !(f->src = dcm_source_new(fd, path))) {
        close(fd);
        dcm_file_close(f);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dcm_stream st;
    dqr_status s = dcm_stream_fd(&st, fd, err);
    if (!s)
        s = read_file(f, &st, &o, err);
    dcm_stream_close(&st);
    if (s) {
        dqr_error_prefix(err, "%s: ", path);
        dcm_file_close(f);
        return NULL;
    }
    return f;
}

dcm_file *dcm_file_parse_with(const void *data, size_t len, const dcm_read_options *opts, dqr_error *err)
{
    dcm_read_options o = options(opts);
    dqr_error_clear(err);
    dcm_file *f = file_new();
    if (!f) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dcm_stream st;
    dcm_stream_mem(&st, data, len);
    dqr_status s = read_file(f, &st, &o, err);
    dcm_stream_close(&st);
    if (s) {
        dcm_file_close(f);
        return NULL;
    }
    return f;
}

dcm_file *dcm_file_parse(const void *data, size_t len, dqr_error *err)
{
    return dcm_file_parse_with(data, len, NULL, err);
}

dcm_file *dcm_file_parse_borrowed(const void *data, size_t len, dqr_error *err)
{
    dcm_read_options o = {0, true};
    return dcm_file_parse_with(data, len, &o, err);
}

dcm_file *dcm_file_wrap(dcm_dataset *meta, dcm_dataset *ds, const char *ts, dqr_error *err)
{
    dcm_file *f = calloc(1, sizeof *f);
    if (f && !meta)
        meta = dcm_dataset_new();
    if (!f || !meta || !ds || strlen(ts) >= sizeof f->ts) {
        dcm_dataset_free(meta);
        dcm_dataset_free(ds);
        free(f);
        dqr_error_set(err, ds ? DQR_E_NOMEM : DQR_E_USAGE, ds ? "out of memory" : "no dataset");
        return NULL;
    }
    f->meta = meta;
    f->ds = ds;
    snprintf(f->ts, sizeof f->ts, "%s", ts);
    return f;
}

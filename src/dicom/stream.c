/* stream.c — buffered input over memory, a file descriptor, or inflate.
 *
 * Inflation is bounded (see dcm_stream_inflate): deflate reaches about
 * 1000:1, so 174 KB of zeros expanded to 254 MiB in memory before. DICOM
 * that is really deflated (structured reports, headers, even noisy pixels)
 * stays far below 200:1; the first MiB is free so small files never trip. */
#include "dicom/stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_BUF (256u * 1024u)
#define NEED_MAX (64u * 1024u)

void dcm_stream_mem(dcm_stream *st, const void *data, size_t len)
{
    memset(st, 0, sizeof *st);
    st->fd = -1;
    st->data = data;
    st->end = len;
    st->size = len;
}

dqr_status dcm_stream_fd(dcm_stream *st, int fd, dqr_error *err)
{
    struct stat sb;
    memset(st, 0, sizeof *st);
    st->fd = -1;
    if (fstat(fd, &sb) != 0)
        return dqr_error_set(err, DQR_E_IO, "stat failed: %s", strerror(errno));
    st->buf = malloc(STREAM_BUF);
    if (!st->buf)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    st->cap = STREAM_BUF;
    st->data = st->buf;
    st->fd = fd;
    st->size = (uint64_t)sb.st_size;
    return DQR_OK;
}

void dcm_stream_close(dcm_stream *st)
{
    if (st->inner) {
        inflateEnd(&st->z);
        dcm_stream_close(st->inner);
        free(st->inner);
    }
    free(st->buf);
    memset(st, 0, sizeof *st);
    st->fd = -1;
}

bool dcm_stream_seekable(const dcm_stream *st)
{
    return st->fd >= 0 && !st->inner;
}

uint64_t dcm_stream_remaining(const dcm_stream *st)
{
    return st->size == UINT64_MAX ? UINT64_MAX : st->size - st->pos;
}

/* Move buffered bytes to the front of buf so more can be appended. */
static void compact(dcm_stream *st)
{
    size_t avail = st->end - st->start;
    if (st->start) {
        memmove(st->buf, st->buf + st->start, avail);
        st->start = 0;
        st->end = avail;
    }
}

/* Headers are small and pixel data is skipped, not read: fetch 32 KiB at a
 * time (or what one call needs) rather than the whole buffer. */
#define FD_READ (32u * 1024u)

static dqr_status fill_fd(dcm_stream *st, size_t need, dqr_error *err)
{
    compact(st);
    uint64_t at = st->pos + st->end;
    size_t want = need > FD_READ ? need : FD_READ;
    if (want > st->cap - st->end)
        want = st->cap - st->end;
    for (;;) {
        ssize_t r = pread(st->fd, st->buf + st->end, want, (off_t)at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return dqr_error_set(err, DQR_E_IO, "read at offset %llu failed: %s",
                                 (unsigned long long)at, strerror(errno));
        st->end += (size_t)r;
        return DQR_OK;
    }
}

/* The limits of dcm_stream_inflate, checked after each inflate call (which
 * produces at most one buffer, so the overshoot is bounded too). */
static dqr_status inflate_bounded(const dcm_stream *st, dqr_error *err)
{
    uint64_t out = st->z.total_out, in = st->z.total_in;
    if (out > st->inflate_max)
        return dqr_error_set(err, DQR_E_LIMIT, "deflated data expands beyond %llu bytes (the limit for one dataset)",
                             (unsigned long long)st->inflate_max);
    if (out > DCM_INFLATE_RATIO_FREE && out / DCM_INFLATE_MAX_RATIO > in)
        return dqr_error_set(err, DQR_E_LIMIT, "deflated data expands more than %u times (%llu bytes from %llu)",
                             DCM_INFLATE_MAX_RATIO, (unsigned long long)out, (unsigned long long)in);
    return DQR_OK;
}

static dqr_status fill_inflate(dcm_stream *st, dqr_error *err)
{
    compact(st);
    if (st->z_done)
        return DQR_OK;
    dcm_stream *in = st->inner;
    size_t before = st->end;
    while (st->end == before && !st->z_done) {
        size_t avail = dcm_stream_need(in, 1, err);
        if (err && err->code)
            return err->code;
        avail = in->end - in->start;
        st->z.next_in = (Bytef *)(in->data + in->start);
        st->z.avail_in = (uInt)avail;
        st->z.next_out = st->buf + st->end;
        st->z.avail_out = (uInt)(st->cap - st->end);
        int zr = inflate(&st->z, Z_NO_FLUSH);
        dcm_stream_advance(in, avail - st->z.avail_in);
        st->end = st->cap - st->z.avail_out;
        if (zr == Z_STREAM_END)
            st->z_done = true;
        else if (zr == Z_BUF_ERROR && avail == 0)
            st->z_done = true; /* input ended without a final block: stop here */
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return dqr_error_set(err, DQR_E_PARSE, "deflate data corrupt near offset %llu: %s",
                                 (unsigned long long)in->pos, st->z.msg ? st->z.msg : "zlib error");
        dqr_status s = inflate_bounded(st, err);
        if (s)
            return s;
    }
    return DQR_OK;
}

dqr_status dcm_stream_inflate(dcm_stream *st, uint64_t max, dqr_error *err)
{
    dcm_stream *in = malloc(sizeof *in);
    uint8_t *buf = malloc(STREAM_BUF);
    if (!in || !buf) {
        free(in);
        free(buf);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    *in = *st; /* the compressed input continues where st stands */
    memset(&st->z, 0, sizeof st->z);
    if (inflateInit2(&st->z, -15) != Z_OK) {
        free(in);
        free(buf);
        return dqr_error_set(err, DQR_E_NOMEM, "inflateInit failed");
    }
    st->inner = in;
    st->buf = buf;
    st->cap = STREAM_BUF;
    st->data = buf;
    st->start = st->end = 0;
    st->size = UINT64_MAX;
    st->fd = -1;
    st->z_done = false;
    st->inflate_max = max;
    /* The memory mode's data pointer is not owned; file mode's buffer moved to in. */
    return DQR_OK;
}

size_t dcm_stream_need(dcm_stream *st, size_t n, dqr_error *err)
{
    if (n > NEED_MAX)
        n = NEED_MAX;
    while (st->end - st->start < n) {
        size_t had = st->end - st->start;
        dqr_status s = DQR_OK;
        if (st->inner)
            s = fill_inflate(st, err);
        else if (st->fd >= 0)
            s = fill_fd(st, n - had, err);
        if (s || st->end - st->start == had)
            break;
    }
    return st->end - st->start;
}

void dcm_stream_advance(dcm_stream *st, size_t n)
{
    st->start += n;
    st->pos += n;
}

dqr_status dcm_stream_read(dcm_stream *st, void *dst, size_t n, dqr_error *err)
{
    uint8_t *out = dst;
    while (n) {
        size_t avail = dcm_stream_need(st, n, err);
        if (avail == 0)
            return (err && err->code) ? err->code
                                      : dqr_error_set(err, DQR_E_PARSE, "unexpected end of data at offset %llu",
                                                      (unsigned long long)st->pos);
        size_t k = avail < n ? avail : n;
        memcpy(out, st->data + st->start, k);
        dcm_stream_advance(st, k);
        out += k;
        n -= k;
    }
    return DQR_OK;
}

dqr_status dcm_stream_skip(dcm_stream *st, uint64_t n, dqr_error *err)
{
    size_t buffered = st->end - st->start;
    if (n <= buffered) {
        dcm_stream_advance(st, (size_t)n);
        return DQR_OK;
    }
    if (!st->inner && n > dcm_stream_remaining(st))
        return dqr_error_set(err, DQR_E_PARSE, "unexpected end of data at offset %llu",
                             (unsigned long long)st->size);
    if (st->fd >= 0 && !st->inner) {
        st->pos += n;
        st->start = st->end = 0; /* drop the buffer; the next need() reads at pos */
        return DQR_OK;
    }
    while (n) {
        size_t avail = dcm_stream_need(st, 1, err);
        if (avail == 0)
            return (err && err->code) ? err->code
                                      : dqr_error_set(err, DQR_E_PARSE, "unexpected end of data at offset %llu",
                                                      (unsigned long long)st->pos);
        size_t k = avail < n ? avail : (size_t)n;
        dcm_stream_advance(st, k);
        n -= k;
    }
    return DQR_OK;
}

bool dcm_stream_eof(dcm_stream *st, dqr_error *err)
{
    return dcm_stream_need(st, 1, err) == 0;
}

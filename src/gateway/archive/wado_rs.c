/* wado_rs.c — WADO-RS retrieval from the archive (PS3.18 10.4): studies,
 * series and instances as multipart/related application/dicom, and their
 * metadata as DICOM JSON.
 *
 * A study of any size is sent with bounded memory: the catalog gives the
 * list of files, and libmicrohttpd pulls the answer through a callback that
 * reads one file at a time (or holds one re-encoded instance when the
 * client asks for another transfer syntax). Instances sent as stored have
 * a length known before the first byte (the files' sizes as the catalog
 * has them, and the part headers), so that answer carries a Content-Length
 * and is read in large blocks straight into the buffer that is sent; the
 * others are chunked. No file is touched before the first byte: each is
 * checked against the catalog's size when it is opened to be sent. */
#include "dicom/fs.h"
#include "gateway/archive/dicomweb.h"
#include "gateway/accounts/audit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPLICIT_LE "1.2.840.10008.1.2.1"
#define IMPLICIT_LE "1.2.840.10008.1.2"

/* ---- the streamed answer ---- */

typedef struct wado_stream {
    gw *g;
    gw_dw_item *items;
    size_t n, next;
    char want[65];        /* the transfer syntax asked for; "" as stored */
    char boundary[40];
    bool metadata;        /* DICOM JSON array instead of parts */
    bool render;          /* each instance's first frame rendered as view says */
    gw_dw_view view;
    char base[512];
    uint8_t *cur;         /* bytes to send before the file */
    size_t cur_len, cur_off;
    int fd;               /* the file being sent as it is, or -1 */
    int dirfd;            /* the directory of the last file opened, or -1 ... */
    char dir[512];        /* ... and its path: a series' files are reached without walking their whole paths */
    bool counted;         /* a Content-Length was sent: each file must have the catalog's size */
    uint64_t left;        /* bytes of fd still to send */
    bool ended, failed;
    size_t sent, skipped;
} wado_stream;

static void stream_done(void *ctx)
{
    wado_stream *s = ctx;
    if (s->fd >= 0)
        close(s->fd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    if (s->skipped)
        gw_log(s->g, "warn", "wado_skipped", "instances=%zu (unreadable archive files)", s->skipped);
    free(s->cur);
    gw_dw_items_free(s->items, s->n);
    free(s);
}

/* Set cur to head followed by body (either may be empty). */
static bool set_cur(wado_stream *s, const char *head, const uint8_t *body, size_t blen)
{
    size_t hl = strlen(head);
    free(s->cur);
    s->cur = malloc(hl + blen + 1);
    if (!s->cur)
        return false;
    memcpy(s->cur, head, hl);
    if (blen)
        memcpy(s->cur + hl, body, blen);
    s->cur_len = hl + blen, s->cur_off = 0;
    return true;
}

/* The instance re-encoded in the transfer syntax asked for. */
static uint8_t *reencode(const wado_stream *s, const gw_dw_item *it, size_t *len, dqr_error *err)
{
    dcm_file *f = dcm_file_open(it->path, err);
    if (!f)
        return NULL;
    uint8_t *out = NULL;
    bool compressed = strcmp(it->ts, EXPLICIT_LE) != 0 && strcmp(it->ts, IMPLICIT_LE) != 0 &&
                      strcmp(it->ts, "1.2.840.10008.1.2.2") != 0 && strcmp(it->ts, "1.2.840.10008.1.2.1.99") != 0;
    dcm_write_options o = {.transfer_syntax = s->want, .zero_preamble = true};
    if ((!compressed || gw_dw_decompress(f, err) == DQR_OK) && dcm_file_encode(f, &o, &out, len, err) != DQR_OK)
        out = NULL;
    dcm_file_close(f);
    return out;
}

static bool next_metadata(wado_stream *s, const gw_dw_item *it)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(it->path, &err);
    if (!f)
        return false;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    bool ok = m && dcm_dump_json(dcm_file_dataset(f), m, 1024, &err) == DQR_OK;
    if (m)
        fclose(m);
    dcm_file_close(f);
    /* the relative bulk data names become URLs of this service */
    char prefix[1024];
    snprintf(prefix, sizeof prefix, "\"BulkDataURI\":\"%s/studies/%s/series/%s/instances/%s/", s->base, it->study,
             it->series, it->sop);
    FILE *o = NULL;
    char *out = NULL;
    size_t olen = 0;
    if (ok && (o = open_memstream(&out, &olen))) {
        fputs(s->sent ? "," : "[", o);
        static const char rel[] = "\"BulkDataURI\":\"";
        for (const char *p = text, *hit; p && *p; p = hit ? hit + sizeof rel - 1 : NULL) {
            hit = strstr(p, rel);
            fwrite(p, 1, hit ? (size_t)(hit - p) : strlen(p), o);
            if (hit)
                fputs(prefix, o);
        }
        fclose(o);
    }
    ok = ok && out && set_cur(s, out, NULL, 0);
    free(text);
    free(out);
    return ok;
}

static bool as_stored(const wado_stream *s, const gw_dw_item *it)
{
    return !*s->want || strcmp(s->want, it->ts) == 0;
}

/* One part's header; its length. */
static size_t part_head(const wado_stream *s, const gw_dw_item *it, char head[256])
{
    int n = snprintf(head, 256, "\r\n--%s\r\nContent-Type: application/dicom; transfer-syntax=%s\r\n\r\n",
                     s->boundary, as_stored(s, it) ? it->ts : s->want);
    return n > 0 ? (size_t)n : 0;
}

/* The directory of path as an fd (kept open while the files are in it)
 * and the file's name in it; AT_FDCWD (then name is the whole path) when
 * the directory cannot be opened. */
static int in_dir(wado_stream *s, const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    *name = path; /* the whole path, walked as before */
    if (!slash || len >= sizeof s->dir)
        return AT_FDCWD;
    if (s->dirfd < 0 || strlen(s->dir) != len || memcmp(s->dir, path, len) != 0) {
        if (s->dirfd >= 0)
            close(s->dirfd);
        memcpy(s->dir, path, len);
        s->dir[len] = '\0';
        s->dirfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (s->dirfd < 0)
        return AT_FDCWD;
    *name = slash + 1;
    return s->dirfd;
}

static int open_in_dir(wado_stream *s, const char *path)
{
    const char *name;
    int dir = in_dir(s, path, &name);
    return openat(dir, name, O_RDONLY | O_CLOEXEC);
}

/* The file's path under the archive (what the catalog and `dqr fsck` name:
 * de-identified labels, no PHI). */
static const char *under_archive(const wado_stream *s, const gw_dw_item *it)
{
    size_t dl = strlen(s->g->cfg.data_dir);
    return strncmp(it->path, s->g->cfg.data_dir, dl) == 0 && it->path[dl] == '/' ? it->path + dl + 1 : it->path;
}

/* Open the file of it to send as stored. With a Content-Length it must
 * have the catalog's size (archive files are never rewritten in place: a
 * different size is a damaged archive, and the length is already sent),
 * else the answer is cut: a short body, never a wrong one. */
static bool open_stored(wado_stream *s, const gw_dw_item *it)
{
    struct stat st;
    s->fd = open_in_dir(s, it->path);
    bool ok = s->fd >= 0 && fstat(s->fd, &st) == 0;
    if (ok && (!s->counted || (uint64_t)st.st_size == (uint64_t)it->bytes)) {
        s->left = (uint64_t)st.st_size;
        return true;
    }
    if (s->counted && ok)
        gw_log(s->g, "error", "wado_size_mismatch", "file=%s bytes=%lld catalog=%lld (answer cut; run dqr fsck)",
               under_archive(s, it), (long long)st.st_size, (long long)it->bytes);
    else if (s->counted)
        gw_log(s->g, "error", "wado_missing", "file=%s error=%s (answer cut; run dqr fsck)", under_archive(s, it),
               strerror(errno));
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->failed = s->counted;
    return false;
}

static bool next_instance(wado_stream *s, const gw_dw_item *it)
{
    char head[256];
    part_head(s, it, head);
    if (as_stored(s, it))
        return open_stored(s, it) && set_cur(s, head, NULL, 0);
    dqr_error err = {0};
    size_t len = 0;
    uint8_t *data = reencode(s, it, &len, &err);
    bool ok = data && set_cur(s, head, data, len);
    if (!data)
        gw_log(s->g, "warn", "wado_transcode", "to=%s from=%s error=%s", s->want, it->ts, err.message);
    free(data);
    return ok;
}

static bool next_rendered(wado_stream *s, const gw_dw_item *it)
{
    dqr_error err = {0};
    size_t len = 0;
    uint8_t *img = gw_dw_render(it->path, 0, &s->view, &len, &err);
    char head[160];
    snprintf(head, sizeof head, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", s->boundary,
             s->view.jpeg ? "image/jpeg" : "image/png");
    bool ok = img && set_cur(s, head, img, len);
    free(img);
    return ok; /* an instance without pixels (a report) is left out */
}

/* What ends the answer; its length. */
static size_t end_text(const wado_stream *s, char tail[64])
{
    int n = s->metadata ? snprintf(tail, 64, "%s", s->sent ? "]" : "[]")
                        : snprintf(tail, 64, "\r\n--%s--\r\n", s->boundary);
    return n > 0 ? (size_t)n : 0;
}

/* Prepare what comes next; false at the end. */
static bool advance(wado_stream *s)
{
    while (s->next < s->n) {
        const gw_dw_item *it = &s->items[s->next++];
        if (s->metadata ? next_metadata(s, it) : s->render ? next_rendered(s, it) : next_instance(s, it)) {
            s->sent++;
            return true;
        }
        if (s->failed)
            return false;
        s->skipped++; /* a file gone since the catalog named it: the others still go */
    }
    if (s->ended)
        return false;
    s->ended = true;
    char tail[64];
    end_text(s, tail);
    return set_cur(s, tail, NULL, 0);
}

/* The next bytes of the answer into buf (at most max): part of cur or of
 * the file; 0 when both are done. */
static long step(wado_stream *s, char *buf, size_t max)
{
    if (s->cur_off < s->cur_len) {
        size_t k = s->cur_len - s->cur_off < max ? s->cur_len - s->cur_off : max;
        memcpy(buf, s->cur + s->cur_off, k);
        s->cur_off += k;
        return (long)k;
    }
    if (s->fd < 0)
        return 0;
    ssize_t k = s->left ? read(s->fd, buf, s->left < max ? (size_t)s->left : max) : 0;
    if (k > 0) {
        s->left -= (uint64_t)k;
        return (long)k;
    }
    close(s->fd);
    s->fd = -1;
    /* a part already begun cannot be mended; nor a file shorter than its counted size */
    s->failed = k < 0 || (s->counted && s->left);
    return 0;
}

/* Fill buf across parts: one send per block, not one per part header. */
static long stream_read(void *ctx, char *buf, size_t max)
{
    wado_stream *s = ctx;
    size_t got = 0;
    while (got < max && !s->failed) {
        long k = step(s, buf + got, max - got);
        if (k > 0)
            got += (size_t)k;
        else if (!s->failed && !advance(s) && !s->failed) /* step gives 0 once the part is all sent */
            return got ? (long)got : HTTP_STREAM_END;
    }
    if (s->failed && !got)
        gw_log(s->g, "warn", "wado_cut", "instances=%zu (an archive file changed or failed while sent)", s->sent);
    return got ? (long)got : HTTP_STREAM_ERROR;
}

/* The length of an answer of instances all sent as stored, from the
 * catalog's sizes (each file is checked against them when it is opened,
 * not stat'ed here: no walk of every path before the first byte) and the
 * part headers. HTTP_SIZE_UNKNOWN for any other answer (metadata,
 * rendered, re-encoded, a size not known): it goes chunked. */
static uint64_t stored_length(wado_stream *s)
{
    if (s->metadata || s->render)
        return HTTP_SIZE_UNKNOWN;
    uint64_t total = 0;
    for (size_t i = 0; i < s->n; i++) {
        char head[256];
        if (!as_stored(s, &s->items[i]) || s->items[i].bytes < 0)
            return HTTP_SIZE_UNKNOWN;
        total += part_head(s, &s->items[i], head) + (uint64_t)s->items[i].bytes;
    }
    char tail[64];
    s->counted = true;
    return total + end_text(s, tail);
}

/* Whether every instance can be sent in ts: as stored, or re-encoded to an
 * uncompressed syntax (compressed ones decoded by src/pixel). */
static bool can_send(const gw_dw_item *items, size_t n, const char *ts)
{
    if (!*ts || strcmp(ts, EXPLICIT_LE) == 0 || strcmp(ts, IMPLICIT_LE) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].ts, ts) != 0)
            return false;
    return true;
}

/* Answer 200 with the stream of items (takes them): DICOM parts in ts (""
 * as stored), metadata, or rendered first frames when v is given. */
static void start(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n, bool metadata, const char *ts,
                  const gw_dw_view *v)
{
    wado_stream *s = calloc(1, sizeof *s);
    if (!s) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, 500, "out of memory");
    }
    *s = (wado_stream){.g = r->g, .items = items, .n = n, .metadata = metadata, .fd = -1, .dirfd = -1,
                       .render = v != NULL};
    if (v)
        s->view = *v;
    snprintf(s->want, sizeof s->want, "%s", ts);
    snprintf(s->base, sizeof s->base, "%s", t->base);
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(s->boundary, sizeof s->boundary, rnd, sizeof rnd);
    char ctype[160];
    if (metadata)
        snprintf(ctype, sizeof ctype, "application/dicom+json");
    else if (v)
        snprintf(ctype, sizeof ctype, "multipart/related; type=\"%s\"; boundary=%s", v->jpeg ? "image/jpeg" : "image/png",
                 s->boundary);
    else
        snprintf(ctype, sizeof ctype, "multipart/related; type=\"application/dicom\"; boundary=%s", s->boundary);
    http_add_header(r->http, "Content-Type", ctype);
    http_respond_stream(r->http, 200, NULL, stored_length(s), stream_read, s, stream_done);
}

void gw_dw_retrieve(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n, bool metadata)
{
    char ts[65];
    if (!gw_dw_accepts(r, metadata ? "application/dicom+json" : "application/dicom", ts) &&
        !(metadata && gw_dw_accepts(r, "application/json", ts))) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, 406, "%s", metadata ? "metadata is sent as application/dicom+json"
                                                    : "instances are sent as multipart/related; type=\"application/dicom\"");
    }
    if (!metadata && strcmp(ts, "*") != 0 && !*ts)
        snprintf(ts, sizeof ts, "%s", EXPLICIT_LE); /* PS3.18 8.7.3.5.2: the default */
    if (strcmp(ts, "*") == 0)
        *ts = '\0';
    if (!metadata && !can_send(items, n, ts)) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, 406, "transfer syntax %s: this archive sends instances as stored "
                                     "(transfer-syntax=*) or as Explicit or Implicit VR Little Endian", ts);
    }
    char target[200];
    snprintf(target, sizeof target, "%s%s%s%s%s", t->project ? t->project : "", t->project ? "/" : "", t->study,
             t->series ? "/" : "", t->series ? t->series : "");
    if (!metadata && !t->instance && gw_audit_req(r, "dicomweb_retrieve", target) != DQR_OK) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, 500, "the audit log cannot be written, so no retrieval");
    }
    start(r, t, items, n, metadata, ts, NULL);
}

void gw_dw_stream(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n, const gw_dw_view *v)
{
    start(r, t, items, n, false, "", v);
}

/* wado.c — retrieving a study from a DICOMweb PACS (WADO-RS, PS3.18 10.4):
 * GET {url}/studies/{uid} (or .../series/{uid} per chosen series) as
 * multipart/related; type="application/dicom". The answer is cut into its
 * parts as it arrives; each part, a Part 10 instance, goes to the instance
 * pool like one received by C-MOVE. Only one part is held at a time. */
#include "gateway/import.h"
#include "web/client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parts {
    gw *g;
    gw_job *j;
    char delim[200]; /* "\r\n--" + boundary */
    size_t dlen;
    uint8_t *buf;
    size_t len, cap, scanned;
    bool started, failed;
    int count;
} parts;

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t m)
{
    return m <= n ? memmem(hay, n, needle, m) : NULL;
}

/* One whole part (headers, blank line, body): hand its body on. */
static void take_part(parts *p, const uint8_t *part, size_t n)
{
    const uint8_t *body = find(part, n, "\r\n\r\n", 4);
    if (!body)
        return;
    size_t hlen = (size_t)(body - part);
    body += 4;
    char head[1024];
    snprintf(head, sizeof head, "%.*s", (int)(hlen < sizeof head - 1 ? hlen : sizeof head - 1), (const char *)part);
    if (strcasestr(head, "content-type") && !strcasestr(head, "application/dicom"))
        return; /* not an instance (a PACS may add others): skip */
    p->count++;
    if (!gw_pool_submit(p->g->pool, p->j, body, n - hlen - 4))
        p->failed = true;
}

static int on_data(void *ctx, const uint8_t *data, size_t n)
{
    parts *p = ctx;
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 1u << 20;
        while (cap < p->len + n)
            cap *= 2;
        if (cap > ((size_t)2 << 30))
            return 1; /* one instance over 2 GiB: refuse */
        uint8_t *b = realloc(p->buf, cap);
        if (!b)
            return 1;
        p->buf = b, p->cap = cap;
    }
    memcpy(p->buf + p->len, data, n);
    p->len += n;
    for (;;) {
        /* The first line that starts with "--" names the boundary (the
         * body opens with it; a preamble before it is skipped). */
        if (!p->started) {
            const uint8_t *eol = find(p->buf, p->len, "\r\n", 2);
            if (!eol)
                return p->len > 4096; /* no line in 4 KiB: not multipart */
            size_t line = (size_t)(eol - p->buf);
            if (line > 2 && line < 190 && p->buf[0] == '-' && p->buf[1] == '-') {
                p->dlen = (size_t)snprintf(p->delim, sizeof p->delim, "\r\n%.*s", (int)line, (const char *)p->buf);
                p->started = true;
            }
            memmove(p->buf, p->buf + line, p->len - line); /* keep the CRLF: parts start after it */
            p->len -= line, p->scanned = 0;
            if (!p->started && p->len >= 2) { /* a preamble line: drop its CRLF too */
                memmove(p->buf, p->buf + 2, p->len - 2);
                p->len -= 2;
            }
            continue;
        }
        size_t from = p->scanned > p->dlen ? p->scanned - p->dlen : 0;
        const uint8_t *end = find(p->buf + from, p->len - from, p->delim, p->dlen);
        if (!end) {
            p->scanned = p->len;
            return 0;
        }
        size_t at = (size_t)(end - p->buf);
        /* the part starts after the CRLF that ends the delimiter line */
        const uint8_t *start = p->buf;
        if (p->len >= 2 && start[0] == '\r' && start[1] == '\n')
            start += 2;
        take_part(p, start, at - (size_t)(start - p->buf));
        size_t skip = at + p->dlen;
        memmove(p->buf, p->buf + skip, p->len - skip);
        p->len -= skip, p->scanned = 0;
    }
}

static char *wado_url(const gw_pacs *p, const gw_job *j, size_t i)
{
    size_t bl = strlen(p->url);
    while (bl && p->url[bl - 1] == '/')
        bl--;
    char *url = NULL;
    const char *series = j->series ? json_string_value(json_array_get(j->series, i)) : NULL;
    int n = series ? asprintf(&url, "%.*s/studies/%s/series/%s", (int)bl, p->url, j->study_uid, series)
                   : asprintf(&url, "%.*s/studies/%s", (int)bl, p->url, j->study_uid);
    return n < 0 ? NULL : url;
}

dqr_status gw_wado_retrieve(gw *g, gw_job *j, const gw_pacs *p, int *expected, dqr_error *err)
{
    char *pw = *p->username ? gw_pacs_password(g, p->id) : NULL;
    size_t n = j->series ? json_array_size(j->series) : 1;
    dqr_status st = DQR_OK;
    for (size_t i = 0; i < n && st == DQR_OK && !atomic_load(&j->cancel) && !g->stopping; i++) {
        char *url = wado_url(p, j, i), ct[512] = "";
        parts pt = {.g = g, .j = j};
        http_get req = {.url = url, .accept = "multipart/related; type=\"application/dicom\"",
                        .user = *p->username ? p->username : NULL, .password = pw, .timeout_s = g->cfg.query_timeout};
        http_answer ans;
        st = url ? http_get_stream(&req, on_data, &pt, &ans, ct, sizeof ct, err)
                 : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        if (st == DQR_OK && !pt.started && ans.status != 204)
            st = dqr_error_set(err, DQR_E_PARSE, "the answer is not multipart/related (Content-Type %s)", ct);
        if (st == DQR_OK && pt.len > 0 && pt.started)
            take_part(&pt, pt.buf, pt.len); /* a body without a closing delimiter: keep what came */
        if (st == DQR_OK && pt.failed)
            st = dqr_error_set(err, DQR_E_NOMEM, "out of memory holding an instance");
        *expected += pt.count;
        free(pt.buf);
        free(url);
    }
    gw_wipe(pw);
    if (st != DQR_OK)
        dqr_error_prefix(err, "PACS %s (WADO-RS): ", p->label);
    return st;
}

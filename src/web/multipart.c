/* multipart.c — the streaming multipart/related reader. */
#include "web/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_multipart_init(http_multipart *m, http_part_fn fn, void *ctx)
{
    memset(m, 0, sizeof *m);
    m->fn = fn, m->ctx = ctx;
}

static const uint8_t *find(const uint8_t *hay, size_t n, const char *needle, size_t k)
{
    return k <= n ? memmem(hay, n, needle, k) : NULL;
}

static void drop(http_multipart *m, size_t k)
{
    memmove(m->buf, m->buf + k, m->len - k);
    m->len -= k, m->scanned = 0;
}

/* One whole part: CRLF, headers, blank line, body. */
static int hand_on(http_multipart *m, const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2, n -= 2;
    const uint8_t *body = find(p, n, "\r\n\r\n", 4);
    size_t hlen = body ? (size_t)(body - p) : 0;
    if (!body) { /* no headers at all: the blank line comes first */
        if (n >= 2 && p[0] == '\r' && p[1] == '\n')
            body = p + 2;
        else
            return 0; /* nothing usable (the closing "--") */
    } else {
        body += 4;
    }
    m->parts++;
    return m->fn(m->ctx, (const char *)p, hlen, body, n - (size_t)(body - p));
}

/* The first line that starts with "--" names the boundary. */
static int learn_boundary(http_multipart *m)
{
    const uint8_t *eol = find(m->buf, m->len, "\r\n", 2);
    if (!eol)
        return m->len > 4096 ? -1 : 1; /* -1: not multipart; 1: need more */
    size_t line = (size_t)(eol - m->buf);
    if (line > 2 && line < sizeof m->delim - 3 && m->buf[0] == '-' && m->buf[1] == '-') {
        m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n%.*s", (int)line, (const char *)m->buf);
        m->started = true;
        drop(m, line); /* the CRLF stays: parts begin with it */
    } else {
        drop(m, line + 2); /* a preamble line */
    }
    return 0;
}

int http_multipart_feed(http_multipart *m, const uint8_t *data, size_t n)
{
    size_t max = m->max_part ? m->max_part : ((size_t)2 << 30);
    if (m->stopped)
        return 1;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 65536;
        while (cap < m->len + n)
            cap *= 2;
        uint8_t *b = m->len + n > max + sizeof m->delim ? NULL : realloc(m->buf, cap);
        if (!b)
            return m->stopped = true, 1;
        m->buf = b, m->cap = cap;
    }
    memcpy(m->buf + m->len, data, n);
    m->len += n;
    while (!m->stopped) {
        if (!m->started) {
            int r = learn_boundary(m);
            if (r < 0)
                return m->stopped = true, 1;
            if (r > 0)
                return 0;
            continue;
        }
        size_t from = m->scanned > m->dlen ? m->scanned - m->dlen : 0;
        const uint8_t *end = find(m->buf + from, m->len - from, m->delim, m->dlen);
        if (!end) {
            m->scanned = m->len;
            return 0;
        }
        size_t at = (size_t)(end - m->buf);
        if (hand_on(m, m->buf, at) != 0)
            m->stopped = true;
        drop(m, at + m->dlen);
    }
    return 1;
}

bool http_multipart_finish(http_multipart *m)
{
    if (m->started && !m->stopped && m->len > 0)
        hand_on(m, m->buf, m->len);
    free(m->buf);
    m->buf = NULL, m->len = m->cap = 0;
    return m->started;
}

/* client.c — libcurl GET with a bounded, parsed JSON answer. */
#include "web/client.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_client_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_client_cleanup(void)
{
    curl_global_cleanup();
}

typedef struct buf {
    char *data;
    size_t len, cap, max;
    char *warning;
} buf;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf *b = ctx;
    size_t add = size * n;
    if (b->len + add > b->max)
        return 0; /* makes curl fail: too large */
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16384;
        while (cap < b->len + add + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d, b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    buf *b = ctx;
    size_t len = size * n;
    if (len > 8 && strncasecmp(p, "Warning:", 8) == 0) {
        size_t k = len - 8;
        while (k && (p[8 + k - 1] == '\r' || p[8 + k - 1] == '\n'))
            k--;
        if (k > 255)
            k = 255;
        memcpy(b->warning, p + 8, k);
        b->warning[k] = '\0';
    }
    return len;
}

/* The host part of url, for messages (credentials and query left out). */
static void host_of(const char *url, char *out, size_t n)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    const char *at = strchr(s, '@'), *end = s + strcspn(s, "/?");
    if (at && at < end)
        s = at + 1;
    snprintf(out, n, "%.*s", (int)(end - s), s);
}

typedef struct stream {
    http_data_fn fn;
    void *ctx;
    bool stopped;
} stream;

static size_t on_stream(char *p, size_t size, size_t n, void *ctx)
{
    stream *st = ctx;
    if (st->fn(st->ctx, (const uint8_t *)p, size * n) != 0) {
        st->stopped = true;
        return 0;
    }
    return size * n;
}

/* One GET: body to write_fn(write_ctx), headers to b (Warning, Content-Type). */
static CURLcode perform(const http_get *req, curl_write_callback write_fn, void *write_ctx, buf *b, long *status,
                        char *content_type, size_t ct_len)
{
    CURL *c = curl_easy_init();
    if (!c)
        return CURLE_OUT_OF_MEMORY;
    struct curl_slist *h = NULL;
    char accept[128];
    snprintf(accept, sizeof accept, "Accept: %s", req->accept ? req->accept : "application/json");
    h = curl_slist_append(h, accept);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_fn);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, write_ctx);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
    long t = req->timeout_s ? req->timeout_s : 30;
    if (write_fn == on_stream) { /* a long answer: fail only when it stalls */
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, t);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, t);
    } else {
        curl_easy_setopt(c, CURLOPT_TIMEOUT, t);
    }
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (req->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, req->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, req->password ? req->password : "");
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    const char *ct = NULL;
    if (content_type && curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK)
        snprintf(content_type, ct_len, "%s", ct ? ct : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

/* The failure of a finished GET, if any. */
static dqr_status outcome(const http_get *req, CURLcode rc, long status, bool too_large, dqr_error *err)
{
    char host[256];
    host_of(req->url, host, sizeof host);
    if (rc != CURLE_OK)
        return dqr_error_set(err, DQR_E_IO, "%s: %s", host,
                             rc == CURLE_WRITE_ERROR && too_large ? "answer too large" : curl_easy_strerror(rc));
    if (status >= 400)
        return dqr_error_set(err, DQR_E_IO, "%s answered HTTP %ld%s", host, status,
                             status == 401 || status == 403 ? " (check the PACS's user name and password)" : "");
    return DQR_OK;
}

dqr_status http_get_json(const http_get *req, http_answer *out, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    buf b = {.max = req->max_bytes ? req->max_bytes : (size_t)64 << 20, .warning = out->warning};
    CURLcode rc = perform(req, on_body, &b, &b, &out->status, NULL, 0);
    dqr_status st = outcome(req, rc, out->status, true, err);
    char host[256];
    host_of(req->url, host, sizeof host);
    if (st == DQR_OK && b.len) {
        json_error_t je;
        out->json = json_loadb(b.data, b.len, 0, &je);
        if (!out->json)
            st = dqr_error_set(err, DQR_E_PARSE, "%s: the answer is not JSON (line %d: %s)", host, je.line, je.text);
    }
    free(b.data);
    return st;
}

dqr_status http_get_stream(const http_get *req, http_data_fn fn, void *ctx, http_answer *out, char *content_type,
                           size_t ct_len, dqr_error *err)
{
    memset(out, 0, sizeof *out);
    buf b = {.warning = out->warning};
    stream st = {fn, ctx, false};
    CURLcode rc = perform(req, on_stream, &st, &b, &out->status, content_type, ct_len);
    return outcome(req, rc, out->status, false, err);
}

char *http_escape(const char *s)
{
    /* RFC 3986 lets a query hold sub-delimiters literally; DICOM wildcards
     * (* ?) stay literal because some servers (Orthanc's DICOMweb plugin)
     * match the raw text without decoding %2A. & = + # % and the rest are
     * escaped. */
    static const char keep[] = "-._~*?,:@/!$'();";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr(keep, *p)) {
            *o++ = (char)*p;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = '%', *o++ = hex[*p >> 4], *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* multipart.h — cutting a multipart/related body (RFC 2046) into its parts
 * as it arrives, holding one part at a time: WADO-RS answers are studies of
 * many instances. The boundary is learnt from the body's first delimiter
 * line, so the reader needs no header. */
#ifndef DQR_WEB_MULTIPART_H
#define DQR_WEB_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called with each part's headers (text, not NUL-terminated) and body;
 * non-zero stops the reading. */
typedef int (*http_part_fn)(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len);

typedef struct http_multipart {
    http_part_fn fn;
    void *ctx;
    size_t max_part;   /* a larger part fails the reading (0 = 2 GiB) */
    char delim[200];   /* "\r\n--" + boundary, once known */
    size_t dlen;
    uint8_t *buf;
    size_t len, cap, scanned;
    bool started, stopped;
    int parts;
} http_multipart;

/* Start reading (fn and ctx as given; everything else zero). */
void http_multipart_init(http_multipart *m, http_part_fn fn, void *ctx);
/* Feed the next n bytes; non-zero when the reading cannot go on (no
 * boundary in the first 4 KiB, a part too large, out of memory, fn said
 * stop). */
int http_multipart_feed(http_multipart *m, const uint8_t *data, size_t n);
/* End of body: a last part without its closing delimiter is handed on.
 * Returns whether a boundary was ever seen. Frees the buffer. */
bool http_multipart_finish(http_multipart *m);

#endif

/* fuzz_multipart.c — libFuzzer target for the DICOMweb multipart/related
 * reader (src/web/multipart.c) as a WADO-RS answer reaches it: the body in
 * pieces of a size the first byte sets (delimiters split across reads),
 * parts capped at 4 KiB so the too-large path runs too, and a callback
 * that stops the reading after a number of parts the second byte sets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/multipart.h"

typedef struct seen {
    size_t parts, bytes, stop_after;
} seen;

static int on_part(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len)
{
    seen *s = ctx;
    s->bytes += hlen + len;
    for (size_t i = 0; i < hlen; i++) /* every header byte is readable */
        s->bytes += (unsigned char)headers[i] == 0xFF;
    if (len)
        s->bytes += body[len - 1] & 1;
    return ++s->parts >= s->stop_after;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] % 97 + 1;
    seen s = {.stop_after = (size_t)data[1] % 16 + 1};
    data += 2, size -= 2;
    http_multipart mp;
    http_multipart_init(&mp, on_part, &s);
    mp.max_part = 4096;
    for (size_t at = 0; at < size;) {
        size_t n = at + step > size ? size - at : step;
        if (http_multipart_feed(&mp, data + at, n) != 0)
            break;
        at += n;
    }
    http_multipart_finish(&mp);
    return 0;
}

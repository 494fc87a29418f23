/* stream.h — buffered input for the parser: a memory buffer, a file read with
 * pread, or an inflating (Deflated Explicit VR LE) view of either. Tracks the
 * logical byte position for error messages and deferred values. Internal. */
#ifndef DQR_DICOM_STREAM_H
#define DQR_DICOM_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "dicom/dicom.h"

typedef struct dcm_stream {
    const uint8_t *data; /* buffered bytes: data[start..end) are at position pos */
    size_t start, end;
    uint64_t pos;
    uint64_t size;       /* total length when known, else UINT64_MAX */
    uint8_t *buf;        /* owned buffer (file and inflate modes) */
    size_t cap;
    int fd;              /* file mode: >= 0 */
    struct dcm_stream *inner; /* inflate mode: compressed input */
    z_stream z;
    bool z_done;
    uint64_t inflate_max; /* inflate mode: most bytes it may produce */
} dcm_stream;

void dcm_stream_mem(dcm_stream *st, const void *data, size_t len);
dqr_status dcm_stream_fd(dcm_stream *st, int fd, dqr_error *err);
/* Turn st into an inflating stream of the raw deflate data from its current
 * position on. Positions reported afterwards count inflated bytes. At most
 * max bytes are produced, and past DCM_INFLATE_RATIO_FREE at most
 * DCM_INFLATE_MAX_RATIO per compressed byte read: more is a DQR_E_LIMIT
 * error, so a small "deflate bomb" cannot fill memory. */
dqr_status dcm_stream_inflate(dcm_stream *st, uint64_t max, dqr_error *err);
void dcm_stream_close(dcm_stream *st);

/* Make at least n bytes (n <= 64 KiB) available at data+start. Returns the
 * number available, which is < n only at end of stream. */
size_t dcm_stream_need(dcm_stream *st, size_t n, dqr_error *err);
/* Consume n bytes that dcm_stream_need made available. */
void dcm_stream_advance(dcm_stream *st, size_t n);
/* Copy n bytes out; DQR_E_PARSE if the stream ends first. */
dqr_status dcm_stream_read(dcm_stream *st, void *dst, size_t n, dqr_error *err);
/* Skip n bytes; DQR_E_PARSE if the stream ends first. */
dqr_status dcm_stream_skip(dcm_stream *st, uint64_t n, dqr_error *err);
/* True at end of stream (no byte left). */
bool dcm_stream_eof(dcm_stream *st, dqr_error *err);
/* Bytes left when known (file, memory), else UINT64_MAX. */
uint64_t dcm_stream_remaining(const dcm_stream *st);
/* True if values may be left in the file and read later by offset. */
bool dcm_stream_seekable(const dcm_stream *st);

#endif

/* px_decode.c — test program for the pixel layer: decodes every frame of a
 * file and writes them to stdout for tests/pixel/pixel_conformance.py.
 *
 * Output: one text line "rows columns frames samples bits_allocated
 * bits_stored signed photometric", then each decoded frame's bytes in turn
 * (the layout pixel.h describes). Exit 0 on success, 3 when the file's
 * pixel data cannot be decoded (DQR_E_UNSUPPORTED), 4 when it has none,
 * 1 on any other error; the message goes to stderr.
 *
 * With --rle, each frame is written RLE-encoded by px_rle_encode instead,
 * preceded by its length (4 bytes, little-endian), so another RLE decoder
 * can check the encoder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

/* The frame as RLE, length first; 0 or the exit status of a failure. */
static int write_rle(const px_info *in, const uint8_t *frame)
{
    uint8_t *rle;
    size_t len;
    dqr_error err = {0};
    if (px_rle_encode(in, frame, &rle, &len, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return err.code == DQR_E_UNSUPPORTED ? 3 : 1;
    }
    const uint8_t n[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    fwrite(n, 1, 4, stdout);
    fwrite(rle, 1, len, stdout);
    free(rle);
    return 0;
}

static int fail(const dqr_error *err)
{
    fprintf(stderr, "%s\n", err->message);
    return err->code == DQR_E_UNSUPPORTED ? 3 : err->code == DQR_E_NOTFOUND ? 4 : 1;
}

int main(int argc, char **argv)
{
    bool rle = argc == 3 && strcmp(argv[1], "--rle") == 0;
    if (argc != 2 && !rle) {
        fprintf(stderr, "usage: px_decode [--rle] FILE\n");
        return 2;
    }
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(argv[argc - 1], &err);
    if (!f)
        return fail(&err);
    px_frames *it;
    if (px_frames_open(f, &it, &err)) {
        dcm_file_close(f);
        return fail(&err);
    }
    const px_info *in = px_frames_info(it);
    const uint8_t *data;
    int rc = 0;
    for (uint32_t i = 0; i < in->frames && !rc; i++) {
        if (px_frame_next(it, &data, &err)) {
            rc = fail(&err);
            break;
        }
        if (i == 0)
            printf("%u %u %u %u %u %u %d %s\n", in->rows, in->columns, in->frames, in->samples,
                   in->bits_allocated, in->bits_stored, in->is_signed,
                   px_photometric_name(in->photometric));
        if (rle)
            rc = write_rle(in, data);
        else
            fwrite(data, 1, px_frame_size(in), stdout);
    }
    px_frames_close(it);
    dcm_file_close(f);
    return rc;
}

/* jpeg.c — JPEG Baseline (process 1) and Extended (processes 2 & 4)
 * frames: 8-bit samples decoded with libjpeg(-turbo), 12-bit ones handed
 * to jpeg12.c.
 *
 * Debian's libjpeg62-turbo is built for 8-bit samples only, so the frame
 * header is read first: libjpeg would only report a 12-bit image as a
 * failure. The decoder itself is jpeg_frame.h, shared with jpeg12.c.
 */
#include <stdio.h>

#include <jpeglib.h>

#include "pixel/jpeg_frame.h"

/* The sample precision from the frame header (SOFn), or -1 when there is
 * none; *marker gets the SOF marker (0xC0 baseline, 0xC1 extended, ...). */
static int sof_precision(const uint8_t *in, size_t len, uint8_t *marker)
{
    size_t i = 2;
    while (i + 5 <= len && in[i] == 0xFF) {
        uint8_t m = in[i + 1];
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
            *marker = m;
            return in[i + 4];
        }
        i += 2 + ((size_t)in[i + 2] << 8 | in[i + 3]);
    }
    return -1;
}

dqr_status px_jpeg_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                          px_photometric *photometric, dqr_error *err)
{
    uint8_t marker = 0;
    int precision = sof_precision(in, len, &marker);
    /* 12 bits: extended sequential (SOF1) or progressive (SOF2) Huffman DCT,
     * what the IJG 12-bit build decodes; lossless frames (SOF3) stay with
     * jpeg_lossless.c, arithmetic coding with nobody. */
    if (precision == 12 && (marker == 0xC1 || marker == 0xC2))
        return px_jpeg12_decode(info, in, len, out, photometric, err);
    if (precision != 8 && precision != -1)
        return dqr_error_set(err, DQR_E_UNSUPPORTED,
                             "%d-bit JPEG (SOF marker 0x%02X) cannot be decoded: 8-bit, or 12-bit "
                             "extended or progressive DCT only",
                             precision, marker);
    return jpeg_frame_decode(info, in, len, out, photometric, err);
}

/* jpeg12.c — 12-bit JPEG Extended (process 4) and progressive frames,
 * decoded with GDCM's 12-bit build of the IJG library (libgdcmjpeg12,
 * Debian's libgdcm-dev; its symbols are prefixed gdcmjpeg12_, so it lives
 * beside libjpeg-turbo in one binary). Only its lossy DCT path is used:
 * JPEG Lossless stays with jpeg_lossless.c. The decoder is jpeg_frame.h,
 * compiled here against the 12-bit jpeglib.h (JSAMPLE is a short).
 */
#include <stdio.h>

#include "gdcmjpeg/12/jpeglib.h"

#include "pixel/jpeg_frame.h"

#if BITS_IN_JSAMPLE != 12
#error "gdcmjpeg/12/jpeglib.h is expected to be built for 12-bit samples"
#endif

dqr_status px_jpeg12_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                            px_photometric *photometric, dqr_error *err)
{
    return jpeg_frame_decode(info, in, len, out, photometric, err);
}

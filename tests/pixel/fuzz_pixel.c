/* fuzz_pixel.c — libFuzzer target for the pixel layer: every input that
 * parses as DICOM has its first frames decoded (native, RLE, JPEG family,
 * JPEG-LS, JPEG 2000), and a decoded frame is RLE-encoded and decoded back,
 * which must give the same bytes; then a region is filled through
 * px_edit_attach and the file written, and what was written must read back
 * with the region filled. Frames over 16 MiB (images over 64 MiB for the
 * edit) are skipped to keep runs fast; the layer's own limit
 * (PX_MAX_FRAME_BYTES) is larger. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void rle_round_trip(const px_info *info, const uint8_t *frame)
{
    uint8_t *rle, *back;
    size_t len, n = px_frame_size(info);
    if (px_rle_encode(info, frame, &rle, &len, NULL) != DQR_OK)
        return;
    if ((back = malloc(n))) {
        if (px_rle_decode(info, rle, len, back, NULL) != DQR_OK || memcmp(back, frame, n) != 0)
            abort(); /* our encoder's output must decode to its input */
        free(back);
    }
    free(rle);
}

/* Fill a 3x2 box at (1, 1) with 1 and write: a write that succeeds must
 * give a file whose first frame holds the fill. */
static void edit_round_trip(dcm_file *f, const px_info *info)
{
    if ((uint64_t)px_frame_size(info) * info->frames > (64u << 20) || info->rows < 3 || info->columns < 4)
        return;
    px_edit *e = px_edit_new();
    px_region r = {.left = 1, .top = 1, .right = 4, .bottom = 3, .frame = PX_ALL_FRAMES, .value = {1}};
    uint8_t *out = NULL;
    size_t len;
    if (e && px_edit_add(e, &r, NULL) == DQR_OK && px_edit_attach(f, e, NULL) == DQR_OK &&
        dcm_file_encode(f, NULL, &out, &len, NULL) == DQR_OK) {
        dcm_file *g = dcm_file_parse(out, len, NULL);
        px_frames *it;
        const uint8_t *frame;
        if (!g || px_frames_open(g, &it, NULL) != DQR_OK)
            abort(); /* what the edit wrote must read back */
        if (px_frame_next(it, &frame, NULL) != DQR_OK || px_sample(px_frames_info(it), frame, px_frames_info(it)->columns + 1, 0) != 1)
            abort();
        px_frames_close(it);
        dcm_file_close(g);
    }
    free(out);
    px_edit_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dcm_file *f = dcm_file_parse(data, size, NULL);
    if (!f)
        return 0;
    dcm_dataset *ds = dcm_file_dataset(f);
    px_info info;
    px_frames *it;
    if (px_info_read(ds, &info, NULL) == DQR_OK && px_frame_size(&info) <= (16u << 20) &&
        px_frames_open(f, &it, NULL) == DQR_OK) {
        const uint8_t *frame;
        for (int i = 0; i < 4 && px_frame_next(it, &frame, NULL) == DQR_OK; i++)
            if (i == 0 && px_frames_info(it)->photometric != PX_YBR_FULL_422)
                rle_round_trip(px_frames_info(it), frame);
        px_frames_close(it);
        edit_round_trip(f, &info);
    }
    dcm_file_close(f);
    return 0;
}

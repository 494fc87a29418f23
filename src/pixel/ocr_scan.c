/* ocr_scan.c — the frames of one instance read for burned-in text: which
 * instances are at risk, which frames of a multi-frame are sampled, and the
 * loop render → OCR → filter that phi-scan, anonymize, listen and the
 * gateway's verify step share.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pixel/pixel.h"

bool px_ocr_at_risk(const dcm_dataset *ds, const char *modalities)
{
    char v[64];
    if (dcm_dataset_get_string(ds, DCM_TAG(0x0028, 0x0301), v, sizeof v) && strcasecmp(v, "YES") == 0)
        return true;
    if (!dcm_dataset_get_string(ds, DCM_TAG(0x0008, 0x0060), v, sizeof v) || !*v)
        return true; /* no Modality: nothing says the image is free of text */
    size_t n = strlen(v);
    for (const char *p = modalities; p && *p;) {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ", \t");
        if (len == n && strncasecmp(p, v, n) == 0)
            return true;
        p += len;
    }
    return false;
}

uint32_t px_ocr_sample_frames(uint32_t frames, uint32_t sample, uint32_t *out)
{
    if (!sample || sample >= frames) {
        for (uint32_t i = 0; i < frames; i++)
            out[i] = i;
        return frames;
    }
    if (sample == 1) {
        out[0] = 0;
        return 1;
    }
    /* first, last and evenly between: sample 3 is first, middle, last */
    uint32_t n = 0;
    for (uint32_t k = 0; k < sample; k++) {
        uint32_t f = (uint32_t)((uint64_t)k * (frames - 1) / (sample - 1));
        if (!n || out[n - 1] != f)
            out[n++] = f;
    }
    return n;
}

static dqr_status read_frame(px_ocr *o, px_frames *it, const px_voi *voi, uint32_t index,
                             const px_ocr_filter *filt, px_ocr_words *words, dqr_error *err)
{
    const uint8_t *data;
    px_image img;
    dqr_status st = px_frame_get(it, index, &data, err);
    if (!st)
        st = px_render(px_frames_info(it), px_frames_palette(it), voi, data, NULL, &img, err);
    if (st)
        return st;
    st = px_ocr_read(o, &img, words, err);
    px_image_free(&img);
    if (!st)
        px_ocr_keep_suspect(words, filt);
    return st;
}

dqr_status px_ocr_scan(px_ocr *o, const dcm_file *f, uint32_t sample, const px_ocr_filter *filt,
                       px_ocr_frame_fn fn, void *ctx, dqr_error *err)
{
    px_frames *it;
    dqr_status st = px_frames_open(f, &it, err);
    if (st)
        return st;
    uint32_t frames = px_frames_info(it)->frames ? px_frames_info(it)->frames : 1;
    uint32_t *pick = malloc(sizeof *pick * frames);
    if (!pick) {
        px_frames_close(it);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory choosing frames to read");
    }
    uint32_t n = px_ocr_sample_frames(frames, sample, pick);
    px_voi voi;
    px_voi_read(dcm_file_dataset(f), &voi);
    for (uint32_t i = 0; i < n && !st; i++) {
        px_ocr_words words = {0};
        st = read_frame(o, it, &voi, pick[i], filt, &words, err);
        if (!st && fn(ctx, pick[i], &words) != 0)
            i = n;
        px_ocr_words_free(&words);
    }
    if (st)
        dqr_error_prefix(err, "reading burned-in text: ");
    free(pick);
    px_frames_close(it);
    return st;
}

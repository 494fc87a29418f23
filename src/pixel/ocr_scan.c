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

/* The decoded frame with mask's regions filled, in *copy (grown as needed). */
static dqr_status masked(const px_info *info, const px_edit *mask, uint32_t index, const uint8_t **data,
                         uint8_t **copy, dqr_error *err)
{
    size_t n = px_frame_size(info);
    uint8_t *c = realloc(*copy, n);
    if (!c)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory masking a frame");
    memcpy(c, *data, n);
    px_edit_frame(mask, info, index, c);
    *copy = c;
    *data = c;
    return DQR_OK;
}

static dqr_status read_frame(px_ocr *o, px_frames *it, const px_voi *voi, const px_edit *mask, uint32_t index,
                             const px_ocr_filter *filt, uint8_t **copy, px_ocr_words *words, dqr_error *err)
{
    const uint8_t *data;
    px_image img;
    dqr_status st = px_frame_get(it, index, &data, err);
    if (!st && mask)
        st = masked(px_frames_info(it), mask, index, &data, copy, err);
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
                       const px_edit *mask, px_ocr_frame_fn fn, void *ctx, dqr_error *err)
{
    px_frames *it;
    uint8_t *copy = NULL;
    dqr_status st = px_frames_open(f, &it, err);
    if (!st && mask && (st = px_edit_check(mask, px_frames_info(it), err)))
        px_frames_close(it);
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
        st = read_frame(o, it, &voi, mask, pick[i], filt, &copy, &words, err);
        if (!st && fn(ctx, pick[i], &words) != 0)
            i = n;
        px_ocr_words_free(&words);
    }
    if (st)
        dqr_error_prefix(err, "reading burned-in text: ");
    free(pick);
    free(copy);
    px_frames_close(it);
    return st;
}

void px_ocr_black_box(const px_info *info, const px_ocr_word *w, px_region *r)
{
    int32_t v = 0;
    if (info->photometric == PX_MONOCHROME1)
        v = info->is_signed ? (1 << (info->bits_stored - 1)) - 1 : (int32_t)((1u << info->bits_stored) - 1u);
    else if (info->is_signed && info->samples == 1)
        v = -(1 << (info->bits_stored - 1));
    *r = (px_region){.left = w->left >= 2 ? (int64_t)w->left - 2 : 0,
                     .top = w->top >= 2 ? (int64_t)w->top - 2 : 0,
                     .right = (int64_t)w->left + w->width + 2,
                     .bottom = (int64_t)w->top + w->height + 2,
                     .frame = PX_ALL_FRAMES,
                     .rgb = info->samples == 3,
                     .value = {v, 0, 0}};
}

typedef struct masking {
    px_ocr_frame_fn fn;
    void *ctx;
    const px_info *info;
    px_edit *mask;
    size_t added;
    dqr_status st;
    dqr_error *err;
} masking;

static int mask_words(void *ctx, uint32_t frame, const px_ocr_words *w)
{
    masking *m = ctx;
    for (size_t i = 0; i < w->n && !m->st; i++) {
        px_region r;
        px_ocr_black_box(m->info, &w->v[i], &r);
        m->st = px_edit_add(m->mask, &r, m->err);
        m->added++;
    }
    return m->st ? 1 : m->fn(m->ctx, frame, w);
}

dqr_status px_ocr_mask(px_ocr *o, const dcm_file *f, uint32_t sample, const px_ocr_filter *filt, unsigned rounds,
                       px_edit *mask, px_ocr_frame_fn fn, void *ctx, dqr_error *err)
{
    px_info info;
    dqr_status st = px_info_read(dcm_file_dataset(f), &info, err);
    masking m = {fn, ctx, &info, mask, 0, DQR_OK, err};
    for (unsigned round = 0; !st && round < (rounds ? rounds : 1); round++) {
        size_t before = m.added;
        st = px_ocr_scan(o, f, sample, filt, round ? mask : NULL, mask_words, &m, err);
        st = st ? st : m.st;
        if (m.added == before)
            break;
    }
    return st;
}

dqr_status px_file_as_written(const dcm_file *f, dcm_file **copy, dqr_error *err)
{
    uint8_t *buf;
    size_t len;
    *copy = NULL;
    dqr_status st = dcm_file_encode(f, NULL, &buf, &len, err);
    if (st)
        return st;
    *copy = dcm_file_parse(buf, len, err);
    free(buf);
    return *copy ? DQR_OK : (err && err->code ? err->code : DQR_E_PARSE);
}

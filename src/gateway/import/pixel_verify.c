/* pixel_verify.c — the burned-in text check of the import pipeline
 * (pixel_verify.h).
 *
 * Tesseract engines cost 0.1-0.2 s to start, so they are kept: a worker
 * takes an idle one (or starts one) and gives it back; there are never more
 * than the workers running at once. The words are PHI: they are never
 * logged or stored; what is kept is their boxes (the quarantine rows) and
 * counts. The instance quarantined is the de-identified one with the
 * pixel-cleaning regions filled, sealed with the vault like an unrequested
 * instance, so a reviewer's release only has to mask and archive it.
 */
#include "gateway/import/pixel_verify.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "anon/anon.h"
#include "gateway/import.h"
#include "gateway/internal.h"
#include "pixel/pixel.h"

static px_ocr *take_engine(gw *g, dqr_error *err)
{
    px_ocr *o = NULL;
    pthread_mutex_lock(&g->ocr_lock);
    if (g->nocr_idle)
        o = g->ocr_idle[--g->nocr_idle];
    pthread_mutex_unlock(&g->ocr_lock);
    if (!o && px_ocr_new(NULL, &o, err) != DQR_OK)
        return NULL;
    return o;
}

static void give_engine(gw *g, px_ocr *o)
{
    pthread_mutex_lock(&g->ocr_lock);
    if (g->nocr_idle < (int)(sizeof g->ocr_idle / sizeof *g->ocr_idle)) {
        g->ocr_idle[g->nocr_idle++] = o;
        o = NULL;
    }
    pthread_mutex_unlock(&g->ocr_lock);
    px_ocr_free(o);
}

void gw_ocr_engines_free(gw *g)
{
    pthread_mutex_lock(&g->ocr_lock);
    while (g->nocr_idle)
        px_ocr_free(g->ocr_idle[--g->nocr_idle]);
    pthread_mutex_unlock(&g->ocr_lock);
}

static bool wanted(const gw *g, const dcm_dataset *ds)
{
    if (strcmp(g->cfg.ocr, "off") == 0 || !dcm_dataset_get(ds, DCM_TAG(0x7FE0, 0x0010)))
        return false;
    return strcmp(g->cfg.ocr, "always") == 0 || px_ocr_at_risk(ds, g->cfg.ocr_modalities);
}

/* What the scan found: per frame with words, their boxes. */
typedef struct found {
    json_t *frames; /* [{"frame": n, "boxes": [{left, top, width, height, confidence}]}] */
    uint32_t checked, with_words;
    size_t words;
} found;

static int on_frame(void *ctx, uint32_t frame, const px_ocr_words *w)
{
    found *fd = ctx;
    fd->checked++;
    if (!w->n)
        return 0;
    json_t *boxes = json_array();
    for (size_t i = 0; i < w->n; i++)
        json_array_append_new(boxes, json_pack("{s:i,s:i,s:i,s:i,s:i}", "left", w->v[i].left, "top", w->v[i].top,
                                               "width", w->v[i].width, "height", w->v[i].height, "confidence",
                                               (int)(w->v[i].confidence + 0.5f)));
    json_array_append_new(fd->frames, json_pack("{s:i,s:o}", "frame", frame + 1, "boxes", boxes));
    fd->with_words++;
    fd->words += w->n;
    return 0;
}

/* The pixels as they will be archived: f itself, or, when cleaning regions
 * are attached (filled only as f is written), f written to memory and read
 * back. *copy is then owned by the caller. */
static dqr_status as_archived(dcm_file *f, bool cleaned, dcm_file **copy, dqr_error *err)
{
    *copy = NULL;
    if (!cleaned)
        return DQR_OK;
    uint8_t *buf;
    size_t len;
    dqr_status st = dcm_file_encode(f, NULL, &buf, &len, err);
    if (st)
        return st;
    *copy = dcm_file_parse(buf, len, err);
    free(buf);
    return *copy ? DQR_OK : (err ? err->code : DQR_E_PARSE);
}

static dqr_status scan(gw *g, const dcm_file *f, const px_edit *mask, found *fd, dqr_error *err)
{
    px_ocr_filter filt = {.digits_ok = g->cfg.ocr_digits_ok != 0,
                          .min_confidence = (float)g->cfg.ocr_min_confidence,
                          .extra = g->cfg.ocr_whitelist};
    px_ocr *o = take_engine(g, err);
    if (!o)
        return err ? err->code : DQR_E_NOTFOUND;
    dqr_status st = px_ocr_scan(o, f, (uint32_t)g->cfg.ocr_frames, &filt, mask, on_frame, fd, err);
    give_engine(g, o);
    return st;
}

/* Black, for the image's photometric interpretation: the largest value in
 * MONOCHROME1, the smallest elsewhere. */
static void black(const px_info *info, px_region *r)
{
    int32_t v = 0;
    if (info->photometric == PX_MONOCHROME1)
        v = info->is_signed ? (1 << (info->bits_stored - 1)) - 1 : (int32_t)((1u << info->bits_stored) - 1u);
    else if (info->is_signed && info->samples == 1)
        v = -(1 << (info->bits_stored - 1));
    r->rgb = info->samples == 3;
    r->value[0] = v;
    r->value[1] = r->value[2] = 0;
}

/* Add black boxes, 2 pixels wider than each word of frames[from..], to e,
 * on every frame: a burned-in annotation stands on all frames of a
 * multi-frame, sampled or not. */
static dqr_status add_boxes(px_edit *e, const px_info *info, const json_t *frames, size_t from, dqr_error *err)
{
    dqr_status st = DQR_OK;
    for (size_t i = from; i < json_array_size(frames) && !st; i++) {
        const json_t *boxes = json_object_get(json_array_get(frames, i), "boxes");
        for (size_t k = 0; k < json_array_size(boxes) && !st; k++) {
            const json_t *b = json_array_get(boxes, k);
            int64_t l = json_integer_value(json_object_get(b, "left"));
            int64_t t = json_integer_value(json_object_get(b, "top"));
            px_region r = {.left = l - 2 < 0 ? 0 : l - 2, .top = t - 2 < 0 ? 0 : t - 2,
                           .right = l + json_integer_value(json_object_get(b, "width")) + 2,
                           .bottom = t + json_integer_value(json_object_get(b, "height")) + 2,
                           .frame = PX_ALL_FRAMES};
            black(info, &r);
            st = px_edit_add(e, &r, err);
        }
    }
    return st;
}

/* Mask the words found, read the masked frames again and mask what that
 * finds too (a word crowded by its neighbours is often read only once they
 * are gone), at most three rounds; then attach the boxes to target. */
static dqr_status mask(gw *g, dcm_file *target, const dcm_file *read, found *fd, dqr_error *err)
{
    px_info info;
    dqr_status st = px_info_read(dcm_file_dataset(read), &info, err);
    px_edit *e = st ? NULL : px_edit_new();
    if (!st && !e)
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory masking burned-in text");
    size_t done = 0;
    for (int round = 0; round < 3 && !st && done < json_array_size(fd->frames); round++) {
        st = add_boxes(e, &info, fd->frames, done, err);
        done = json_array_size(fd->frames);
        found more = {.frames = fd->frames}; /* new frames are appended after `done` */
        if (!st)
            st = scan(g, read, e, &more, err);
    }
    if (!st && done < json_array_size(fd->frames))
        st = add_boxes(e, &info, fd->frames, done, err);
    if (!st)
        st = px_edit_attach(target, e, err);
    px_edit_free(e);
    return st;
}

/* Seal the instance as it would be archived and record one row per frame
 * with words. */
static dqr_status quarantine(gw *g, gw_job *j, const dcm_file *f, const found *fd, dqr_error *err)
{
    uint8_t *buf;
    size_t len;
    char name[25];
    dqr_status st = dcm_file_encode(f, NULL, &buf, &len, err);
    if (st)
        return st;
    bool sealed = gw_quarantine_seal(g, buf, len, name);
    free(buf);
    if (!sealed)
        return dqr_error_set(err, DQR_E_IO, "the quarantine could not be written");
    size_t i;
    json_t *fr;
    json_array_foreach(fd->frames, i, fr)
    {
        char *boxes = json_dumps(json_object_get(fr, "boxes"), JSON_COMPACT);
        st = boxes ? store_exec(g->db,
                                "INSERT INTO pixel_quarantine(session_id, project, file, frame, boxes, reason, created) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (store_val[]){STORE_I(j->id), STORE_S(j->project), STORE_S(name),
                                              STORE_I(json_integer_value(json_object_get(fr, "frame"))),
                                              STORE_S(boxes), STORE_S("burned-in text"), STORE_I(time(NULL))},
                                7, NULL, NULL, NULL, err)
                   : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        free(boxes);
        if (st)
            return st;
    }
    gw_log(g, "warn", "ocr_quarantine", "session=%lld file=%s frames=%u words=%zu", (long long)j->id, name,
           fd->with_words, fd->words);
    return DQR_OK;
}

/* The words found meet the policy. *f may become *copy (then *copy is NULL):
 * its pixels are those of f with the cleaning regions filled, and masking
 * f would lose them (one writer hook per file). */
static dqr_status apply(gw *g, gw_job *j, dcm_file **f, dcm_file **copy, found *fd, gw_pixel_verdict *verdict,
                        dqr_error *err)
{
    const dcm_file *read = *copy ? *copy : *f;
    const char *policy = g->cfg.ocr_policy;
    dcm_dataset *ds = dcm_file_dataset(*f);
    if (strcmp(policy, "warn") == 0) {
        /* what a cleaning step marked clean is not: say so */
        dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "YES", NULL);
        gw_log(g, "warn", "ocr_words", "session=%lld frames=%u words=%zu action=archived", (long long)j->id,
               fd->with_words, fd->words);
        *verdict = GW_PX_WARNED;
        return DQR_OK;
    }
    if (strcmp(policy, "mask") == 0) {
        if (*copy) {
            dcm_file_close(*f);
            *f = *copy;
            *copy = NULL;
            ds = dcm_file_dataset(*f);
        }
        uint32_t frames = fd->with_words; /* frames with words in the first reading */
        dqr_status st = mask(g, *f, *f, fd, err);
        fd->with_words = frames;
        if (!st)
            st = anon_mark_pixels_clean(ds, err);
        if (!st)
            atomic_fetch_add(&j->frames_masked, (int)fd->with_words);
        *verdict = GW_PX_MASKED;
        return st;
    }
    dqr_status st = quarantine(g, j, read, fd, err);
    if (!st)
        atomic_fetch_add(&j->frames_refused, (int)fd->with_words);
    *verdict = GW_PX_QUARANTINED;
    return st;
}

dqr_status gw_pixel_verify(gw *g, gw_job *j, dcm_file **f, bool cleaned, gw_pixel_verdict *verdict,
                           dqr_error *err)
{
    *verdict = GW_PX_NOT_READ;
    if (!wanted(g, dcm_file_dataset(*f)))
        return DQR_OK;
    dcm_file *copy;
    found fd = {.frames = json_array()};
    dqr_status st = as_archived(*f, cleaned, &copy, err);
    if (!st)
        st = scan(g, copy ? copy : *f, NULL, &fd, err);
    if (!st)
        atomic_fetch_add(&j->frames_checked, (int)fd.checked);
    if (!st && fd.with_words)
        st = apply(g, j, f, &copy, &fd, verdict, err);
    else if (!st) {
        st = anon_mark_pixels_clean(dcm_file_dataset(*f), err);
        *verdict = GW_PX_CLEAN;
    }
    json_decref(fd.frames);
    dcm_file_close(copy);
    return st;
}

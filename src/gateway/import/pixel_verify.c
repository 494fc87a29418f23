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
#include "gateway/import/job.h"
#include "gateway/internal.h"
#include "gateway/import/receiver.h"
#include "gateway/core/sealed.h"
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

/* What the reading found: per frame with words, their boxes. */
typedef struct found {
    json_t *frames; /* [{"frame": n, "boxes": [{left, top, width, height, confidence}]}], one entry a frame */
    size_t words;
} found;

static json_t *frame_entry(found *fd, uint32_t frame)
{
    size_t i;
    json_t *x;
    json_array_foreach(fd->frames, i, x) if (json_integer_value(json_object_get(x, "frame")) == frame + 1) return x;
    x = json_pack("{s:i,s:[]}", "frame", frame + 1, "boxes");
    json_array_append_new(fd->frames, x);
    return x;
}

static int on_frame(void *ctx, uint32_t frame, const px_ocr_words *w)
{
    found *fd = ctx;
    if (!w->n)
        return 0;
    json_t *boxes = json_object_get(frame_entry(fd, frame), "boxes");
    for (size_t i = 0; i < w->n; i++)
        json_array_append_new(boxes, json_pack("{s:i,s:i,s:i,s:i,s:i}", "left", w->v[i].left, "top", w->v[i].top,
                                               "width", w->v[i].width, "height", w->v[i].height, "confidence",
                                               (int)(w->v[i].confidence + 0.5f)));
    fd->words += w->n;
    return 0;
}

/* The pixels as they will be archived: f itself, or, when cleaning regions
 * are attached (filled only as f is written), a copy as written. */
static dqr_status as_archived(dcm_file *f, bool cleaned, dcm_file **copy, dqr_error *err)
{
    *copy = NULL;
    return cleaned ? px_file_as_written(f, copy, err) : DQR_OK;
}

/* How many frames a reading of f covers (ocr_frames sampling). */
static uint32_t frames_read(const gw *g, const dcm_file *f)
{
    px_info info;
    if (px_info_read(dcm_file_dataset(f), &info, NULL) != DQR_OK)
        return 0;
    uint32_t n = info.frames ? info.frames : 1, s = (uint32_t)g->cfg.ocr_frames;
    return !s || s >= n ? n : s;
}

/* Read f; with mask non-NULL (ocr_policy mask) black boxes over what is
 * found are added to it, re-reading up to three times. */
static dqr_status scan(gw *g, const dcm_file *f, px_edit *mask, found *fd, dqr_error *err)
{
    px_ocr_filter filt = {.digits_ok = g->cfg.ocr_digits_ok != 0,
                          .min_confidence = (float)g->cfg.ocr_min_confidence,
                          .extra = g->cfg.ocr_whitelist};
    px_ocr *o = take_engine(g, err);
    if (!o)
        return err ? err->code : DQR_E_NOTFOUND;
    uint32_t sample = (uint32_t)g->cfg.ocr_frames;
    dqr_status st = mask ? px_ocr_mask(o, f, sample, &filt, 3, mask, on_frame, fd, err)
                         : px_ocr_scan(o, f, sample, &filt, NULL, on_frame, fd, err);
    give_engine(g, o);
    return st;
}

/* Seal the instance as it would be archived and record one row per frame
 * with words. */
static dqr_status quarantine(gw *g, gw_job *j, const dcm_file *f, const found *fd, dqr_error *err)
{
    char name[25];
    dqr_status st = gw_quarantine_seal_file(g, f, name, err);
    if (st)
        return st;
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
    gw_log(g, "warn", "ocr_quarantine", "session=%lld file=%s frames=%zu words=%zu", (long long)j->id, name,
           json_array_size(fd->frames), fd->words);
    return DQR_OK;
}

/* ocr_policy mask: the words' boxes filled as *f is written, *f marked
 * clean. When cleaning regions are attached to *f, *copy (the pixels with
 * them filled) becomes *f: one writer hook per file, and masking *f would
 * lose them. */
static dqr_status mask_words(gw *g, gw_job *j, dcm_file **f, dcm_file **copy, found *fd, gw_pixel_verdict *verdict,
                             dqr_error *err)
{
    px_edit *e = px_edit_new();
    if (!e)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory masking burned-in text");
    dqr_status st = scan(g, *copy ? *copy : *f, e, fd, err);
    if (!st && px_edit_count(e)) {
        if (*copy) {
            dcm_file_close(*f);
            *f = *copy;
            *copy = NULL;
        }
        st = px_edit_attach(*f, e, err);
        atomic_fetch_add(&j->frames_masked, (int)json_array_size(fd->frames));
        *verdict = GW_PX_MASKED;
    } else if (!st) {
        *verdict = GW_PX_CLEAN;
    }
    px_edit_free(e);
    return st;
}

/* ocr_policy warn or refuse, words found in read. */
static dqr_status warn_or_refuse(gw *g, gw_job *j, dcm_file *f, const dcm_file *read, const found *fd,
                                 gw_pixel_verdict *verdict, dqr_error *err)
{
    uint32_t frames = (uint32_t)json_array_size(fd->frames);
    if (strcmp(g->cfg.ocr_policy, "warn") == 0) {
        /* what a cleaning step marked clean is not: say so */
        dcm_dataset_set_string(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "YES", NULL);
        gw_log(g, "warn", "ocr_words", "session=%lld frames=%u words=%zu action=archived", (long long)j->id, frames,
               fd->words);
        *verdict = GW_PX_WARNED;
        return DQR_OK;
    }
    dqr_status st = quarantine(g, j, read, fd, err);
    if (!st)
        atomic_fetch_add(&j->frames_refused, (int)frames);
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
    uint32_t frames = st ? 0 : frames_read(g, copy ? copy : *f);
    if (!st && strcmp(g->cfg.ocr_policy, "mask") == 0) {
        st = mask_words(g, j, f, &copy, &fd, verdict, err);
    } else if (!st && !(st = scan(g, copy ? copy : *f, NULL, &fd, err))) {
        if (json_array_size(fd.frames))
            st = warn_or_refuse(g, j, *f, copy ? copy : *f, &fd, verdict, err);
        else
            *verdict = GW_PX_CLEAN;
    }
    if (!st)
        atomic_fetch_add(&j->frames_checked, (int)frames);
    if (!st && (*verdict == GW_PX_CLEAN || *verdict == GW_PX_MASKED))
        st = anon_mark_pixels_clean(dcm_file_dataset(*f), err);
    json_decref(fd.frames);
    dcm_file_close(copy);
    return st;
}

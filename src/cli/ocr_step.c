/* ocr_step.c — the burned-in text check of `dqr anonymize` and `dqr listen`
 * (--ocr, --ocr-policy, --ocr-whitelist; steps.h), as the gateway's verify
 * step does it (docs/pixel.md, "Burned-in text"): after the pixel cleaning,
 * instances at risk (or all) are read; words found refuse the file, are
 * reported, or are masked. Engines are kept between files, one per thread
 * at most (anonymize runs several). */
#include "cli/steps.h"
#include "pixel/pixel.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct steps_ocr {
    pthread_mutex_t lock;
    px_ocr *idle[64];
    int n;
};

int steps_ocr_option(const dqr_command *self, steps *s, const char *a, const char *val)
{
    if (!val)
        return cli_usage_error(self, "%s needs a value", a), -1;
    if (strcmp(a, "--ocr") == 0) {
        if (strcmp(val, "off") && strcmp(val, "at_risk") && strcmp(val, "always"))
            return cli_usage_error(self, "--ocr is off, at_risk or always, not '%s'", val), -1;
        s->ocr = val;
    } else if (strcmp(a, "--ocr-policy") == 0) {
        if (strcmp(val, "refuse") && strcmp(val, "warn") && strcmp(val, "mask"))
            return cli_usage_error(self, "--ocr-policy is refuse, warn or mask, not '%s'", val), -1;
        s->ocr_policy = val;
    } else {
        s->ocr_whitelist = val;
    }
    return 1;
}

int steps_ocr_start(steps *s)
{
    if (!s->ocr || strcmp(s->ocr, "off") == 0)
        return 0;
    if (!(s->ocr_pool = calloc(1, sizeof *s->ocr_pool)))
        return -1;
    pthread_mutex_init(&s->ocr_pool->lock, NULL);
    return 0;
}

void steps_ocr_free(steps *s)
{
    if (!s->ocr_pool)
        return;
    while (s->ocr_pool->n)
        px_ocr_free(s->ocr_pool->idle[--s->ocr_pool->n]);
    pthread_mutex_destroy(&s->ocr_pool->lock);
    free(s->ocr_pool);
    s->ocr_pool = NULL;
}

static px_ocr *take(struct steps_ocr *p, dqr_error *err)
{
    px_ocr *o = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n)
        o = p->idle[--p->n];
    pthread_mutex_unlock(&p->lock);
    if (!o && px_ocr_new(NULL, &o, err) != DQR_OK)
        return NULL;
    return o;
}

static void give(struct steps_ocr *p, px_ocr *o)
{
    pthread_mutex_lock(&p->lock);
    if (p->n < 64)
        p->idle[p->n++] = o, o = NULL;
    pthread_mutex_unlock(&p->lock);
    px_ocr_free(o);
}

typedef struct tally {
    unsigned frames;
    size_t words;
    uint32_t last; /* last frame counted + 1 */
} tally;

static int count(void *ctx, uint32_t frame, const px_ocr_words *w)
{
    tally *t = ctx;
    if (w->n && t->last != frame + 1) /* px_ocr_mask may see a frame again */
        t->frames++, t->last = frame + 1;
    t->words += w->n;
    return 0;
}

/* Read (and with mask, mask) read; the engine comes from s's pool. */
static dqr_status read_words(const steps *s, const dcm_file *read, px_edit *mask, tally *t, dqr_error *err)
{
    px_ocr_filter filt = {.digits_ok = true, .min_confidence = PX_OCR_MIN_CONFIDENCE, .extra = s->ocr_whitelist};
    px_ocr *o = take(s->ocr_pool, err);
    if (!o)
        return err->code;
    dqr_status st = mask ? px_ocr_mask(o, read, 3, &filt, 3, mask, count, t, err)
                         : px_ocr_scan(o, read, 3, &filt, NULL, count, t, err);
    give(s->ocr_pool, o);
    return st;
}

/* --ocr-policy mask: boxes over the words, filled when *f is written. */
static dqr_status mask_file(const steps *s, dcm_file **f, dcm_file **copy, tally *t, dqr_error *err)
{
    px_edit *e = px_edit_new();
    if (!e)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    dqr_status st = read_words(s, *copy ? *copy : *f, e, t, err);
    if (!st && px_edit_count(e)) {
        if (*copy) { /* one writer hook per file: the copy has the cleaning filled in */
            dcm_file_close(*f);
            *f = *copy;
            *copy = NULL;
        }
        st = px_edit_attach(*f, e, err);
    }
    px_edit_free(e);
    return st;
}

int steps_check_pixels(const steps *s, dcm_file **f, bool cleaned, unsigned *frames, size_t *words, dqr_error *err)
{
    *frames = 0;
    *words = 0;
    dcm_dataset *ds = dcm_file_dataset(*f);
    if (!s->ocr_pool || !dcm_dataset_get(ds, DCM_TAG(0x7FE0, 0x0010)) ||
        (strcmp(s->ocr, "always") && !px_ocr_at_risk(ds, PX_OCR_AT_RISK)))
        return 0;
    dcm_file *copy = NULL;
    tally t = {0};
    bool mask = s->ocr_policy && strcmp(s->ocr_policy, "mask") == 0;
    dqr_status st = cleaned ? px_file_as_written(*f, &copy, err) : DQR_OK;
    if (!st)
        st = mask ? mask_file(s, f, &copy, &t, err) : read_words(s, copy ? copy : *f, NULL, &t, err);
    dcm_file_close(copy);
    *frames = t.frames;
    *words = t.words;
    if (st)
        return -1;
    if (t.words && !mask) {
        if (s->ocr_policy && strcmp(s->ocr_policy, "warn") == 0) {
            dcm_dataset_set_string(dcm_file_dataset(*f), DCM_TAG(0x0028, 0x0301), DCM_VR_CS, "YES", NULL);
            return 0;
        }
        return 1;
    }
    return anon_mark_pixels_clean(dcm_file_dataset(*f), err) == DQR_OK ? 0 : -1;
}

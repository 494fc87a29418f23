/* steps.h — the de-identification options shared by the commands that
 * de-identify (anonymize, listen): --script, --profile, --var, --uid-secret,
 * --lookup, --pixel-rules, and the engine built from them. */
#ifndef DQR_CLI_STEPS_H
#define DQR_CLI_STEPS_H

#include "anon/anon.h"
#include "cli/cli.h"

#define STEPS_MAX 32
#define STEPS_MAX_VARS 64

typedef struct steps {
    char *items[STEPS_MAX]; /* "s:PATH" script or "p:SPEC" profile, in order */
    size_t n;
    const char *vars[STEPS_MAX_VARS];
    size_t nvars;
    const char *secret, *lookup;
    const char *pixel_rules_path;  /* --pixel-rules FILE (CTP DicomPixelAnonymizer format) */
    anon_pixel_rules *pixel_rules; /* compiled by steps_build */
    anon_script *scripts[STEPS_MAX];
    anon_profile *profiles[STEPS_MAX];
    anon_engine *engine;
    const char *ocr, *ocr_policy, *ocr_whitelist; /* --ocr, --ocr-policy, --ocr-whitelist (ocr_step.c) */
    struct steps_ocr *ocr_pool;                    /* idle Tesseract engines, with --ocr on */
} steps;

/* Consume argv[*i] (and its value) if it is one of the options above:
 * 1 taken, 0 not ours, -1 usage error (printed). */
int steps_take(const dqr_command *self, steps *s, int argc, char **argv, int *i);
/* Compile every script and profile and build the engine: a bad one stops
 * everything before any file is read. 0, or -1 (printed). */
int steps_build(steps *s);
/* A session with the --var values set and echo to stdout; NULL on failure. */
anon_session *steps_session(const steps *s);
void steps_free(steps *s);

/* BEFORE anon_session_apply (a script may remove what a signature tests,
 * e.g. Manufacturer): the regions of the --pixel-rules signature ds as read
 * matches, into *matched (NULL when none; px_edit_free it). 0, or -1 with
 * err filled: the file must not be written. */
int steps_match_pixels(const steps *s, const dcm_dataset *ds, px_edit **matched, dqr_error *err);
/* After a successful anon_session_apply on f's dataset: the session's
 * alterPixels regions and those matched before, attached to f to be
 * filled when it is written, and the record (anon_clean_pixels). 0, or -1
 * with err filled: f must not be written. */
int steps_clean_pixels(const anon_session *ss, const px_edit *matched, dcm_file *f, size_t *regions,
                       dqr_error *err);

/* ---- the burned-in text check (ocr_step.c) ---- */

/* --ocr off|at_risk|always (default off), --ocr-policy refuse|warn|mask
 * (default refuse), --ocr-whitelist W,...: 1 taken, -1 usage error. */
int steps_ocr_option(const dqr_command *self, steps *s, const char *a, const char *val);
/* The engines' pool, when --ocr is on (steps_build calls it). */
int steps_ocr_start(steps *s);
void steps_ocr_free(steps *s);
/* After steps_clean_pixels (cleaned: it attached regions): read the frames
 * (first, middle, last) of an instance at risk (the gateway's default
 * ocr_modalities, or Burned In Annotation YES; every instance with
 * --ocr always). 0: write *f (nothing found: marked clean; masked: marked
 * clean, *f may be a new file holding the cleaning; warn: Burned In
 * Annotation YES); 1: words found, refused (not written); -1: failure (err).
 * *frames / *words: frames with words and words found. Thread-safe. */
int steps_check_pixels(const steps *s, dcm_file **f, bool cleaned, unsigned *frames, size_t *words,
                       dqr_error *err);

/* One file through the steps, as dqr anonymize and dqr listen run them:
 * the pixel rules matched on the file as read, the scripts (session s;
 * NULL fails), the regions filled, then the burned-in text check. *px is
 * steps_check_pixels' answer (0 when it did not run: a script failed or
 * rejected), *frames / *words its counts; ANON_FAILED with err on any
 * failure, including pixels that cannot be cleaned. */
anon_result steps_run(const steps *st, anon_session *s, dcm_file **f, int *px, unsigned *frames, size_t *words,
                      dqr_error *err);

#endif

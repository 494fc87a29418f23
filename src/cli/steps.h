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

/* After a successful anon_session_apply on f's dataset: the session's
 * alterPixels regions and the --pixel-rules match, attached to f to be
 * filled when it is written, and the record (anon_clean_pixels). 0, or -1
 * with err filled: f must not be written. */
int steps_clean_pixels(const steps *s, const anon_session *ss, dcm_file *f, dqr_error *err);

#endif

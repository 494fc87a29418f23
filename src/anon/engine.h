/* engine.h — the anon_engine (ordered steps + site settings). Internal. */
#ifndef DQR_ANON_ENGINE_H
#define DQR_ANON_ENGINE_H

#include "anon/anon.h"

typedef struct anon_step {
    const anon_script *script; /* one of the two */
    const anon_profile *profile;
} anon_step;

struct anon_engine {
    anon_settings settings;
    anon_step *steps;
    size_t n, cap;
    struct lookup_entry *lookup; /* lookup[] table: "keyType/key = value" */
    size_t nlookup;
};

typedef struct lookup_entry {
    char *key;   /* "keyType/key" */
    char *value;
} lookup_entry;

/* Apply a profile to ds (profile.c). */
dqr_status anon_profile_apply(const anon_profile *p, const anon_engine *e, dcm_dataset *ds,
                              dqr_error *err);
/* Apply one script (interp.c). */
anon_result anon_script_run(anon_session *s, const anon_script *sc, dcm_dataset *ds, dqr_error *err);

/* A UID derived from uid under the engine's secret: "2.25." + decimal of
 * 128 bits of HMAC-SHA256(secret, prefix || uid). Writes out (>= 64 bytes). */
void anon_secret_uid(const anon_engine *e, const char *root, const char *uid, char out[64]);

#endif

/* fn_uid.c — hashUID, hashUIDList, newUID, mapUID, mapReferencedUIDs. */
#include "anon/interp.h"
#include "anon/valuemap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static dqr_status fn_hash_uid(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v;
    dqr_status st = need_args(s, "hashUID", n, 1, 2);
    if (st || (st = arg_string(s, args, n, 0, &v)))
        return st;
    if (!v) {
        *out = (aval){.kind = V_NULL};
        return DQR_OK;
    }
    char uid[64];
    anon_hash_uid(v, uid);
    *out = val_str(s, uid);
    return DQR_OK;
}

/* Replace each backslash-separated value of every match of paths[] by f(value). */
typedef void (*uid_map)(anon_session *s, const char *value, const char *arg, char out[64]);

typedef struct uid_job {
    anon_session *s;
    uid_map map;
    const char *arg;
    dqr_status st;
} uid_job;

static int map_one(void *ctx, const char *value, char out[ANON_VALUE_MAX])
{
    uid_job *j = ctx;
    j->map(j->s, value, j->arg, out);
    return 0;
}

static int map_values(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    uid_job *j = ctx;
    uint32_t tag = dcm_element_tag(el);
    if (dcm_element_is_sequence(el) || ((DCM_GROUP(tag) & 1) && DCM_ELEM(tag) < 0x100))
        return 0; /* not private creators, not sequences */
    char *text = dcm_element_text(el, NULL);
    if (!text)
        return 0;
    const char *refused;
    char *out = anon_map_values(text, map_one, j, &refused);
    j->st = out ? set_element_text(j->s, ds, tag, dcm_element_vr(el), out)
                : dqr_error_set(j->s->err, DQR_E_NOMEM, "out of memory");
    free(out);
    free(text);
    return j->st != DQR_OK;
}

static void map_hash(anon_session *s, const char *value, const char *arg, char out[64])
{
    (void)s;
    (void)arg;
    anon_hash_uid(value, out);
}

static void map_secret(anon_session *s, const char *value, const char *prefix, char out[64])
{
    anon_secret_uid(s->eng, prefix, value, out);
}

static dqr_status map_path(anon_session *s, const tagpath *p, void *ctx)
{
    (void)s;
    uid_job *job = ctx;
    tp_walk(p, job->s->root, map_values, job);
    return job->st;
}

static dqr_status fn_hash_uid_list(anon_session *s, expr *const *args, size_t n, aval *out)
{
    uid_job job = {s, map_hash, NULL, DQR_OK};
    *out = (aval){.kind = V_VOID};
    for (size_t i = 0; i < n; i++) {
        aval v;
        dqr_status st = eval_arg(s, args[i], &v);
        if (st || (st = for_each_path(s, &v, map_path, &job)))
            return st;
    }
    return DQR_OK;
}

static dqr_status fn_new_uid(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)args;
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return rt_error(s, "newUID: no randomness available");
    char hex[33], uid[64];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    anon_hash_uid(hex, uid); /* a random name through the same UUID formatting */
    *out = val_str(s, uid);
    return need_args(s, "newUID", n, 0, 0);
}

/* mapUID[value, prefix]: the same value and prefix always give the same UID
 * (dqr keys it with the site secret; XNAT keeps a random map per process). */
static dqr_status fn_map_uid(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v, *prefix;
    dqr_status st = need_args(s, "mapUID", n, 2, 2);
    if (st || (st = arg_string(s, args, n, 0, &v)) || (st = arg_string(s, args, n, 1, &prefix)))
        return st;
    if (!prefix) {
        *out = (aval){.kind = V_NULL};
        return DQR_OK;
    }
    /* the reference's MapUIDFunction "happily maps any value including null":
     * a missing attribute gets a UID too (here the one of the empty value) */
    if (!v)
        v = "";
    if (strlen(prefix) > 40)
        return rt_error(s, "mapUID: prefix \"%s\" leaves too little room in a 64-character UID", prefix);
    char uid[64];
    anon_secret_uid(s->eng, prefix, v, uid);
    *out = val_str(s, uid);
    return DQR_OK;
}

static dqr_status fn_map_referenced(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *prefix;
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "mapReferencedUIDs", n, 2, 64);
    if (st || (st = arg_string(s, args, n, 0, &prefix)))
        return st;
    if (!prefix || strlen(prefix) > 40)
        return rt_error(s, "mapReferencedUIDs: the prefix must be a UID root of 40 characters at most");
    uid_job job = {s, map_secret, prefix, DQR_OK};
    for (size_t i = 1; i < n; i++) {
        aval v;
        if ((st = eval(s, args[i], &v)) || (st = for_each_path(s, &v, map_path, &job)))
            return st;
    }
    return DQR_OK;
}

const fn_entry anon_fn_uid[] = {
    {"hashUID", fn_hash_uid}, {"hashUIDList", fn_hash_uid_list}, {"newUID", fn_new_uid},
    {"mapUID", fn_map_uid}, {"mapReferencedUIDs", fn_map_referenced}, {NULL, NULL},
};

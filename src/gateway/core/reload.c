/* reload.c — `systemctl reload` (SIGHUP to `dqr serve`): re-read the
 * settings and apply, without a restart, the ones that are read afresh at
 * each use. Everything else — ports, addresses, TLS files, the catalog,
 * the vault key, the data and log locations, thread counts, guards sized
 * at start — is bound to resources opened at start: a change to such a key
 * is logged as needing a restart and the running value stays. The PACS
 * registry, users, projects and scripts live in the catalog and are read
 * per use, so they are live already and need no reload.
 *
 * The old and new settings are compared through gw_config_print's JSON, so
 * every key (also one added later) is either in the live list below or
 * reported as needing a restart: none is silently ignored. */
#include "gateway/internal.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The integer settings read at each use (by a request, the scheduler's next
 * round, the next retry or purge). */
typedef struct live_key {
    const char *name;
    size_t off;
} live_key;

#define L(f) {#f, offsetof(gw_config, f)}
static const live_key live_keys[] = {
    L(query_max_results),      L(query_timeout),          L(session_hours),
    L(import_poll_seconds),    L(import_retry_seconds),   L(import_max_attempts),
    L(import_move_idle_seconds),
    L(history_retention_days), L(history_purge_seconds),  L(password_min_length),
    L(api_token_max_days),     L(login_window_seconds),   L(login_lockout_seconds),
};
#undef L
#define NLIVE (sizeof live_keys / sizeof live_keys[0])

static const live_key *find_live(const char *name)
{
    for (size_t i = 0; i < NLIVE; i++)
        if (strcmp(live_keys[i].name, name) == 0)
            return &live_keys[i];
    return NULL;
}

/* The settings as a JSON object (NULL when out of memory). */
static json_t *config_json(const gw_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    gw_config_print(cfg, f);
    fclose(f);
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    return o;
}

/* Append name to a comma-separated list held in buf. */
static void list_add(char *buf, size_t size, const char *name)
{
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s", n ? "," : "", name);
}

dqr_status gw_reload(gw *g, const char *path, dqr_error *err)
{
    gw_config next;
    if (gw_config_load(&next, path, err) != DQR_OK) {
        gw_log(g, "warn", "reload_failed", "settings unchanged");
        return err->code;
    }
    json_t *was = config_json(&g->cfg), *now = config_json(&next);
    if (!was || !now) {
        json_decref(was);
        json_decref(now);
        gw_config_free(&next);
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory re-reading the settings");
    }
    char applied[1024] = "", restart[1024] = "";
    const char *name;
    json_t *value;
    json_object_foreach(now, name, value) {
        if (json_equal(value, json_object_get(was, name)))
            continue;
        const live_key *k = find_live(name);
        if (!k) {
            list_add(restart, sizeof restart, name);
            continue;
        }
        /* Other threads read these ints without a lock; an atomic store
         * keeps each read whole (the old or the new value). */
        int v = *(int *)(void *)((char *)&next + k->off);
        __atomic_store_n((int *)(void *)((char *)&g->cfg + k->off), v, __ATOMIC_RELAXED);
        list_add(applied, sizeof applied, name);
    }
    json_decref(was);
    json_decref(now);
    gw_config_free(&next);
    gw_log(g, "info", "reload", "applied=%s", *applied ? applied : "none");
    if (*restart)
        gw_log(g, "warn", "reload_needs_restart", "keys=%s (changed in the file: needs a restart; the running values stay)",
               restart);
    return DQR_OK;
}

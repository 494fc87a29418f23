/* qcache.c — query results kept in memory (never on disk: they are PHI) so
 * a user can page and sort without asking the PACS again. Bounded in count
 * and age; the oldest entry goes first. */
#include "gateway/internal.h"
#include "gateway/pacs/qcache.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { QC_SLOTS = 64, QC_TTL = 30 * 60 };

typedef struct slot {
    char id[33];
    int64_t user;
    time_t at;
    json_t *results, *meta;
} slot;

struct gw_qcache {
    pthread_mutex_t lock;
    slot s[QC_SLOTS];
};

gw_qcache *gw_qcache_new(void)
{
    gw_qcache *c = calloc(1, sizeof *c);
    if (c)
        pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void clear(slot *s)
{
    json_decref(s->results);
    json_decref(s->meta);
    memset(s, 0, sizeof *s);
}

void gw_qcache_free(gw_qcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < QC_SLOTS; i++)
        clear(&c->s[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void gw_qcache_put(gw_qcache *c, int64_t user, json_t *results, json_t *meta, char id[33])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, 33, raw, sizeof raw);
    pthread_mutex_lock(&c->lock);
    int victim = 0;
    for (int i = 0; i < QC_SLOTS; i++) {
        if (!c->s[i].results) {
            victim = i;
            break;
        }
        if (c->s[i].at < c->s[victim].at)
            victim = i;
    }
    clear(&c->s[victim]);
    c->s[victim] = (slot){.user = user, .at = time(NULL), .results = results, .meta = meta};
    memcpy(c->s[victim].id, id, 33);
    pthread_mutex_unlock(&c->lock);
}

bool gw_qcache_get(gw_qcache *c, const char *id, int64_t user, json_t **results, json_t **meta)
{
    bool found = false;
    time_t now = time(NULL);
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < QC_SLOTS; i++) {
        slot *s = &c->s[i];
        if (s->results && now - s->at > QC_TTL)
            clear(s);
        if (s->results && !found && s->user == user && strcmp(s->id, id) == 0) {
            *results = json_incref(s->results);
            *meta = json_incref(s->meta);
            found = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

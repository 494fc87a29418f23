/* query_lists.c — exact searches combined into value-list queries, and the
 * answers given back to the searches they match (query_lists.h says why
 * this never changes an answer). */
#include "gateway/pacs/query_lists.h"

#include <stdlib.h>
#include <string.h>

enum { L_KEYS = 4 };
static const char *const LIST_KEYS[L_KEYS] = {"AccessionNumber", "PatientID", "StudyDate", "PatientBirthDate"};

static int list_key(const char *key)
{
    for (int i = 0; i < L_KEYS; i++)
        if (strcmp(key, LIST_KEYS[i]) == 0)
            return i;
    return -1;
}

/* s without its leading and trailing spaces (insignificant in SH and LO):
 * *len bytes from the returned pointer. */
static const char *trimmed(const char *s, size_t *len)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    *len = n;
    return s;
}

/* A value a list can carry and an answer can be checked against exactly:
 * a date is one YYYYMMDD (no range); text has no wildcard, no list of its
 * own, and is not empty. */
static bool plain(int key, const char *s)
{
    size_t n;
    if (key >= 2)
        return strlen(s) == 8 && strspn(s, "0123456789") == 8;
    trimmed(s, &n);
    return n > 0 && n <= 64 && !strpbrk(s, "*?\\");
}

/* Which list keys job's keys are (bit i: LIST_KEYS[i]); 0 when any key is
 * something else or not plain. */
static unsigned list_mask(const json_t *keys)
{
    unsigned mask = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)keys, key, v)
    {
        int i = list_key(key);
        if (i < 0 || !json_is_string(v) || !plain(i, json_string_value(v)))
            return 0;
        mask |= 1u << i;
    }
    return mask;
}

/* The combined keys of l's members: each key's distinct values, joined by
 * backslashes. */
static json_t *combined_keys(const gw_query_job *jobs, const gw_query_list *l, unsigned mask)
{
    json_t *keys = json_object();
    for (int k = 0; keys && k < L_KEYS; k++) {
        if (!(mask & 1u << k))
            continue;
        json_t *seen = json_object();
        size_t cap = 1, used = 0;
        for (size_t i = 0; i < l->n; i++)
            cap += strlen(json_string_value(json_object_get(jobs[l->members[i]].keys, LIST_KEYS[k]))) + 1;
        char *text = malloc(cap);
        for (size_t i = 0; text && seen && i < l->n; i++) {
            const char *v = json_string_value(json_object_get(jobs[l->members[i]].keys, LIST_KEYS[k]));
            if (json_object_get(seen, v))
                continue;
            json_object_set_new(seen, v, json_true());
            used += (size_t)snprintf(text + used, cap - used, "%s%s", used ? "\\" : "", v);
        }
        if (text && seen)
            json_object_set_new(keys, LIST_KEYS[k], json_string(text));
        else
            json_decref(keys), keys = NULL;
        free(text);
        json_decref(seen);
    }
    return keys;
}

gw_query_list *gw_query_lists(const gw_query_job *jobs, size_t n, size_t *count)
{
    *count = 0;
    unsigned *mask = calloc(n ? n : 1, sizeof *mask);
    gw_query_list *lists = calloc(n / 2 + 16, sizeof *lists);
    for (size_t i = 0; mask && lists && i < n; i++)
        mask[i] = list_mask(jobs[i].keys);
    /* one pass per set of keys (at most 15), members in the file's order */
    for (unsigned m = 1; mask && lists && m < 1u << L_KEYS; m++) {
        gw_query_list *l = NULL;
        for (size_t i = 0; i < n; i++) {
            if (mask[i] != m)
                continue;
            if (!l || l->n == GW_QUERY_LIST_ROWS)
                l = &lists[(*count)++];
            l->members[l->n++] = i;
        }
    }
    size_t kept = 0;
    for (size_t c = 0; lists && c < *count; c++) {
        gw_query_list *l = &lists[c];
        if (l->n < 2 || !(l->job.keys = combined_keys(jobs, l, mask[l->members[0]])))
            continue;
        lists[kept++] = *l;
    }
    free(mask);
    *count = kept;
    if (!kept)
        free(lists), lists = NULL;
    return lists;
}

/* Whether answer carries every value of keys (each a plain list key). */
static bool carries(const json_t *answer, const json_t *keys)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)keys, key, v)
    {
        const char *got = json_string_value(json_object_get(answer, key));
        size_t gl = 0, wl;
        const char *g = got ? trimmed(got, &gl) : NULL, *w = trimmed(json_string_value(v), &wl);
        if (!g || gl != wl || memcmp(g, w, wl) != 0)
            return false;
    }
    return true;
}

void gw_query_lists_share(gw_query_list *l, gw_query_job *jobs, size_t max)
{
    const gw_query_result *qr = &l->job.result;
    if (l->job.status != DQR_OK || qr->truncated || !qr->results)
        return;
    for (size_t i = 0; i < l->n; i++) {
        gw_query_job *job = &jobs[l->members[i]];
        json_t *mine = json_array(), *a;
        size_t k;
        json_array_foreach(qr->results, k, a)
        {
            if (carries(a, job->keys))
                json_array_append_new(mine, json_deep_copy(a));
        }
        size_t got = json_array_size(mine);
        if (got == 0 || got > max) {
            json_decref(mine);
            continue;
        }
        job->result = (gw_query_result){.results = mine, .status = qr->status};
        job->status = DQR_OK;
        job->ms = l->job.ms;
    }
}

void gw_query_lists_free(gw_query_list *lists, size_t count)
{
    for (size_t i = 0; lists && i < count; i++) {
        json_decref((json_t *)lists[i].job.keys);
        json_decref(lists[i].job.result.results);
    }
    free(lists);
}

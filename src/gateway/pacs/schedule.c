/* schedule.c — parsing and checking availability schedules. */
#include "gateway/pacs/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const days[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

void gw_schedule_default(gw_schedule *s, const char *tz)
{
    memset(s, 0, sizeof *s);
    snprintf(s->timezone, sizeof s->timezone, "%s", tz && *tz ? tz : "UTC");
    for (int d = 0; d < 7; d++) {
        s->n[d] = 1;
        s->day[d][0] = (gw_interval){0, 1440, 1, 100};
    }
}

bool gw_timezone_valid(const char *tz)
{
    if (!tz || !*tz || strlen(tz) > 63 || tz[0] == '/' || strstr(tz, ".."))
        return false;
    if (strcmp(tz, "UTC") == 0)
        return true;
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    return access(path, R_OK) == 0;
}

/* "HH:MM" to minutes; 24:00 allowed as an end. -1 if malformed. */
static int minutes(const char *t)
{
    if (!t || strlen(t) != 5 || t[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (t[i] < '0' || t[i] > '9'))
            return -1;
    int h = (t[0] - '0') * 10 + (t[1] - '0'), m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m))
        return -1;
    return h * 60 + m;
}

static void hhmm(int m, char out[6])
{
    unsigned h = (unsigned)(m / 60) % 25u, mm = (unsigned)m % 60u;
    out[0] = (char)('0' + h / 10), out[1] = (char)('0' + h % 10), out[2] = ':';
    out[3] = (char)('0' + mm / 10), out[4] = (char)('0' + mm % 10), out[5] = '\0';
}

static bool int_member(const json_t *o, const char *key, int def, int lo, int hi, int *out)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        *out = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

static int by_start(const void *a, const void *b)
{
    return ((const gw_interval *)a)->start - ((const gw_interval *)b)->start;
}

static bool parse_day(const json_t *list, int d, gw_schedule *s, char *msg, size_t len)
{
    if (!json_is_array(list)) {
        snprintf(msg, len, "%s: a list of intervals was expected", days[d]);
        return false;
    }
    if ((size_t)s->n[d] + json_array_size(list) > GW_SCHED_MAX) {
        snprintf(msg, len, "%s: at most %d intervals a day", days[d], GW_SCHED_MAX);
        return false;
    }
    size_t i;
    const json_t *iv;
    json_array_foreach(list, i, iv)
    {
        gw_interval *x = &s->day[d][s->n[d]];
        const json_t *st = json_object_get(iv, "start"), *en = json_object_get(iv, "end");
        x->start = minutes(json_string_value(st));
        x->end = minutes(json_string_value(en));
        if (!json_is_object(iv) || x->start < 0 || x->end < 0 || x->start >= 1440) {
            snprintf(msg, len, "%s interval %zu: start and end are \"HH:MM\" (end may be \"24:00\")", days[d], i + 1);
            return false;
        }
        if (x->end <= x->start) {
            snprintf(msg, len, "%s interval %zu: end %s is not after start %s", days[d], i + 1,
                     json_string_value(en), json_string_value(st));
            return false;
        }
        if (!int_member(iv, "threads", 1, 1, 64, &x->threads) ||
            !int_member(iv, "utilization", 100, 1, 100, &x->utilization)) {
            snprintf(msg, len, "%s interval %zu: threads is 1 to 64 and utilization 1 to 100 (percent)", days[d],
                     i + 1);
            return false;
        }
        s->n[d]++;
    }
    qsort(s->day[d], (size_t)s->n[d], sizeof(gw_interval), by_start);
    for (int k = 1; k < s->n[d]; k++) {
        const gw_interval *a = &s->day[d][k - 1], *b = &s->day[d][k];
        if (b->start < a->end) {
            char as[6], ae[6], bs[6], be[6];
            hhmm(a->start, as), hhmm(a->end, ae), hhmm(b->start, bs), hhmm(b->end, be);
            snprintf(msg, len, "%s: intervals %s-%s and %s-%s overlap", days[d], as, ae, bs, be);
            return false;
        }
    }
    return true;
}

bool gw_schedule_parse(const json_t *v, gw_schedule *s, char *msg, size_t len)
{
    memset(s, 0, sizeof *s);
    if (!json_is_object(v)) {
        snprintf(msg, len, "the schedule must be a JSON object with \"timezone\" and \"days\"");
        return false;
    }
    const json_t *tz = json_object_get(v, "timezone");
    const char *tzs = tz ? json_string_value(tz) : "UTC";
    if (!tzs || !gw_timezone_valid(tzs)) {
        snprintf(msg, len, "unknown time zone (use a name such as \"Europe/Berlin\" or \"UTC\")");
        return false;
    }
    snprintf(s->timezone, sizeof s->timezone, "%s", tzs);
    const json_t *dl = json_object_get(v, "days");
    if (!json_is_object(dl)) {
        snprintf(msg, len, "\"days\" must be an object such as {\"mon\": [{\"start\": \"08:00\", \"end\": \"18:00\"}]}");
        return false;
    }
    const char *key;
    const json_t *list;
    json_object_foreach((json_t *)dl, key, list)
    {
        int d = 0;
        while (d < 7 && strcmp(days[d], key) != 0)
            d++;
        if (d == 7) {
            snprintf(msg, len, "unknown day '%.20s' (mon, tue, wed, thu, fri, sat, sun)", key);
            return false;
        }
        if (!parse_day(list, d, s, msg, len))
            return false;
    }
    return true;
}

void gw_schedule_stored(const char *text, const char *tz, gw_schedule *s)
{
    json_t *raw = text ? json_loads(text, 0, NULL) : NULL;
    char msg[200];
    if (json_is_object(raw))
        json_object_set_new(raw, "timezone", json_string(tz ? tz : "UTC"));
    if (!json_is_object(raw) || !gw_schedule_parse(raw, s, msg, sizeof msg))
        gw_schedule_default(s, tz);
    json_decref(raw);
}

json_t *gw_schedule_json(const gw_schedule *s)
{
    json_t *dl = json_object();
    for (int d = 0; d < 7; d++) {
        json_t *a = json_array();
        for (int k = 0; k < s->n[d]; k++) {
            char st[6], en[6];
            hhmm(s->day[d][k].start, st), hhmm(s->day[d][k].end, en);
            json_array_append_new(a, json_pack("{s:s,s:s,s:i,s:i}", "start", st, "end", en, "threads",
                                               s->day[d][k].threads, "utilization", s->day[d][k].utilization));
        }
        json_object_set_new(dl, days[d], a);
    }
    return json_pack("{s:s,s:o}", "timezone", s->timezone, "days", dl);
}

const gw_interval *gw_schedule_at(const gw_schedule *s, int wd, int minute)
{
    if (wd < 0 || wd > 6)
        return NULL;
    for (int k = 0; k < s->n[wd]; k++)
        if (minute >= s->day[wd][k].start && minute < s->day[wd][k].end)
            return &s->day[wd][k];
    return NULL;
}

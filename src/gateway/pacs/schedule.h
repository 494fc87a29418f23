/* schedule.h — a PACS's weekly availability schedule, as XNAT DQR admins
 * know it: per weekday, non-overlapping intervals [start, end) in the PACS's
 * time zone, each with `threads` (simultaneous DICOM requests) and
 * `utilization` (percent of the time spent transferring: at 10 %, a transfer
 * that took 1 s is followed by 9 s of waiting). The import scheduler reads
 * it; the REST API stores it as JSON:
 *   {"timezone": "Europe/Berlin",
 *    "days": {"mon": [{"start": "08:00", "end": "18:00", "threads": 2, "utilization": 50}], ...}}
 * A day left out of "days" has no interval: the PACS is not used that day.
 */
#ifndef DQR_GW_SCHEDULE_H
#define DQR_GW_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>

enum { GW_SCHED_MAX = 24 }; /* intervals per day */

typedef struct gw_interval {
    int start, end; /* minutes from midnight, 0..1440, start < end */
    int threads;    /* 1..64 */
    int utilization; /* 1..100 */
} gw_interval;

typedef struct gw_schedule {
    char timezone[64];
    int n[7]; /* per weekday, 0 = Monday */
    gw_interval day[7][GW_SCHED_MAX];
} gw_schedule;

/* Every day one interval 00:00-24:00, 1 thread, 100 %, in tz. */
void gw_schedule_default(gw_schedule *s, const char *tz);

/* Parse and check; on error returns false with a sentence in msg (naming
 * the day and interval, e.g. "mon: 09:00-12:00 overlaps 08:00-10:00"). */
bool gw_schedule_parse(const json_t *v, gw_schedule *s, char *msg, size_t msglen);

/* The schedule as the catalog keeps it: text, the JSON of its days (NULL
 * when none was saved), and tz, the PACS's time zone column. The default
 * schedule in tz when there is none or it does not parse. */
void gw_schedule_stored(const char *text, const char *tz, gw_schedule *s);

/* The schedule as JSON (new reference). */
json_t *gw_schedule_json(const gw_schedule *s);

/* The interval holding weekday wd (0 = Monday) at minute m, or NULL. */
const gw_interval *gw_schedule_at(const gw_schedule *s, int wd, int minute);

/* True when tz names a time zone this machine knows (tzdata). */
bool gw_timezone_valid(const char *tz);

#endif

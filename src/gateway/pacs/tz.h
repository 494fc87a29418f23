/* tz.h — local weekday and time in a named time zone, read from the
 * system's TZif files (/usr/share/zoneinfo), without touching the process's
 * TZ: the scheduler asks for many zones from one thread while others run. */
#ifndef DQR_GW_TZ_H
#define DQR_GW_TZ_H

#include <stdbool.h>
#include <time.h>

/* The UTC offset in seconds of zone tz at t; false if the zone is unknown.
 * "UTC" needs no file. Past the file's last transition (2037 in Debian's
 * files) the last offset holds. */
bool gw_tz_offset(const char *tz, time_t t, long *offset);

/* Weekday (0 = Monday) and minute of the day of t in zone tz. */
bool gw_tz_local(const char *tz, time_t t, int *weekday, int *minute);

#endif

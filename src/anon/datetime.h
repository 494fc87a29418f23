/* datetime.h — date/time shifting for DicomEdit and the Annex E profiles. */
#ifndef DQR_ANON_DATETIME_H
#define DQR_ANON_DATETIME_H

#include <stddef.h>

#define LONG_MIN_DAYS (-2147483647L - 1)

/* Shift a DA or DT value by seconds; out gets the result in the input's
 * precision. Returns 0, or -1 if in is not a valid DA/DT. */
int anon_shift_datetime(const char *in, long long seconds, char *out, size_t cap);

/* Seconds in one unit: years (365 days), days, hours, minutes, seconds
 * (any case). -1 for other units. */
int anon_unit_seconds(const char *unit, long long *out);

/* Days from one YYYYMMDD date to another, or LONG_MIN_DAYS if either is bad. */
long anon_days_between(const char *from_da, const char *to_da);

#endif

/* valuemap.h — rewrite an attribute value by value: the UID replacements and
 * date shifts of the profiles and of the DicomEdit functions share it. Internal. */
#ifndef DQR_ANON_VALUEMAP_H
#define DQR_ANON_VALUEMAP_H

#define ANON_VALUE_MAX 72 /* one mapped value: a UID (64) or a date-time, and a NUL */

/* Map one value into out; return non-zero to refuse it. */
typedef int (*anon_value_fn)(void *ctx, const char *value, char out[ANON_VALUE_MAX]);

/* Map each backslash-separated value of text (empty values dropped, as
 * strtok reads them; text is cut up in place) and join the results with
 * backslashes. Returns a new string (caller frees), or NULL: *refused then
 * points at the value fn refused (inside text), or is NULL when memory ran out. */
char *anon_map_values(char *text, anon_value_fn fn, void *ctx, const char **refused);

#endif

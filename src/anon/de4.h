/* de4.h — the DicomEdit 4 front end: scripts without a version statement
 * (XNAT 1.8/1.9 still run them with its DicomEdit 4 engine) parsed into the
 * same syntax tree as DicomEdit 6, so one interpreter and one record serve
 * both. Internal to src/anon; the language is in docs/dicomedit.md. */
#ifndef DQR_ANON_DE4_H
#define DQR_ANON_DE4_H

#include <stdbool.h>
#include <stddef.h>

#include "anon/script.h"

/* True when text[0..len) is a DicomEdit 4 script: it holds no version
 * statement (the word version and a string, outside strings and comments). */
bool anon_de4_detect(const char *text, size_t len);

/* Parse a DicomEdit 4 script into s->top and set s->version to "4".
 * Errors are "NAME:LINE:COL: DicomEdit 4: ..." (DQR_E_PARSE). */
dqr_status anon_de4_parse(anon_script *s, const char *text, size_t len, dqr_error *err);

#endif

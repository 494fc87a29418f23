/* error.h — the one error object shared by every layer of libdqr.
 *
 * A library function never prints and never exits: it returns a dqr_status
 * and, when the caller passed a dqr_error, fills it with a one-line human
 * message (with byte offset, tag path or file:line:column where relevant).
 * The caller decides whether to print, log or ignore it.
 */
#ifndef DQR_ERROR_H
#define DQR_ERROR_H

#include <stdarg.h>

typedef enum dqr_status {
    DQR_OK = 0,
    DQR_E_IO,          /* read/write/open failed */
    DQR_E_PARSE,       /* malformed input */
    DQR_E_NOMEM,       /* allocation failed */
    DQR_E_USAGE,       /* bad argument from the caller */
    DQR_E_UNSUPPORTED, /* valid input we do not handle */
    DQR_E_NOTFOUND,    /* asked-for item does not exist */
    DQR_E_LIMIT,       /* input exceeds a safety limit (depth, size) */
    DQR_E_NOT_DICOM,   /* the input is not DICOM at all */
    DQR_E_CONFLICT     /* the item already exists (unique name taken) */
} dqr_status;

typedef struct dqr_error {
    dqr_status code;
    char message[512];
} dqr_error;

/* Fill err (may be NULL) with code and a printf-style message; returns code
 * so callers can write `return dqr_error_set(err, DQR_E_IO, "...")`. */
dqr_status dqr_error_set(dqr_error *err, dqr_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context ("file.dcm: " + message). */
void dqr_error_prefix(dqr_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to DQR_OK with an empty message. */
void dqr_error_clear(dqr_error *err);

/* A short English name for a status ("I/O error", "malformed input", ...). */
const char *dqr_status_str(dqr_status code);

#endif

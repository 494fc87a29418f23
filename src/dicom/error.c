/* error.c — dqr_error helpers. */
#include "dicom/error.h"

#include <stdio.h>
#include <string.h>

dqr_status dqr_error_set(dqr_error *err, dqr_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

void dqr_error_prefix(dqr_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char head[256], old[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof old);
    size_t h = strlen(head);
    if (h >= sizeof err->message)
        h = sizeof err->message - 1;
    memcpy(err->message, head, h);
    size_t rest = strnlen(old, sizeof old - 1);
    if (rest > sizeof err->message - 1 - h)
        rest = sizeof err->message - 1 - h; /* cut the tail, keep the context */
    memcpy(err->message + h, old, rest);
    err->message[h + rest] = '\0';
}

void dqr_error_clear(dqr_error *err)
{
    if (err) {
        err->code = DQR_OK;
        err->message[0] = '\0';
    }
}

const char *dqr_status_str(dqr_status code)
{
    switch (code) {
    case DQR_OK: return "success";
    case DQR_E_IO: return "I/O error";
    case DQR_E_PARSE: return "malformed input";
    case DQR_E_NOMEM: return "out of memory";
    case DQR_E_USAGE: return "invalid argument";
    case DQR_E_UNSUPPORTED: return "unsupported";
    case DQR_E_NOTFOUND: return "not found";
    case DQR_E_LIMIT: return "limit exceeded";
    case DQR_E_NOT_DICOM: return "not DICOM";
    case DQR_E_CONFLICT: return "already exists";
    }
    return "unknown error";
}

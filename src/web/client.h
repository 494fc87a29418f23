/* client.h — outgoing HTTP for DICOMweb (libcurl): GET a URL and parse the
 * JSON answer. One easy handle per call, so threads never share one; the
 * program calls http_client_init once before starting threads. */
#ifndef DQR_WEB_CLIENT_H
#define DQR_WEB_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/error.h"

/* curl_global_init; call once, before any thread uses the client. */
void http_client_init(void);
void http_client_cleanup(void);

typedef struct http_get {
    const char *url;
    const char *accept;        /* Accept header, e.g. "application/dicom+json" */
    const char *user, *password; /* HTTP basic credentials, or NULL */
    int timeout_s;             /* whole request (streamed: connecting, and any stall); 0 = 30 */
    size_t max_bytes;          /* answer larger than this fails; 0 = 64 MiB */
} http_get;

typedef struct http_answer {
    long status;
    char warning[256]; /* the Warning header, if any (a PACS may say it cut the list) */
    json_t *json;      /* parsed body (NULL when empty); caller decrefs */
} http_answer;

/* GET and parse. A transport failure or a status >= 400 fails with DQR_E_IO
 * and a message naming the URL's host and the status; a body that is not
 * JSON fails with DQR_E_PARSE. */
dqr_status http_get_json(const http_get *req, http_answer *out, dqr_error *err);

/* Called with each piece of an answer's body as it arrives; non-zero stops
 * the transfer (it then fails). */
typedef int (*http_data_fn)(void *ctx, const uint8_t *data, size_t len);

/* GET req->url and hand the body to fn as it arrives (nothing is held:
 * for large answers). out->json stays NULL; content_type (may be NULL)
 * gets the answer's Content-Type. Failures as http_get_json. */
dqr_status http_get_stream(const http_get *req, http_data_fn fn, void *ctx, http_answer *out, char *content_type,
                           size_t ct_len, dqr_error *err);

/* Percent-encode s for a URL query value, keeping RFC 3986 sub-delimiters
 * and the DICOM wildcards * and ? literal (caller frees). */
char *http_escape(const char *s);

#endif

/* http.h — the HTTP server under the REST API and the web UI (libmicrohttpd,
 * one thread per connection so a handler may block on a PACS).
 *
 * The server gathers each request's body (up to a limit), calls one handler
 * with the whole request, and sends what the handler answered. Routing,
 * authentication and JSON are the gateway's business.
 */
#ifndef DQR_WEB_HTTP_H
#define DQR_WEB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "dicom/error.h"

typedef struct http_server http_server;
typedef struct http_request http_request;

typedef struct http_config {
    const char *addr;          /* IPv4 address to bind; NULL = 127.0.0.1 */
    int port;                  /* 0 picks a free port (see http_server_port) */
    unsigned max_connections;  /* 0 = 512 */
    size_t max_body;           /* bytes; larger bodies get 413; 0 = 1 MiB */
    unsigned timeout_s;        /* idle connection timeout; 0 = 60 */
    unsigned max_per_address;  /* connections from one client address; 0 = no limit */
    unsigned stream_send_buffer; /* SO_SNDBUF (bytes) of a streamed answer of known length; 0 = the kernel's */
    const char *large_prefix;  /* requests whose path starts with this ... */
    size_t max_large_body;     /* ... may send up to this many bytes (uploads); 0 = max_body */
    const char *tls_cert;      /* PEM certificate (chain) file: HTTPS only; NULL/"" = plain HTTP */
    const char *tls_key;       /* PEM private key file (needed with tls_cert; not world-readable) */
} http_config;

/* Called once per complete request, on the connection's thread. It must call
 * http_respond exactly once (a missing answer becomes a 500). */
typedef void (*http_handler_fn)(void *ctx, http_request *req);

/* Start serving. With cfg->tls_cert and tls_key the port speaks HTTPS only
 * (a plain HTTP request fails its TLS handshake and is never answered). A
 * bad TLS setup (one of the two files, an unreadable or world-readable key,
 * a libmicrohttpd without TLS) fails with DQR_E_USAGE and a sentence naming
 * the file; a port that cannot be bound with DQR_E_IO. */
http_server *http_server_start(const http_config *cfg, http_handler_fn fn, void *ctx, dqr_error *err);
/* The bound port. */
int http_server_port(const http_server *s);
/* Whether the server speaks HTTPS. */
int http_server_tls(const http_server *s);
/* Stop accepting, wait for running requests, free. NULL is allowed. */
void http_server_stop(http_server *s);

const char *http_method(const http_request *r);
const char *http_path(const http_request *r);
/* A request header (case-insensitive name) or a ?query argument; NULL if absent. */
const char *http_header(const http_request *r, const char *name);
const char *http_query(const http_request *r, const char *name);
/* The body (NUL-terminated for convenience) and its length. */
const char *http_body(const http_request *r, size_t *len);
/* The client's address as text ("127.0.0.1"). */
const char *http_client(const http_request *r);

/* Add a response header (copied; at most 16). */
void http_add_header(http_request *r, const char *name, const char *value);
/* Answer with status and body; takes ownership of body (malloc'd, may be NULL). */
void http_respond(http_request *r, int status, const char *content_type, char *body, size_t len);
/* Answer with the contents of an open file (streamed, never held in
 * memory); takes ownership of fd. */
void http_respond_file(http_request *r, int status, const char *content_type, int fd, uint64_t size);
/* Streamed answers: fn fills buf with up to max bytes and returns how
 * many, HTTP_STREAM_END after the last, or HTTP_STREAM_ERROR to cut the
 * connection. It runs on the connection's thread after the handler
 * returned, so ctx must own what it needs; done(ctx) is called once when
 * the answer ends (sent or not). size is the whole body's length, sent as
 * Content-Length (then fn is asked for larger blocks, straight into the
 * buffer that is sent, and must give exactly size bytes), or
 * HTTP_SIZE_UNKNOWN: chunked. */
enum { HTTP_STREAM_END = -1, HTTP_STREAM_ERROR = -2 };
#define HTTP_SIZE_UNKNOWN UINT64_MAX
typedef long (*http_stream_fn)(void *ctx, char *buf, size_t max);
void http_respond_stream(http_request *r, int status, const char *content_type, uint64_t size, http_stream_fn fn,
                         void *ctx, void (*done)(void *ctx));
/* Call fn(ctx, name, value) for each ?query argument, in order (a name
 * may repeat); stops when fn returns non-zero. */
typedef int (*http_arg_fn)(void *ctx, const char *name, const char *value);
void http_query_each(const http_request *r, http_arg_fn fn, void *ctx);
/* The status answered so far (0 before http_respond). */
int http_status(const http_request *r);

#endif

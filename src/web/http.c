/* http.c — libmicrohttpd glue: body collection, limits, one handler call,
 * and HTTPS (libmicrohttpd's GnuTLS) when a certificate and key are set.
 *
 * The limits are what keeps one client from locking everybody out: a cap on
 * all connections, a lower one per client address, and a short idle timeout
 * so a half-sent request holds its thread for seconds, not minutes. */
#include "web/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_HEADERS = 16, MAX_PEM = 1 << 20, MAX_OPTIONS = 12 };
/* The block a streamed answer of known length is read into and sent from,
 * per connection: bigger blocks mean fewer reads, sends and polls (a
 * chunked answer is read into the connection's own buffer instead, which
 * libmicrohttpd keeps to its memory limit). */
enum { STREAM_BLOCK = 1 << 20 };
/* The least SO_SNDBUF a streamed answer is given: 32 KiB (about one
 * loopback segment once doubled) stalled an answer for minutes. */
enum { MIN_STREAM_SNDBUF = 128 << 10 };

struct http_server {
    struct MHD_Daemon *d;
    http_handler_fn fn;
    void *ctx;
    size_t max_body;
    char *large_prefix; /* paths allowed max_large_body */
    size_t max_large_body;
    int port;
    int stream_sndbuf; /* 0: the kernel's autotuning */
    char *pem_cert, *pem_key; /* libmicrohttpd keeps pointers to these while it runs */
    size_t pem_key_len;
};

struct http_request {
    struct MHD_Connection *conn;
    const char *method, *path;
    char *body;
    size_t len, cap;
    int too_large;
    char client[64];
    char *hname[MAX_HEADERS], *hvalue[MAX_HEADERS];
    int nheaders;
    int status;
    const char *ctype;
    char *out;
    size_t out_len;
    int fd; /* a file to send instead of out (-1: none) */
    uint64_t fd_size;
    http_stream_fn stream; /* a streamed answer instead of out (NULL: none) */
    uint64_t stream_size;  /* its length, or HTTP_SIZE_UNKNOWN */
    void *stream_ctx;
    void (*stream_done)(void *ctx);
};

static void drop_stream(http_request *r)
{
    if (r->stream && r->stream_done)
        r->stream_done(r->stream_ctx);
    r->stream = NULL, r->stream_ctx = NULL, r->stream_done = NULL;
}

static void request_free(http_request *r)
{
    drop_stream(r);
    if (r->fd >= 0)
        close(r->fd);
    for (int i = 0; i < r->nheaders; i++)
        free(r->hname[i]), free(r->hvalue[i]);
    free(r->body);
    free(r->out);
    free(r);
}

static int append_body(http_request *r, size_t limit, const char *data, size_t n)
{
    if (r->too_large || r->len + n > limit) {
        r->too_large = 1;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return -1;
        r->body = b, r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

static void client_text(struct MHD_Connection *c, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "-");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr, buf, (socklen_t)n);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_request *r = cls;
    long n = r->stream(r->stream_ctx, buf, max);
    if (n == HTTP_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : (ssize_t)n;
}

/* A long streamed answer (a WADO-RS study) gets a fixed, modest socket send
 * buffer: autotuned up to 4 MiB, the sender runs megabytes ahead of the
 * reader, so the bytes it copied into the socket have left the CPU's caches
 * when they are copied out again (on loopback or a LAN: 126 MiB in ~0.65x
 * the time, ~20 % less CPU, with 512 KiB). Over a long path it caps the
 * rate near twice the buffer per round trip: 0 keeps the kernel's. */
static void set_stream_sndbuf(http_request *r, int bytes)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (bytes > 0 && ci)
        (void)setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes); /* a hint: never fatal */
}

static enum MHD_Result send_answer(http_server *s, http_request *r)
{
    if (!r->status) {
        static const char msg[] = "{\"error\":\"the server did not answer this request\"}";
        free(r->out);
        r->out = strdup(msg), r->out_len = r->out ? sizeof msg - 1 : 0;
        r->status = 500, r->ctype = "application/json";
    }
    struct MHD_Response *resp =
        r->stream  ? MHD_create_response_from_callback(r->stream_size == HTTP_SIZE_UNKNOWN ? MHD_SIZE_UNKNOWN
                                                                                       : r->stream_size,
                                                      STREAM_BLOCK, stream_read, r, NULL)
        : r->fd >= 0 ? MHD_create_response_from_fd64(r->fd_size, r->fd)
                     : MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    if (r->stream && r->stream_size != HTTP_SIZE_UNKNOWN)
        set_stream_sndbuf(r, s->stream_sndbuf);
    if (r->stream)
        ; /* the request (freed after the answer ends) keeps the stream's context */
    else if (r->fd >= 0)
        r->fd = -1; /* owned (and closed) by the response now */
    else
        r->out = NULL;
    if (r->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->hname[i], r->hvalue[i]);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **state)
{
    (void)version;
    http_server *s = cls;
    http_request *r = *state;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->fd = -1;
        r->conn = conn, r->method = method, r->path = url;
        client_text(conn, r->client, sizeof r->client);
        *state = r;
        return MHD_YES;
    }
    if (*data_size) {
        bool large = s->large_prefix && strncmp(r->path, s->large_prefix, strlen(s->large_prefix)) == 0;
        if (append_body(r, large && s->max_large_body > s->max_body ? s->max_large_body : s->max_body, data,
                        *data_size) < 0)
            return MHD_NO;
        *data_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        static const char msg[] = "{\"error\":\"request body too large\"}";
        http_respond(r, 413, "application/json", strdup(msg), sizeof msg - 1);
    } else {
        if (!r->body)
            append_body(r, s->max_body, "", 0);
        s->fn(s->ctx, r);
    }
    return send_answer(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    if (*state)
        request_free(*state);
    *state = NULL;
}

/* Read a whole PEM file into a new NUL-terminated string. A key that anyone
 * on the host may read is refused: it would not be a secret. */
static char *read_pem(const char *setting, const char *path, bool secret, size_t *len, dqr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        dqr_error_set(err, DQR_E_USAGE, "%s: cannot read '%s': %s", setting, path,
                      fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (secret && (sb.st_mode & S_IROTH)) {
        dqr_error_set(err, DQR_E_USAGE, "%s: '%s' is readable by every user on this host (chmod o-r it)", setting,
                      path);
        close(fd);
        return NULL;
    }
    char *buf = sb.st_size > 0 && sb.st_size < MAX_PEM ? malloc((size_t)sb.st_size + 1) : NULL;
    ssize_t n = buf ? read(fd, buf, (size_t)sb.st_size) : -1;
    close(fd);
    if (n != sb.st_size || !memchr(buf, '-', (size_t)n)) {
        dqr_error_set(err, DQR_E_USAGE, "%s: '%s' is not a PEM file", setting, path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void server_free(http_server *s)
{
    if (s->pem_key)
        explicit_bzero(s->pem_key, s->pem_key_len);
    free(s->pem_key);
    free(s->pem_cert);
    free(s->large_prefix);
    free(s);
}

/* Load the certificate and key when HTTPS is asked for. */
static dqr_status load_tls(http_server *s, const http_config *cfg, dqr_error *err)
{
    bool cert = cfg->tls_cert && *cfg->tls_cert, key = cfg->tls_key && *cfg->tls_key;
    if (!cert && !key)
        return DQR_OK;
    if (cert != key)
        return dqr_error_set(err, DQR_E_USAGE, "%s is set but %s is not: HTTPS needs both",
                             cert ? "http_tls_cert" : "http_tls_key", cert ? "http_tls_key" : "http_tls_cert");
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return dqr_error_set(err, DQR_E_USAGE, "http_tls_cert: this libmicrohttpd was built without TLS support");
    size_t n;
    if (!(s->pem_cert = read_pem("http_tls_cert", cfg->tls_cert, false, &n, err)) ||
        !(s->pem_key = read_pem("http_tls_key", cfg->tls_key, true, &s->pem_key_len, err)))
        return err->code;
    return DQR_OK;
}

static void option(struct MHD_OptionItem *o, int *n, enum MHD_OPTION what, intptr_t value, void *ptr)
{
    o[(*n)++] = (struct MHD_OptionItem){what, value, ptr};
}

http_server *http_server_start(const http_config *cfg, http_handler_fn fn, void *ctx, dqr_error *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    const char *addr = cfg->addr && *cfg->addr ? cfg->addr : "127.0.0.1";
    if (strcmp(addr, "localhost") == 0)
        addr = "127.0.0.1";
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        dqr_error_set(err, DQR_E_USAGE, "http_addr '%s' is not an IPv4 address", addr);
        return NULL;
    }
    http_server *s = calloc(1, sizeof *s);
    if (!s) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    s->fn = fn, s->ctx = ctx, s->max_body = cfg->max_body ? cfg->max_body : 1 << 20;
    s->max_large_body = cfg->max_large_body;
    unsigned sb = cfg->stream_send_buffer;
    s->stream_sndbuf = !sb ? 0 : sb < MIN_STREAM_SNDBUF ? MIN_STREAM_SNDBUF : sb > INT_MAX / 2 ? INT_MAX / 2 : (int)sb;
    if (cfg->large_prefix && !(s->large_prefix = strdup(cfg->large_prefix))) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        server_free(s);
        return NULL;
    }
    if (load_tls(s, cfg, err) != DQR_OK) {
        server_free(s);
        return NULL;
    }
    struct MHD_OptionItem o[MAX_OPTIONS];
    int n = 0;
    option(o, &n, MHD_OPTION_SOCK_ADDR, 0, &sa);
    option(o, &n, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections ? cfg->max_connections : 512u, NULL);
    option(o, &n, MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 60u, NULL);
    if (cfg->max_per_address)
        option(o, &n, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_address, NULL);
    option(o, &n, MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)(void *)on_completed, s);
    option(o, &n, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
    if (s->pem_cert) {
        option(o, &n, MHD_OPTION_HTTPS_MEM_CERT, 0, s->pem_cert);
        option(o, &n, MHD_OPTION_HTTPS_MEM_KEY, 0, s->pem_key);
        /* TLS 1.2 or later, as on the DICOM side (PS3.15 B.9 profiles) */
        option(o, &n, MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
    }
    option(o, &n, MHD_OPTION_END, 0, NULL);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (s->pem_cert)
        flags |= MHD_USE_TLS;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, o, MHD_OPTION_END);
    if (!s->d) {
        if (s->pem_cert)
            dqr_error_set(err, DQR_E_USAGE,
                          "cannot serve HTTPS on %s:%d: the port is in use, or http_tls_cert '%s' and "
                          "http_tls_key '%s' are not a matching PEM certificate and key",
                          addr, cfg->port, cfg->tls_cert, cfg->tls_key);
        else
            dqr_error_set(err, DQR_E_IO, "cannot listen on %s:%d (address in use, or not allowed)", addr, cfg->port);
        server_free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : cfg->port;
    return s;
}

int http_server_port(const http_server *s)
{
    return s->port;
}

int http_server_tls(const http_server *s)
{
    return s->pem_cert != NULL;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    server_free(s);
}

const char *http_method(const http_request *r)
{
    return r->method;
}

const char *http_path(const http_request *r)
{
    return r->path;
}

const char *http_header(const http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_body(const http_request *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->body ? r->body : "";
}

const char *http_client(const http_request *r)
{
    return r->client;
}

void http_add_header(http_request *r, const char *name, const char *value)
{
    if (r->nheaders == MAX_HEADERS)
        return;
    r->hname[r->nheaders] = strdup(name);
    r->hvalue[r->nheaders] = strdup(value);
    if (r->hname[r->nheaders] && r->hvalue[r->nheaders])
        r->nheaders++;
    else
        free(r->hname[r->nheaders]), free(r->hvalue[r->nheaders]);
}

void http_respond(http_request *r, int status, const char *content_type, char *body, size_t len)
{
    drop_stream(r);
    free(r->out);
    if (r->fd >= 0)
        close(r->fd), r->fd = -1;
    r->status = status, r->ctype = content_type, r->out = body, r->out_len = body ? len : 0;
}

void http_respond_file(http_request *r, int status, const char *content_type, int fd, uint64_t size)
{
    drop_stream(r);
    free(r->out);
    r->out = NULL, r->out_len = 0;
    if (r->fd >= 0)
        close(r->fd);
    r->status = status, r->ctype = content_type, r->fd = fd, r->fd_size = size;
}

void http_respond_stream(http_request *r, int status, const char *content_type, uint64_t size, http_stream_fn fn,
                         void *ctx, void (*done)(void *ctx))
{
    drop_stream(r);
    free(r->out);
    r->out = NULL, r->out_len = 0;
    if (r->fd >= 0)
        close(r->fd), r->fd = -1;
    r->status = status, r->ctype = content_type;
    r->stream = fn, r->stream_ctx = ctx, r->stream_done = done, r->stream_size = size;
}

typedef struct arg_walk {
    http_arg_fn fn;
    void *ctx;
} arg_walk;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    arg_walk *w = cls;
    return w->fn(w->ctx, key, value ? value : "") ? MHD_NO : MHD_YES;
}

void http_query_each(const http_request *r, http_arg_fn fn, void *ctx)
{
    arg_walk w = {fn, ctx};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &w);
}

int http_status(const http_request *r)
{
    return r->status;
}

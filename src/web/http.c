/* http.c — libmicrohttpd glue: body collection, limits, one handler call. */
#include "web/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_HEADERS = 16 };

struct http_server {
    struct MHD_Daemon *d;
    http_handler_fn fn;
    void *ctx;
    size_t max_body;
    int port;
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
};

static void request_free(http_request *r)
{
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

static enum MHD_Result send_answer(http_request *r)
{
    if (!r->status) {
        static const char msg[] = "{\"error\":\"the server did not answer this request\"}";
        free(r->out);
        r->out = strdup(msg), r->out_len = r->out ? sizeof msg - 1 : 0;
        r->status = 500, r->ctype = "application/json";
    }
    struct MHD_Response *resp =
        r->fd >= 0 ? MHD_create_response_from_fd64(r->fd_size, r->fd)
                   : MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    if (r->fd >= 0)
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
        if (append_body(r, s->max_body, data, *data_size) < 0)
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
    return send_answer(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode t)
{
    (void)cls, (void)c, (void)t;
    if (*state)
        request_free(*state);
    *state = NULL;
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
    s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
                            NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections ? cfg->max_connections : 512u,
                            MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 60u,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                            MHD_OPTION_END);
    if (!s->d) {
        dqr_error_set(err, DQR_E_IO, "cannot listen on %s:%d (address in use, or not allowed)", addr, cfg->port);
        free(s);
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

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s);
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
    free(r->out);
    if (r->fd >= 0)
        close(r->fd), r->fd = -1;
    r->status = status, r->ctype = content_type, r->out = body, r->out_len = body ? len : 0;
}

void http_respond_file(http_request *r, int status, const char *content_type, int fd, uint64_t size)
{
    free(r->out);
    r->out = NULL, r->out_len = 0;
    if (r->fd >= 0)
        close(r->fd);
    r->status = status, r->ctype = content_type, r->fd = fd, r->fd_size = size;
}

int http_status(const http_request *r)
{
    return r->status;
}

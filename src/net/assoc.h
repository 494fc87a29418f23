/* assoc.h — the association object shared by assoc.c, dimse.c, server.c. Internal. */
#ifndef DQR_NET_ASSOC_H
#define DQR_NET_ASSOC_H

#include "net/pdu.h"

#include <openssl/ssl.h>

struct net_assoc {
    int fd;
    SSL *ssl;              /* TLS on this association, or NULL */
    SSL_CTX *ssl_ctx;      /* owned when we made it (requestor side) */
    int timeout_s;
    int64_t deadline_ms;   /* while non-zero: reads fail after this (monotonic ms; ARTIM) */
    char peer_addr[48];    /* acceptor side: the peer's IPv4 address ("" as requestor) */
    uint64_t max_instance; /* the largest dataset net_rx_receive keeps in memory (0: 2 GiB) */
    net_params p;          /* negotiated contexts; p.max_pdu = what we receive */
    assoc_info info;       /* the peer's */
    uint32_t send_max;     /* the peer's max PDU length (0 = no limit) */
    uint8_t *rbuf;         /* the PDU being read */
    size_t rcap;
    uint32_t rlen, rpos;
    uint8_t rtype;
    uint8_t *sbuf;         /* the PDV being filled */
    size_t scap, slen;
    int64_t released_ms;   /* when the peer's A-RELEASE-RQ arrived (net_now_ms), 0 before: stamped before the
                              answer, so nothing the peer does after it can come earlier */
};

net_assoc *net_assoc_new(int fd, int timeout_s);
void net_socket_setup(int fd, int timeout_s);
/* A monotonic clock in milliseconds. */
int64_t net_now_ms(void);
/* Reads one PDU into a->rbuf; *type is its type, 0 after an error. */
dqr_status net_read_pdu(net_assoc *a, uint8_t *type, dqr_error *err);
dqr_status net_write_all(net_assoc *a, const void *data, size_t n, dqr_error *err);
dqr_status net_cmd_set_us(dcm_dataset *cmd, uint32_t tag, uint16_t v, dqr_error *err);

/* tls.c */
/* A TLS context for a requestor (client) or an acceptor (server); NULL with err. */
SSL_CTX *net_tls_context(const net_tls *t, bool server, dqr_error *err);
/* Run the TLS handshake on a->fd (client: host names the peer). */
dqr_status net_tls_start(net_assoc *a, SSL_CTX *ctx, bool server, const char *host, dqr_error *err);
/* Read/write through TLS or plain TCP: like recv/send. */
ssize_t net_io_read(net_assoc *a, void *buf, size_t n);
ssize_t net_io_write(net_assoc *a, const void *buf, size_t n);

/* spool.c */
int net_discard(void *ctx, const uint8_t *d, size_t n);
dqr_status net_encode_header(const char *sop_class, const char *sop_inst, const char *ts, const char *src_aet,
                             uint8_t **out, size_t *len);
/* Receive the dataset after a C-STORE-RQ into a new temporary file in dir
 * (name in path) behind a Part 10 header; nothing is left on failure. */
dqr_status net_spool_dataset(net_assoc *a, const char *dir, const char *sop_class, const char *sop_inst,
                             const char *ts, char *path, size_t cap, dqr_error *err);
/* One received C-STORE: the instance as net_received, with the storage its
 * strings and data live in. */
typedef struct net_rx {
    net_received r;
    char cls[65], inst[65], move_aet[17], path[4096];
    uint8_t *mem;
} net_rx;
/* Receive the dataset that follows the C-STORE-RQ cmd (on context pcid) into
 * rx: into a new temporary file in dir, or memory when dir is NULL. On
 * failure nothing is left behind. DQR_E_LIMIT: held in memory, the dataset
 * was larger than a->max_instance (or memory ran out); it was read to its
 * end and dropped, so the association goes on and the caller answers
 * 0xA700. Release with net_rx_free. */
dqr_status net_rx_receive(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, const char *dir, net_rx *rx,
                          dqr_error *err);
/* Free the memory copy and remove the spool file if the callback left it. */
void net_rx_free(net_rx *rx);
dqr_status net_store_respond(net_assoc *a, uint8_t pcid, uint16_t msgid, const char *sop_class,
                             const char *sop_inst, uint16_t status, dqr_error *err);

#endif

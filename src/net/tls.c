/* tls.c — DICOM TLS secure transport (PS3.15 B.1) with OpenSSL: contexts,
 * the handshake, and the read/write the association code goes through. */
#include "net/assoc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

static dqr_status ssl_error(dqr_error *err, const char *what)
{
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return dqr_error_set(err, DQR_E_IO, "TLS: %s%s%s", what, buf[0] ? ": " : "", buf);
}

/* A private key anyone on the host may read is no secret: refuse it. */
static dqr_status key_private(const char *path, dqr_error *err)
{
    struct stat sb;
    if (path && stat(path, &sb) == 0 && (sb.st_mode & S_IROTH))
        return dqr_error_set(err, DQR_E_USAGE, "TLS: the key file '%s' is readable by every user on this host "
                                               "(chmod o-r it)", path);
    return DQR_OK;
}

SSL_CTX *net_tls_context(const net_tls *t, bool server, dqr_error *err)
{
    if (t->cert && key_private(t->key ? t->key : t->cert, err))
        return NULL;
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        ssl_error(err, "cannot make a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (t->cert && (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1 ||
                    SSL_CTX_use_PrivateKey_file(ctx, t->key ? t->key : t->cert, SSL_FILETYPE_PEM) != 1 ||
                    SSL_CTX_check_private_key(ctx) != 1)) {
        ssl_error(err, "cannot load the certificate and key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (server && !t->cert) {
        dqr_error_set(err, DQR_E_USAGE, "TLS: an acceptor needs a certificate and key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t->ca && SSL_CTX_load_verify_locations(ctx, t->ca, NULL) != 1) {
        ssl_error(err, "cannot load the CA certificates");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (server) {
        if (t->ca) /* only clients holding a certificate from these CAs */
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        return ctx;
    }
    /* A requestor that does not check the acceptor talks to whoever answers
     * on the network: verification is the default, not an option. */
    if (!t->ca && !t->insecure && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        ssl_error(err, "cannot load the system trust store");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, t->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    return ctx;
}

/* The requestor's checks: the certificate must name the peer. SSL_set1_host
 * takes an IP address as one (matched against the IP SANs); SNI carries only
 * host names (RFC 6066). */
static dqr_status expect_name(SSL *ssl, const char *name, bool verify, dqr_error *err)
{
    struct in6_addr ip;
    bool literal = inet_pton(AF_INET, name, &ip) == 1 || inet_pton(AF_INET6, name, &ip) == 1;
    if (!literal && SSL_set_tlsext_host_name(ssl, name) != 1)
        return ssl_error(err, "cannot set the server name");
    if (verify) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (SSL_set1_host(ssl, name) != 1)
            return ssl_error(err, "cannot set the name to verify");
    }
    return DQR_OK;
}

dqr_status net_tls_start(net_assoc *a, SSL_CTX *ctx, bool server, const char *host, dqr_error *err)
{
    a->ssl = SSL_new(ctx);
    if (!a->ssl || SSL_set_fd(a->ssl, a->fd) != 1)
        return ssl_error(err, "cannot start");
    const char *name = a->p.tls.name && *a->p.tls.name ? a->p.tls.name : host;
    if (!server && name && expect_name(a->ssl, name, !a->p.tls.insecure, err))
        return err->code;
    int rc = server ? SSL_accept(a->ssl) : SSL_connect(a->ssl);
    if (rc != 1) {
        long v = SSL_get_verify_result(a->ssl);
        if (v != X509_V_OK) {
            ERR_clear_error();
            return dqr_error_set(err, DQR_E_IO, "TLS: the peer's certificate is not trusted: %s%s",
                                 X509_verify_cert_error_string(v),
                                 v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH
                                     ? " (it does not name the host dialled)"
                                     : "");
        }
        return ssl_error(err, "handshake failed");
    }
    return DQR_OK;
}

/* Acknowledge at once what arrives. A peer that leaves Nagle on (DCMTK
 * does unless TCP_NODELAY=1 is in its environment: Orthanc, dcmqrscp)
 * holds a response's second PDU until its first is acknowledged, and a
 * delayed ACK holds that 40 ms: 40 ms lost per C-FIND. Linux turns quick
 * ACKs off again on its own, hence after every read. */
static void ack_now(net_assoc *a)
{
#ifdef TCP_QUICKACK
    int one = 1, saved = errno; /* the read's errno is the one the caller reads */
    setsockopt(a->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    errno = saved;
#else
    (void)a;
#endif
}

ssize_t net_io_read(net_assoc *a, void *buf, size_t n)
{
    if (!a->ssl) {
        ssize_t got = recv(a->fd, buf, n, 0);
        ack_now(a);
        return got;
    }
    int r = SSL_read(a->ssl, buf, n > 0x7FFFFFFF ? 0x7FFFFFFF : (int)n);
    ack_now(a);
    if (r > 0)
        return r;
    int e = SSL_get_error(a->ssl, r);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (e != SSL_ERROR_SYSCALL || errno == 0)
        errno = EPROTO;
    ERR_clear_error();
    return -1;
}

ssize_t net_io_write(net_assoc *a, const void *buf, size_t n)
{
    if (!a->ssl)
        return send(a->fd, buf, n, MSG_NOSIGNAL);
    int w = SSL_write(a->ssl, buf, n > 0x7FFFFFFF ? 0x7FFFFFFF : (int)n);
    if (w > 0)
        return w;
    if (SSL_get_error(a->ssl, w) != SSL_ERROR_SYSCALL || errno == 0)
        errno = EPROTO;
    ERR_clear_error();
    return -1;
}

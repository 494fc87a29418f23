/* listeners.c — dqr's DICOM receivers: one storage SCP per configured
 * receiver (AE, address, port, TLS), each on its own thread, accepting only
 * registered peers (gw_accept_peer) and handing instances to gw_receive. */
#include "gateway/import/listeners.h"
#include "gateway/import/receiver.h"

#include <string.h>

static void *receiver(void *p)
{
    struct net_server *rx = p;
    dqr_error err = {0};
    net_server_run(rx, &err); /* returns when stopped */
    return NULL;
}

static void receiver_log(void *ctx, const char *line)
{
    (void)ctx, (void)line; /* association lines name AEs and UIDs only, but the gateway logs its own events */
}

dqr_status gw_listeners_start(gw *g, dqr_error *err)
{
    char msg[700];
    int n = gw_config_receivers(&g->cfg, g->rxcfg, msg, sizeof msg);
    if (n < 0)
        return dqr_error_set(err, DQR_E_USAGE, "receivers: %s", msg);
    for (int i = 0; i < n; i++) {
        const gw_receiver *c = &g->rxcfg[i];
        const gw_config *k = &g->cfg;
        net_server_config rc = {.aet = c->aet, .bind = c->addr, .port = c->port, .spool_memory = true,
                                .accept = g->qr.accept ? g->qr.accept : gw_accept_peer, .max_assocs = k->dicom_max_associations,
                                .max_per_address = k->dicom_max_per_address, .timeout_s = k->query_timeout,
                                .assoc_timeout_s = k->dicom_assoc_timeout_s, .idle_timeout_s = k->dicom_idle_timeout_s,
                                .max_instance_bytes = (uint64_t)k->max_instance_bytes, .on_store = gw_receive,
                                .on_find = g->qr.find, .on_retrieve = g->qr.retrieve, /* the archive's Q/R SCP */
                                .ctx = g, .log = receiver_log};
        if (*c->tls_cert) /* DICOM TLS only; with a CA, client certificates required */
            rc.tls = (net_tls){.enabled = true, .cert = c->tls_cert, .key = c->tls_key,
                               .ca = *c->tls_ca ? c->tls_ca : NULL};
        net_server *s = net_server_new(&rc, err);
        if (!s) {
            dqr_error_prefix(err, "receiver %s on %s:%d: ", c->aet, c->addr, c->port);
            return err->code;
        }
        if (pthread_create(&g->rx_thread[i], NULL, receiver, s) != 0) {
            net_server_free(s);
            return dqr_error_set(err, DQR_E_IO, "cannot start the receiver thread");
        }
        g->rx[i] = s;
        g->nrx = i + 1;
        gw_log(g, "info", "receiver", "aet=%s addr=%s port=%d%s", c->aet, c->addr, net_server_port(s),
               *c->tls_cert ? (*c->tls_ca ? " tls=mutual" : " tls=server") : "");
    }
    return DQR_OK;
}

bool gw_receiver_known(const gw *g, const char *aet)
{
    for (int i = 0; i < g->nrx; i++)
        if (strcmp(g->rxcfg[i].aet, aet) == 0)
            return true;
    return false;
}

void gw_listeners_stop(gw *g)
{
    for (int i = 0; i < g->nrx; i++) {
        net_server_stop(g->rx[i]);
        pthread_join(g->rx_thread[i], NULL);
        net_server_free(g->rx[i]);
        g->rx[i] = NULL;
    }
    g->nrx = 0;
}

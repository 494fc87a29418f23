/* assoc.h — the association object shared by assoc.c, dimse.c, server.c. Internal. */
#ifndef DQR_NET_ASSOC_H
#define DQR_NET_ASSOC_H

#include "net/pdu.h"

struct net_assoc {
    int fd;
    int timeout_s;
    net_params p;          /* negotiated contexts; p.max_pdu = what we receive */
    assoc_info info;       /* the peer's */
    uint32_t send_max;     /* the peer's max PDU length (0 = no limit) */
    uint8_t *rbuf;         /* the PDU being read */
    size_t rcap;
    uint32_t rlen, rpos;
    uint8_t rtype;
    uint8_t *sbuf;         /* the PDV being filled */
    size_t scap, slen;
    bool released;
};

net_assoc *net_assoc_new(int fd, int timeout_s);
void net_socket_setup(int fd, int timeout_s);
dqr_status net_read_pdu(net_assoc *a, uint8_t *type, dqr_error *err);
dqr_status net_write_all(net_assoc *a, const void *data, size_t n, dqr_error *err);
dqr_status net_cmd_set_us(dcm_dataset *cmd, uint32_t tag, uint16_t v, dqr_error *err);

#endif

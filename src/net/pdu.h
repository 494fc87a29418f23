/* pdu.h — Upper Layer PDUs (PS3.8 section 9.3): build and parse the
 * A-ASSOCIATE-RQ/AC/RJ bodies and the small fixed PDUs. Internal to src/net;
 * kept apart from the socket code so the parser can be fuzzed on its own. */
#ifndef DQR_NET_PDU_H
#define DQR_NET_PDU_H

#include "net/net.h"

enum {
    PDU_ASSOC_RQ = 1, PDU_ASSOC_AC = 2, PDU_ASSOC_RJ = 3, PDU_DATA = 4,
    PDU_RELEASE_RQ = 5, PDU_RELEASE_RP = 6, PDU_ABORT = 7
};

/* Growable byte buffer. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} bytes;

void bytes_put(bytes *b, const void *data, size_t n);
void bytes_u8(bytes *b, uint8_t v);
void bytes_u16(bytes *b, uint16_t v);  /* big endian */
void bytes_u32(bytes *b, uint32_t v);  /* big endian */

/* What an A-ASSOCIATE carries beyond net_params. */
typedef struct assoc_info {
    uint32_t peer_max_pdu;       /* 0 = unlimited */
    char impl_uid[65], impl_version[17];
} assoc_info;

/* A whole A-ASSOCIATE-RQ (type 1) or -AC (type 2) PDU, header included. */
void pdu_build_associate(bytes *b, int type, const net_params *p);

/* Parse the body (after the 6-byte header) of an A-ASSOCIATE-RQ (into p's
 * proposed contexts and AE titles) or -AC (results into the contexts of p
 * with the same ids). */
dqr_status pdu_parse_associate(const uint8_t *body, size_t len, int type, net_params *p,
                               assoc_info *info, dqr_error *err);

/* A human reason for an A-ASSOCIATE-RJ (result, source, reason). */
const char *pdu_reject_reason(uint8_t result, uint8_t source, uint8_t reason);
/* A human reason for an A-ABORT (source, reason). */
const char *pdu_abort_reason(uint8_t source, uint8_t reason);

#endif

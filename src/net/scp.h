/* scp.h — what the Query/Retrieve SCP files (scp_find.c, scp_move.c,
 * scp_get.c) share: reading the identifier, the responses with their
 * sub-operation counts, watching for C-CANCEL, and sending one instance as
 * a C-STORE sub-operation. Internal to src/net. */
#ifndef DQR_NET_SCP_H
#define DQR_NET_SCP_H

#include "net/assoc.h"

#define NET_C_CANCEL_RQ 0x0FFF

/* One Q/R request being served: the association it came on, its context,
 * command and identifier, and whether the requestor cancelled it. */
typedef struct scp_op {
    net_assoc *a;
    uint8_t pcid;
    uint16_t field;                 /* NET_C_FIND_RQ, NET_C_MOVE_RQ or NET_C_GET_RQ */
    net_qr_request q;
    char sop_class[65], move_dest[17];
    dcm_dataset *identifier;
    bool cancelled;
    int remaining, completed, failed, warning;
    bytes failed_uids;              /* the SOP Instance UIDs that failed, backslash-separated */
} scp_op;

/* The model of a Q/R SOP class: 'S' study root, 'P' patient root; field is
 * the command it belongs to. 0 for any other class. */
char scp_model(const char *sop_class, uint16_t *field);

/* Read the identifier that follows cmd and fill op (q points into op).
 * Release with scp_op_free. */
dqr_status scp_op_begin(scp_op *op, net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, dqr_error *err);
void scp_op_free(scp_op *op);

/* Send a response on op's context: status, the counts when with_counts
 * (C-MOVE/C-GET), and data as its identifier (may be NULL). */
dqr_status scp_respond(scp_op *op, uint16_t status, bool with_counts, const dcm_dataset *data, dqr_error *err);

/* Without blocking: read what the requestor sent meanwhile; a C-CANCEL of
 * op sets op->cancelled. Any other message is a protocol error. */
dqr_status scp_poll_cancel(scp_op *op, dqr_error *err);

/* Send path as a C-STORE sub-operation on a (the requestor's association
 * for C-GET, the destination's for C-MOVE) and wait for its response;
 * while waiting, a C-CANCEL of op (C-GET) is noted. move_aet/move_msgid
 * are set for C-MOVE (NULL/-1 otherwise). *status gets the sub-operation's
 * status (0xA702-like failure values when it could not be sent) and inst
 * its SOP Instance UID ("" when the file could not be read). A failed
 * association is an error; a file that cannot be read or has no context
 * is a failed sub-operation, not an error. */
dqr_status scp_store(scp_op *op, net_assoc *a, const char *path, uint16_t msgid, const char *move_aet,
                     int move_msgid, uint16_t *status, char inst[65], dqr_error *err);

/* Count a sub-operation's status into op; a failed one's SOP Instance UID
 * (inst, "" when unknown) joins op's Failed SOP Instance UID List. */
void scp_count(scp_op *op, uint16_t status, const char *inst);

/* The C-FIND, C-MOVE and C-GET handlers (scp_find.c, scp_move.c, scp_get.c). */
dqr_status scp_find(const net_server_config *cfg, scp_op *op, dqr_error *err);
dqr_status scp_move(const net_server_config *cfg, scp_op *op, dqr_error *err);
dqr_status scp_get(const net_server_config *cfg, scp_op *op, dqr_error *err);

#endif

/* net.h — the DICOM network layer: Upper Layer associations (PS3.8) and
 * DIMSE messages (PS3.7) over TCP, as requestor (SCU) and acceptor (SCP).
 *
 * An association is one TCP connection with negotiated presentation contexts.
 * Messages go out as P-DATA fragments no larger than the peer's maximum PDU
 * length; datasets are streamed (a file's pixel data is never loaded whole
 * when sending). Every socket has TCP_NODELAY and send/receive timeouts.
 * A net_assoc is used by one thread at a time.
 */
#ifndef DQR_NET_H
#define DQR_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"

#define NET_MAX_PC 128
#define NET_MAX_TS 8
#define NET_DEFAULT_PDU 65536u
#define NET_APPLICATION_CONTEXT "1.2.840.10008.3.1.1.1"
#define NET_VERIFICATION_SOP "1.2.840.10008.1.1"

/* One presentation context: proposed (abstract syntax + transfer syntaxes)
 * and, after negotiation, the result and the one transfer syntax accepted. */
typedef struct net_pc {
    uint8_t id;                    /* odd, 1..255 */
    char abstract[65];
    char ts[NET_MAX_TS][65];
    size_t nts;
    uint8_t result;                /* 0 acceptance, 1 user rejection, 3 abstract syntax
                                      not supported, 4 transfer syntaxes not supported */
    char accepted_ts[65];
    bool scu_role, scp_role;       /* role selection proposed/accepted (C-GET) */
} net_pc;

/* DICOM TLS (PS3.15 B.1): certificate and key to present, CA to verify the
 * peer with. A requestor always verifies the acceptor's certificate, against
 * ca or else the system trust store, and that it names the host dialled (or
 * name, when set); insecure turns that off, for tests and emergencies only.
 * An acceptor given a ca requires and verifies client certificates. */
typedef struct net_tls {
    bool enabled;
    bool insecure;     /* requestor: accept any certificate */
    const char *cert, *key, *ca;
    const char *name;  /* requestor: the name the certificate must hold (NULL: the host) */
} net_tls;

typedef struct net_params {
    net_tls tls;
    char calling_aet[17], called_aet[17];
    net_pc pcs[NET_MAX_PC];
    size_t npc;
    uint32_t max_pdu;              /* what we receive; 0 = NET_DEFAULT_PDU */
    int timeout_s;                 /* connect, ARTIM, and every read/write; 0 = 30 */
    uint64_t max_instance_bytes;   /* requestor: a C-GET sub-operation held in memory larger
                                      than this is dropped and answered 0xA700 (0: 2 GiB) */
} net_params;

typedef struct net_assoc net_assoc;

/* Add a presentation context for abstract with the transfer syntaxes given
 * (NULL-terminated). Returns its id, or 0 if the list is full. */
uint8_t net_params_add(net_params *p, const char *abstract, const char *const *ts);

/* Connect and negotiate. On success p's contexts hold the results. A refused
 * association fails with DQR_E_IO and a message giving the peer's reason. */
net_assoc *net_connect(const char *host, int port, net_params *p, dqr_error *err);

/* The negotiated parameters (contexts with results, peer's AE titles). */
const net_params *net_assoc_params(const net_assoc *a);
/* The accepted context for abstract syntax (and transfer syntax, if given), or NULL. */
const net_pc *net_find_pc(const net_assoc *a, const char *abstract, const char *ts);

/* Orderly release (A-RELEASE-RQ/RP), then close. */
dqr_status net_release(net_assoc *a, dqr_error *err);
/* A-ABORT and close. */
void net_abort(net_assoc *a);
/* Close the connection and free a. NULL is allowed. */
void net_assoc_free(net_assoc *a);

/* ---- messages ---------------------------------------------------------- */

/* Send a DIMSE command set (encoded Implicit VR LE, group length computed). */
dqr_status net_send_command(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd, dqr_error *err);
/* Send a dataset: f's dataset encoded in the context's accepted transfer syntax. */
dqr_status net_send_dataset(net_assoc *a, uint8_t pcid, const dcm_file *f, dqr_error *err);

/* The next command (caller frees with dcm_dataset_free). DQR_E_NOTFOUND when
 * the peer asked to release (answered) or closed; DQR_E_IO on abort. */
dqr_status net_recv_command(net_assoc *a, uint8_t *pcid, dcm_dataset **cmd, dqr_error *err);

/* Receive the dataset that follows a command, handing each fragment's bytes
 * to fn in order (fn returns non-zero to fail). */
dqr_status net_recv_dataset(net_assoc *a, dcm_write_fn fn, void *ctx, dqr_error *err);

/* ---- DIMSE helpers ----------------------------------------------------- */

#define NET_C_STORE_RQ 0x0001
#define NET_C_GET_RQ 0x0010
#define NET_C_FIND_RQ 0x0020
#define NET_C_MOVE_RQ 0x0021
#define NET_C_ECHO_RQ 0x0030
#define NET_RSP 0x8000
#define NET_NO_DATASET 0x0101

/* A new command set with CommandField, MessageID (or MessageIDBeingRespondedTo
 * for responses), AffectedSOPClassUID and CommandDataSetType. */
dcm_dataset *net_command(uint16_t field, uint16_t msgid, const char *sop_class, bool has_dataset,
                         dqr_error *err);
/* A US value of a command (0xFFFF if absent). */
uint16_t net_cmd_us(const dcm_dataset *cmd, uint32_t tag);
/* The meaning of a DIMSE status ("Refused: Out of Resources", ...). */
const char *net_status_str(uint16_t status);

/* C-ECHO-RQ and wait for the response; *status gets its status. */
dqr_status net_echo(net_assoc *a, uint16_t *status, dqr_error *err);
/* C-STORE-RQ of f (SOP class/instance from its dataset), on the context
 * accepted for its SOP class; *status gets the response status. */
dqr_status net_store(net_assoc *a, const dcm_file *f, uint16_t msgid, uint16_t *status, dqr_error *err);

#define NET_STUDY_ROOT_FIND "1.2.840.10008.5.1.4.1.2.2.1"
#define NET_STUDY_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.2.2"
#define NET_PATIENT_ROOT_FIND "1.2.840.10008.5.1.4.1.2.1.1"
#define NET_PATIENT_ROOT_MOVE "1.2.840.10008.5.1.4.1.2.1.2"

/* Called for each C-FIND match (the identifier, borrowed for the call);
 * return non-zero to stop (dqr then sends C-CANCEL). */
typedef int (*net_match_fn)(void *ctx, const dcm_dataset *identifier);

/* C-FIND with the identifier under sop_class (a FIND model): matches are
 * handed to fn as they arrive. *status gets the final status. */
dqr_status net_find(net_assoc *a, const char *sop_class, const dcm_dataset *identifier, net_match_fn fn,
                    void *ctx, uint16_t *status, dqr_error *err);

typedef struct net_move_result {
    uint16_t status;
    int remaining, completed, failed, warning; /* -1 where the peer did not say */
} net_move_result;

/* Called with every pending C-MOVE response; return non-zero to cancel
 * (C-CANCEL is sent once; the peer then finishes with a Cancel status). */
typedef int (*net_progress_fn)(void *ctx, const net_move_result *r);

/* C-MOVE of what identifier selects to AE dest as message msgid (the
 * destination sees it as Move Originator Message ID); waits for the final
 * response (progress may be NULL). */
dqr_status net_move(net_assoc *a, const char *sop_class, const char *dest, const dcm_dataset *identifier,
                    uint16_t msgid, net_progress_fn progress, void *ctx, net_move_result *result, dqr_error *err);

#define NET_STUDY_ROOT_GET "1.2.840.10008.5.1.4.1.2.2.3"
#define NET_PATIENT_ROOT_GET "1.2.840.10008.5.1.4.1.2.1.3"

/* Propose, after the contexts already in p, storage contexts (SCP role) for
 * as many storage SOP classes of the generated table as fit, common ones
 * first, each with uncompressed and the usual compressed syntaxes. */
void net_params_add_storage(net_params *p);

struct net_received;
/* Called for each instance received during a C-GET (see net_received);
 * returns the status to answer. */
typedef uint16_t (*net_get_store_fn)(void *ctx, const struct net_received *r);

/* C-GET of what identifier selects: the peer's C-STORE sub-operations arrive
 * on this association and are handed to fn, spooled into a temporary file in
 * tmp_dir, or held in memory when tmp_dir is NULL (nothing on disk: for
 * de-identifying before anything is written). */
dqr_status net_get(net_assoc *a, const char *sop_class, const dcm_dataset *identifier, const char *tmp_dir,
                   net_get_store_fn fn, void *ctx, net_move_result *result, dqr_error *err);

/* ---- acceptor ---------------------------------------------------------- */

typedef struct net_server net_server;

/* One received instance, as a Part 10 stream (preamble, meta, dataset). */
typedef struct net_received {
    const char *calling_aet, *sop_class, *sop_instance, *ts;
    const char *peer_addr;  /* the sender's IPv4 address, as text */
    const char *move_aet;   /* Move Originator AE (0000,1030): "" when absent */
    int move_msgid;         /* Move Originator Message ID (0000,1031): -1 when absent */
    const char *tmp_path;   /* spooled to this file (spool_memory off): the
                               callback renames or unlinks it */
    const uint8_t *data;    /* held in memory (spool_memory on) */
    size_t len;
} net_received;

/* Called for each received C-STORE; returns the status to answer (0x0000
 * success, 0xA700 out of resources, 0xC000 cannot understand, ...). */
typedef uint16_t (*net_store_fn)(void *ctx, const net_received *r);

/* Decides whether an association request is accepted, once its called AE
 * matched: calling_aet and the peer's IPv4 address (text). Returns true to
 * accept; false refuses it (A-ASSOCIATE-RJ permanent, calling AE title not
 * recognized) after writing a short reason into why (for the log; it
 * must not hold more than the peer sent). Called from the association's
 * thread: must be thread-safe. */
typedef bool (*net_accept_fn)(void *ctx, const char *calling_aet, const char *peer_addr, char *why, size_t cap);

/* ---- Query/Retrieve as SCP (PS3.4 C.4) ---------------------------------- */

/* One C-FIND, C-MOVE or C-GET request received. */
typedef struct net_qr_request {
    const char *calling_aet, *peer_addr;
    const char *sop_class;          /* the information model asked */
    bool patient_root;              /* Patient Root (else Study Root) */
    const dcm_dataset *identifier;  /* borrowed for the call */
    const char *move_dest;          /* C-MOVE: Move Destination AE ("" otherwise) */
    uint16_t msgid;
} net_qr_request;

/* Hands one C-FIND match to the net layer, which sends it as a pending
 * response. Returns non-zero when the find is to stop: the requestor sent
 * C-CANCEL, or the association broke. */
typedef int (*net_emit_fn)(void *emit_ctx, const dcm_dataset *match);

/* Answers a C-FIND: calls emit for each match, in order, and returns the
 * final status (0x0000 success, 0xA900 identifier does not match SOP
 * class, 0xC000 unable to process, 0x0124 refused: not authorized). The
 * net layer turns a success after a C-CANCEL into 0xFE00. */
typedef uint16_t (*net_find_cb)(void *ctx, const net_qr_request *q, net_emit_fn emit, void *emit_ctx);

/* What a C-MOVE or C-GET is to send, filled by net_retrieve_cb. */
typedef struct net_retrieve {
    char **paths;         /* Part 10 files; malloc'd, each freed by the net layer */
    size_t n, cap;
    char host[256];       /* C-MOVE: the destination (ignored for C-GET) */
    int port;
    net_tls tls;          /* its strings may point into the three below */
    char tls_cert[512], tls_key[512], tls_ca[512];
} net_retrieve;

/* Add a copy of path to r. Returns false when out of memory. */
bool net_retrieve_add(net_retrieve *r, const char *path);

/* Selects what a C-MOVE or C-GET sends (and, for a C-MOVE, where to):
 * fills out and returns 0x0000, or returns a failure status (0xA801 move
 * destination unknown, 0xA900, 0xC000, 0x0124) and sends nothing. */
typedef uint16_t (*net_retrieve_cb)(void *ctx, const net_qr_request *q, net_retrieve *out);

typedef struct net_server_config {
    const char *aet;             /* our AE title: other called AEs are refused */
    const char *bind;            /* address, default 127.0.0.1 */
    int port;
    const char *const *allowed;  /* calling AEs accepted (NULL: any) */
    net_accept_fn accept;        /* then this decides, when set (ctx is its context) */
    const char *tmp_dir;         /* where received data is spooled */
    bool spool_memory;           /* keep received data in memory, never on disk
                                    (for de-identifying before anything is written) */
    int max_assocs;              /* concurrent connections (default 32) */
    int max_per_address;         /* concurrent connections from one IP address (0: max_assocs) */
    int timeout_s;               /* default of the two below (0: 30) */
    int assoc_timeout_s;         /* ARTIM: the whole A-ASSOCIATE-RQ (and TLS handshake)
                                    must arrive within this after the connection (0: timeout_s) */
    int idle_timeout_s;          /* once associated: every read and write (0: timeout_s) */
    uint64_t max_instance_bytes; /* a dataset held in memory larger than this is read to
                                    its end, dropped and answered 0xA700 (0: 2 GiB) */
    net_tls tls;                 /* TLS on every association (cert and key required) */
    net_store_fn on_store;
    net_find_cb on_find;         /* C-FIND SCP (Study and Patient Root), when set */
    net_retrieve_cb on_retrieve; /* C-MOVE and C-GET SCP, when set */
    void *ctx;
    /* One line per event, may be NULL. Lines are printable ASCII: strings
     * from the peer (AE titles, error texts) are escaped (net_log_escape). */
    void (*log)(void *ctx, const char *line);
} net_server_config;

/* Listen (SO_REUSEADDR). Returns NULL with err on failure (port in use...). */
net_server *net_server_new(const net_server_config *cfg, dqr_error *err);
/* The port actually bound (useful with port 0). */
int net_server_port(const net_server *s);
/* Accept and serve associations (a thread each) until net_server_stop. */
dqr_status net_server_run(net_server *s, dqr_error *err);
/* Associations refused since the start (any reason: limits, AE titles,
 * the accept callback) and datasets dropped as too large. Thread-safe. */
void net_server_stats(const net_server *s, long long *refused, long long *too_large);
/* Ask run to return (safe from a signal handler or another thread). */
void net_server_stop(net_server *s);
void net_server_free(net_server *s);

/* Copy in to out (cap bytes, always terminated, cut if needed) so that it
 * cannot break or forge a log line: control characters, DEL and non-ASCII
 * bytes become \xNN. With value set, the result is also one key=value
 * token: a backslash or quote is escaped, and the whole is put in double
 * quotes when it is empty or holds a space, quote, backslash or '='.
 * Returns out. */
char *net_log_escape(char *out, size_t cap, const char *in, bool value);

#endif

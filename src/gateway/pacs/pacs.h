/* pacs.h — the PACS registry's model: checking a connection described in
 * JSON, loading one from the catalog, and opening a DICOM association to it. */
#ifndef DQR_GW_PACS_H
#define DQR_GW_PACS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/internal.h"
#include "net/net.h"

typedef struct gw_pacs {
    int64_t id;
    char label[65], aet[17], host[256], calling_aet[17], protocol[9], retrieve[5], url[512], timezone[64];
    char username[128]; /* DICOMweb basic authentication */
    char receiver_aet[17]; /* C-MOVE destination: one of dqr's receivers ("" = the main one) */
    char tls_cert[512], tls_key[512], tls_ca[512]; /* DICOM TLS files on the dqr host ("" = none) */
    int port;
    int retry_attempts, retry_backoff_seconds; /* series still short after a C-MOVE: asked again (doubling wait) */
    int session_attempts, session_retry_seconds; /* a whole session that failed: tries, first wait; 0 = global */
    bool queryable, storable;
    bool tls; /* DICOM TLS on every association to it, verifying it against tls_ca or the system store */
} gw_pacs;

/* Check a whole PACS description (defaults already filled in); false with a
 * sentence naming the field in msg. Pure: no catalog, no network. */
bool gw_pacs_check(const json_t *p, char *msg, size_t len);

/* Load PACS id; DQR_E_NOTFOUND when there is none. */
dqr_status gw_pacs_load(gw *g, int64_t id, gw_pacs *p, dqr_error *err);

/* The DICOMweb password of PACS id, unsealed (free with gw_wipe), or NULL
 * when none is set. */
char *gw_pacs_password(gw *g, int64_t id);

/* Connect to p with one context for abstract (Explicit and Implicit VR LE),
 * calling AE p's calling_aet or dqr's own; with storage, also the storage
 * contexts in the SCP role (to receive a C-GET). With p->tls the association
 * is DICOM TLS and p's certificate must be trusted and name p->host. */
net_assoc *gw_pacs_connect(gw *g, const gw_pacs *p, const char *abstract, bool storage, dqr_error *err);
/* The AE title dqr calls p from. */
const char *gw_pacs_calling(const gw *g, const gw_pacs *p);

#endif

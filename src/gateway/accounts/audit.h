/* audit.h — the audit trail (audit.c, audit_message.c; docs/audit.md). */
#ifndef DQR_GW_AUDIT_H
#define DQR_GW_AUDIT_H

#include "gateway/internal.h"

#include <time.h>

/* ---- the audit trail (audit.c, docs/audit.md) ----
 * Each event goes to the catalog's audit table (for GET /api/v1/audit) and,
 * as one DICOM audit message (PS3.15 A.5, IHE ATNA) per line, to the
 * append-only audit_file and to audit_syslog. Only dqr ids reach it (user
 * names, session labels, import and query ids, AE titles), never a DICOM
 * value. */
enum { GW_AUDIT_DETAILS = 4 };
typedef struct gw_audit_ev {
    const char *action;    /* snake_case name: a row of the events table, else a Security Alert */
    int64_t user_id;       /* the requestor; 0 when not a logged-in user */
    const char *user_name; /* NULL: looked up from user_id */
    const char *client;    /* network address of the requestor; NULL when unknown */
    const char *target;    /* the dqr id of the object acted on; NULL for none */
    int outcome;           /* 0/4/8/12; the action's own outcome is kept when worse */
    const char *detail[GW_AUDIT_DETAILS][2]; /* optional {type, value} pairs (no PHI), NULL-ended */
} gw_audit_ev;

/* What an action is in the DICOM vocabulary (DCM codes of PS3.16). */
typedef struct gw_audit_kind {
    const char *action;
    const char *event_id, *event_name; /* EventID */
    const char *type_id, *type_name;   /* EventTypeCode; NULL when the event has none */
    char action_code;                  /* EventActionCode: C R U D E */
    int outcome;                       /* EventOutcomeIndicator of the action itself */
    const char *object;                /* what the target names: user, session, query, ... */
} gw_audit_kind;
/* The row of action (the Security Alert row for an unknown one); never NULL. */
const gw_audit_kind *gw_audit_kind_of(const char *action);
/* Who reports the events: AuditSourceID and the host name of this node. */
typedef struct gw_audit_node {
    const char *source_id, *host;
} gw_audit_node;
/* The AuditMessage of e on one line (no newline at the end), every value
 * escaped for XML; e->user_name must be set. Returns a new string (caller
 * frees), NULL when out of memory. Pure and thread-safe. */
char *gw_audit_xml(const gw_audit_ev *e, const gw_audit_node *node, struct timespec when);
/* The EventOutcomeIndicator of e (0, 4, 8 or 12): the worse of the event's and its kind's. */
int gw_audit_outcome(const gw_audit_ev *e, const gw_audit_kind *k);
/* The RFC 5424 frame of xml: PRI (authpriv, notice or warning on failure),
 * timestamp, host, APP-NAME dqr, PROCID, MSGID the EventID code, no
 * structured data, MSG the XML after a UTF-8 BOM. Returns a new string. */
char *gw_audit_syslog_frame(const char *xml, const gw_audit_kind *k, int outcome, const char *host, long pid,
                            struct timespec when);
/* Record e everywhere. DQR_OK once the audit file holds the message (then
 * fdatasync'ed); a failure is logged and returned, so that a handler about
 * to show PHI can refuse to. Thread-safe. */
dqr_status gw_audit_event(gw *g, const gw_audit_ev *e);
/* An event of the request's user and client address for action on target. */
gw_audit_ev gw_audit_of(const gw_req *r, const char *action, const char *target);
/* gw_audit_event of gw_audit_of(r, action, target). */
dqr_status gw_audit_req(const gw_req *r, const char *action, const char *target);
/* A login attempt for name (user: its id, 0 when there is no such user). */
void gw_audit_login(const gw_req *r, int64_t user, const char *name, bool ok);

#endif

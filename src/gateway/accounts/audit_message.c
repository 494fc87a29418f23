/* audit_message.c — what an audit event is in the DICOM vocabulary and how
 * it is written: the table of actions (EventID, EventTypeCode, action code,
 * outcome, participant object), the AuditMessage XML (PS3.15 A.5.1), and
 * its RFC 5424 syslog frame. Pure formatting: audit.c sends the results.
 *
 * Only dqr ids reach the messages (user names, session labels, import and
 * query ids, AE titles), never a DICOM value; every value is escaped for
 * XML, and bytes that XML cannot carry (control characters, broken UTF-8)
 * become '?', so a name from the network cannot forge a line or an element.
 */
#include "dicom/fs.h"
#include "gateway/internal.h"
#include "gateway/accounts/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* EventIDs and EventTypeCodes (PS3.16, coding scheme DCM). */
#define E_APP "110100", "Application Activity"
#define E_AUDIT "110101", "Audit Log Used"
#define E_BEGIN "110102", "Begin Transferring DICOM Instances"
#define E_ACCESS "110103", "DICOM Instances Accessed"
#define E_DELETED "110105", "DICOM Study Deleted"
#define E_EXPORT "110106", "Export"
#define E_IMPORT "110107", "Import"
#define E_PATIENT "110110", "Patient Record"
#define E_QUERY "110112", "Query"
#define E_ALERT "110113", "Security Alert"
#define E_AUTH "110114", "User Authentication"
#define T_NONE NULL, NULL
#define T_START "110120", "Application Start"
#define T_STOP "110121", "Application Stop"
#define T_LOGIN "110122", "Login"
#define T_NODE "110126", "Node Authentication"
#define T_NETWORK "110128", "Network Configuration"
#define T_SECURITY "110129", "Security Configuration"
#define T_RESTRICTED "110132", "Use of Restricted Function"
#define T_ROLES "110136", "Security Roles Changed"
#define T_USER "110137", "User Security Attributes Changed"

static const gw_audit_kind kinds[] = {
    /* logins and accounts */
    {"application_start", E_APP, T_START, 'E', 0, "node"},
    {"application_stop", E_APP, T_STOP, 'E', 0, "node"},
    {"login_success", E_AUTH, T_LOGIN, 'E', 0, "user"},
    {"login_failure", E_AUTH, T_LOGIN, 'E', 4, "user"},
    {"login_lockout", E_ALERT, T_USER, 'E', 4, "user"},
    {"password_change", E_ALERT, T_USER, 'U', 0, "user"},
    {"user_create", E_ALERT, T_USER, 'C', 0, "user"},
    {"user_update", E_ALERT, T_USER, 'U', 0, "user"},
    {"user_disable", E_ALERT, T_USER, 'U', 0, "user"},
    {"user_delete", E_ALERT, T_USER, 'D', 0, "user"},
    {"grants_set", E_ALERT, T_ROLES, 'U', 0, "user"},
    {"token_create", E_ALERT, T_USER, 'C', 0, "token"},
    {"token_revoke", E_ALERT, T_USER, 'D', 0, "token"},
    {"access_denied", E_ALERT, T_RESTRICTED, 'E', 4, "route"},
    /* peers and configuration */
    {"association_refused", E_ALERT, T_NODE, 'E', 4, "node"},
    {"instance_refused", E_ALERT, T_NODE, 'E', 4, "node"},
    {"import_refused_owner", E_ALERT, T_RESTRICTED, 'E', 4, "import_session"},
    {"pacs_create", E_ALERT, T_NETWORK, 'C', 0, "pacs"},
    {"pacs_update", E_ALERT, T_NETWORK, 'U', 0, "pacs"},
    {"pacs_delete", E_ALERT, T_NETWORK, 'D', 0, "pacs"},
    {"dicom_client_create", E_ALERT, T_NETWORK, 'C', 0, "dicom_client"},
    {"dicom_client_update", E_ALERT, T_NETWORK, 'U', 0, "dicom_client"},
    {"dicom_client_delete", E_ALERT, T_NETWORK, 'D', 0, "dicom_client"},
    {"project_create", E_ALERT, T_SECURITY, 'C', 0, "project"},
    {"project_update", E_ALERT, T_SECURITY, 'U', 0, "project"},
    {"project_script", E_ALERT, T_SECURITY, 'U', 0, "project"},
    {"project_delete", E_ALERT, T_SECURITY, 'D', 0, "project"},
    {"site_script", E_ALERT, T_SECURITY, 'U', 0, "script"},
    /* PHI and the data it leads to */
    {"query_results", E_QUERY, T_NONE, 'E', 0, "query"},
    {"phi_view_query_keys", E_PATIENT, T_NONE, 'R', 0, "query_history"},
    {"phi_view_import_identifiers", E_PATIENT, T_NONE, 'R', 0, "import_session"},
    {"phi_export_reidentification", E_EXPORT, T_NONE, 'R', 0, "project"},
    {"subject_label_forced", E_IMPORT, T_NONE, 'E', 0, "session"},
    {"dry_run", E_ACCESS, T_NONE, 'R', 0, "project"},
    {"session_download", E_EXPORT, T_NONE, 'R', 0, "session"},
    {"dicomweb_retrieve", E_EXPORT, T_NONE, 'R', 0, "study"},
    {"dicomweb_store", E_IMPORT, T_NONE, 'C', 0, "import_session"},
    {"session_send", E_BEGIN, T_NONE, 'E', 0, "session"},
    {"session_delete", E_DELETED, T_NONE, 'D', 0, "session"},
    {"import_cancel", E_IMPORT, T_NONE, 'D', 0, "import_session"},
    {"phi_view_quarantine_frame", E_PATIENT, T_NONE, 'R', 0, "quarantine"},
    {"quarantine_release", E_IMPORT, T_NONE, 'C', 0, "quarantine"},
    {"quarantine_delete", E_DELETED, T_NONE, 'D', 0, "quarantine"},
    {"audit_read", E_AUDIT, T_NONE, 'R', 0, "audit_log"},
};
/* An action no row names: still recorded, as a Security Alert. */
static const gw_audit_kind unknown_kind = {"", E_ALERT, T_NONE, 'E', 0, "other"};

/* ParticipantObjectTypeCode, ParticipantObjectTypeCodeRole (A.5.1.2.2) and
 * the meaning of each kind of target. */
static const struct object_kind {
    const char *name, *type, *role, *meaning;
} objects[] = {
    {"user", "1", "11", "dqr user name"},
    {"token", "2", "13", "API token name"},
    {"route", "2", "13", "REST route pattern"},
    {"node", "2", "4", "DICOM node (AE title@address)"},
    {"pacs", "2", "13", "PACS label or id"},
    {"dicom_client", "2", "13", "DICOM client AE title or id"},
    {"project", "2", "13", "dqr project id"},
    {"script", "2", "13", "site script"},
    {"query", "2", "24", "dqr query id"},
    {"query_history", "2", "24", "dqr query history id"},
    {"import_session", "2", "20", "dqr import session id"},
    {"session", "2", "3", "dqr session (project/session label)"},
    {"study", "2", "3", "archived study (de-identified StudyInstanceUID, [project/]UID[/series UID])"},
    {"audit_log", "2", "13", "dqr audit log"},
    {"quarantine", "2", "13", "dqr quarantine entry id"},
    {"other", "4", NULL, "dqr object"},
};

const gw_audit_kind *gw_audit_kind_of(const char *action)
{
    for (size_t i = 0; action && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].action, action) == 0)
            return &kinds[i];
    return &unknown_kind;
}

static const struct object_kind *object_of(const char *name)
{
    for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
        if (strcmp(objects[i].name, name) == 0)
            return &objects[i];
    return &objects[sizeof objects / sizeof objects[0] - 1];
}

/* ---- the message ---- */

/* Bytes of the well-formed UTF-8 character at p that XML 1.0 allows, or 0. */
static size_t xml_char_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return p[0] >= 0x20 && p[0] != 0x7f ? 1 : 0;
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    uint32_t c = p[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!n || c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
        return 0;
    return n;
}

/* Longest value written (a name from outside cannot make a huge line). */
enum { MAX_VALUE = 256 };

/* s as an XML attribute value: markup escaped, whitespace as character
 * references (so the message stays on one line), the rest that XML cannot
 * carry as '?'. */
static void put_escaped(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    for (size_t done = 0; *p && done < MAX_VALUE;) {
        const char *ref = *p == '&'    ? "&amp;"
                          : *p == '<'  ? "&lt;"
                          : *p == '>'  ? "&gt;"
                          : *p == '"'  ? "&quot;"
                          : *p == '\'' ? "&apos;"
                          : *p == '\t' ? "&#9;"
                          : *p == '\n' ? "&#10;"
                          : *p == '\r' ? "&#13;"
                                       : NULL;
        size_t n = ref ? 1 : xml_char_len(p);
        if (ref)
            fputs(ref, out);
        else if (n)
            fwrite(p, 1, n, out);
        else
            fputc('?', out);
        p += n ? n : 1, done += n ? n : 1;
    }
}

/* name="value" (a leading space; nothing when value is NULL). */
static void put_attr(FILE *out, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(out, " %s=\"", name);
    put_escaped(out, value);
    fputc('"', out);
}

static void put_code(FILE *out, const char *element, const char *code, const char *system, const char *meaning)
{
    fprintf(out, "<%s", element);
    put_attr(out, "csd-code", code);
    put_attr(out, "codeSystemName", system);
    put_attr(out, "originalText", meaning);
    fputs("/>", out);
}

/* xsd:dateTime in UTC with milliseconds. */
static void iso_ms(struct timespec t, char buf[40])
{
    struct tm tm;
    gmtime_r(&t.tv_sec, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 40 - n, ".%03ldZ", t.tv_nsec / 1000000);
}

int gw_audit_outcome(const gw_audit_ev *e, const gw_audit_kind *k)
{
    int o = e->outcome > k->outcome ? e->outcome : k->outcome;
    return o >= 12 ? 12 : o >= 8 ? 8 : o >= 4 ? 4 : 0;
}

static void put_event(FILE *out, const gw_audit_ev *e, const gw_audit_kind *k, struct timespec when)
{
    char at[40];
    iso_ms(when, at);
    fprintf(out, "<EventIdentification EventActionCode=\"%c\" EventDateTime=\"%s\" EventOutcomeIndicator=\"%d\">",
            k->action_code, at, gw_audit_outcome(e, k));
    put_code(out, "EventID", k->event_id, "DCM", k->event_name);
    if (k->type_id)
        put_code(out, "EventTypeCode", k->type_id, "DCM", k->type_name);
    put_code(out, "EventTypeCode", e->action, "DQR", e->action); /* dqr's own name of the action */
    fputs("</EventIdentification>", out);
}

static void put_participants(FILE *out, const gw_audit_ev *e, const gw_audit_node *node)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)e->user_id);
    fputs("<ActiveParticipant", out);
    put_attr(out, "UserID", e->user_name && *e->user_name ? e->user_name : "(unauthenticated)");
    put_attr(out, "AlternativeUserID", e->user_id ? id : NULL);
    fputs(" UserIsRequestor=\"true\"", out);
    put_attr(out, "NetworkAccessPointID", e->client);
    put_attr(out, "NetworkAccessPointTypeCode", e->client ? "2" : NULL);
    fputs("/>", out);
    /* dqr itself, the application that did what was asked */
    fputs("<ActiveParticipant", out);
    put_attr(out, "UserID", node->source_id);
    fputs(" UserIsRequestor=\"false\"", out);
    put_attr(out, "NetworkAccessPointID", node->host);
    put_attr(out, "NetworkAccessPointTypeCode", node->host ? "1" : NULL);
    fputs(">", out);
    put_code(out, "RoleIDCode", "110150", "DCM", "Application");
    fputs("</ActiveParticipant>", out);
}

static void put_detail(FILE *out, const char *type, const char *value)
{
    size_t n = strnlen(value, MAX_VALUE);
    char b64[sodium_base64_ENCODED_LEN(MAX_VALUE, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, (const unsigned char *)value, n, sodium_base64_VARIANT_ORIGINAL);
    fputs("<ParticipantObjectDetail", out);
    put_attr(out, "type", type);
    put_attr(out, "value", b64);
    fputs("/>", out);
}

static void put_object(FILE *out, const gw_audit_ev *e, const gw_audit_kind *k)
{
    if (!e->target || !*e->target)
        return;
    const struct object_kind *o = object_of(k->object);
    fputs("<ParticipantObjectIdentification", out);
    put_attr(out, "ParticipantObjectID", e->target);
    put_attr(out, "ParticipantObjectTypeCode", o->type);
    put_attr(out, "ParticipantObjectTypeCodeRole", o->role);
    fputs(">", out);
    put_code(out, "ParticipantObjectIDTypeCode", o->name, "DQR", o->meaning);
    /* the schema wants a name or a query: the kind, never the query itself (PHI) */
    fputs("<ParticipantObjectName>", out);
    put_escaped(out, o->meaning);
    fputs("</ParticipantObjectName>", out);
    for (int i = 0; i < GW_AUDIT_DETAILS && e->detail[i][0]; i++)
        put_detail(out, e->detail[i][0], e->detail[i][1] ? e->detail[i][1] : "");
    fputs("</ParticipantObjectIdentification>", out);
}

char *gw_audit_xml(const gw_audit_ev *e, const gw_audit_node *node, struct timespec when)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    const gw_audit_kind *k = gw_audit_kind_of(e->action);
    fputs("<AuditMessage>", out);
    put_event(out, e, k, when);
    put_participants(out, e, node);
    fputs("<AuditSourceIdentification", out);
    put_attr(out, "AuditSourceID", node->source_id);
    fputs("><AuditSourceTypeCode csd-code=\"4\"/></AuditSourceIdentification>", out); /* application server */
    put_object(out, e, k);
    fputs("</AuditMessage>", out);
    if (fclose(out) != 0 || !buf) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *gw_audit_syslog_frame(const char *xml, const gw_audit_kind *k, int outcome, const char *host, long pid,
                            struct timespec when)
{
    /* facility 10 (authpriv: security messages), severity 5 notice or 4 warning */
    int pri = 10 * 8 + (outcome ? 4 : 5);
    char at[40], name[256];
    iso_ms(when, at);
    size_t n = 0;
    for (const char *h = host ? host : ""; *h && n + 1 < sizeof name; h++)
        if (*h > ' ' && *h < 0x7f) /* RFC 5424 HOSTNAME: printable US-ASCII */
            name[n++] = *h;
    name[n] = '\0';
    char *out = NULL;
    if (asprintf(&out, "<%d>1 %s %s dqr %ld %s - \xEF\xBB\xBF%s", pri, at, n ? name : "-", pid, k->event_id, xml) < 0)
        return NULL;
    return out;
}

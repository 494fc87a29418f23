/* audit.c — the audit trail: every access to PHI and every security event as
 * one DICOM audit message (PS3.15 A.5.1 schema, the IHE ATNA events; the
 * table and the XML are audit_message.c's).
 *
 * One table says what each action is in the DICOM vocabulary (EventID,
 * EventTypeCode, action code, outcome), so callers name an action and never
 * build XML. Each event is written three ways: a catalog row (the REST API
 * reads those), one line in the append-only audit_file, and, when set, a
 * syslog message. The file is opened for each event with O_APPEND and
 * written with one write(), so concurrent events never interleave, a rotated
 * file is simply recreated, and no state needs starting or stopping; each
 * line is fdatasync'ed before the caller goes on to show what it audited.
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

/* ---- where the messages go ---- */

/* Append line to the audit file: one write, then fdatasync. The file is
 * created 0600 (and put back to 0600 if someone widened it). */
static dqr_status append_file(const char *path, const char *line, size_t len, dqr_error *err)
{
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(path, flags, 0600);
    if (fd < 0 && errno == ENOENT && dqr_make_parent_dirs(path, 0700) == 0)
        fd = open(path, flags, 0600);
    if (fd < 0)
        return dqr_error_set(err, DQR_E_IO, "audit_file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        fchmod(fd, 0600);
    ssize_t w = write(fd, line, len);
    int saved = errno;
    bool synced = w == (ssize_t)len && fdatasync(fd) == 0;
    if (!synced && w == (ssize_t)len)
        saved = errno;
    close(fd);
    if (!synced)
        return dqr_error_set(err, DQR_E_IO, "audit_file %s: %s", path,
                             w >= 0 && w < (ssize_t)len ? "short write" : strerror(saved));
    return DQR_OK;
}

/* One datagram to the local syslog socket or to udp://HOST:PORT. */
static dqr_status send_syslog(const char *where, const char *msg, dqr_error *err)
{
    size_t len = strlen(msg);
    if (strcmp(where, "local") == 0) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "/dev/log");
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ssize_t n = fd < 0 ? -1 : sendto(fd, msg, len, 0, (struct sockaddr *)&a, sizeof a);
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return n == (ssize_t)len ? DQR_OK : dqr_error_set(err, DQR_E_IO, "audit_syslog /dev/log: %s", strerror(saved));
    }
    char host[256];
    const char *hp = where + 6, *colon = strrchr(hp, ':'); /* udp://HOST:PORT, checked by config.c */
    snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
    char *h = host;
    if (*h == '[' && h[strlen(h) - 1] == ']')
        h[strlen(h) - 1] = '\0', h++;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
    int gai = getaddrinfo(h, colon + 1, &hints, &ai);
    if (gai != 0)
        return dqr_error_set(err, DQR_E_IO, "audit_syslog %s: %s", where, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n = fd < 0 ? -1 : sendto(fd, msg, len, 0, ai->ai_addr, ai->ai_addrlen);
    int saved = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return n == (ssize_t)len ? DQR_OK : dqr_error_set(err, DQR_E_IO, "audit_syslog %s: %s", where, strerror(saved));
}

enum { NAME_MAX_LEN = 65 }; /* as gw_user.name */

static int take_name(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].s)
        snprintf(ctx, NAME_MAX_LEN, "%s", c[0].s);
    return 1;
}

/* The XML of e with the user's name filled in, and (when syslog is on) its
 * syslog frame into *frame. */
static char *message_of(gw *g, const gw_audit_ev *e, struct timespec when, char **frame)
{
    gw_audit_ev ev = *e;
    char name[NAME_MAX_LEN] = "", host[256] = "";
    if (!ev.user_name && ev.user_id > 0) {
        store_exec(g->db, "SELECT username FROM users WHERE id = ?", (store_val[]){STORE_I(ev.user_id)}, 1,
                   take_name, name, NULL, NULL);
        ev.user_name = name;
    }
    if (gethostname(host, sizeof host - 1) != 0)
        *host = '\0';
    gw_audit_node node = {g->cfg.aet, *host ? host : NULL};
    char *xml = gw_audit_xml(&ev, &node, when);
    const gw_audit_kind *k = gw_audit_kind_of(ev.action);
    bool to_syslog = strcmp(g->cfg.audit_syslog, "off") != 0;
    *frame = xml && to_syslog ? gw_audit_syslog_frame(xml, k, gw_audit_outcome(&ev, k), host, (long)getpid(), when) : NULL;
    return xml;
}

dqr_status gw_audit_event(gw *g, const gw_audit_ev *e)
{
    struct timespec when;
    clock_gettime(CLOCK_REALTIME, &when);
    store_exec(g->db, "INSERT INTO audit(at, user_id, action, target) VALUES (?, ?, ?, ?)",
               (store_val[]){STORE_I(when.tv_sec), STORE_I(e->user_id), STORE_S(e->action), STORE_S(e->target)}, 4,
               NULL, NULL, NULL, NULL);
    gw_log(g, "info", "audit", "user_id=%lld action=%s target=%s", (long long)e->user_id, e->action,
           e->target ? e->target : "-");
    char *frame = NULL, *xml = message_of(g, e, when, &frame);
    dqr_error err = {0};
    dqr_status st = DQR_E_NOMEM;
    if (!xml) {
        dqr_error_set(&err, st, "out of memory building an audit message");
    } else {
        size_t n = strlen(xml);
        xml[n] = '\n'; /* the line's end goes in the same write (the NUL is put back after) */
        st = append_file(g->cfg.audit_file, xml, n + 1, &err);
        xml[n] = '\0';
    }
    if (st != DQR_OK)
        gw_log(g, "error", "audit_failed", "action=%s error=%s", e->action, err.message);
    dqr_error serr = {0};
    if (frame && send_syslog(g->cfg.audit_syslog, frame, &serr) != DQR_OK)
        gw_log(g, "warn", "audit_syslog_failed", "action=%s error=%s", e->action, serr.message);
    free(frame);
    free(xml);
    return st;
}

gw_audit_ev gw_audit_of(const gw_req *r, const char *action, const char *target)
{
    return (gw_audit_ev){.action = action,
                         .user_id = r->user.id,
                         .user_name = r->user.id ? r->user.name : NULL,
                         .client = r->http ? http_client(r->http) : NULL,
                         .target = target};
}

dqr_status gw_audit_req(const gw_req *r, const char *action, const char *target)
{
    gw_audit_ev e = gw_audit_of(r, action, target);
    return gw_audit_event(r->g, &e);
}

void gw_audit_login(const gw_req *r, int64_t user, const char *name, bool ok)
{
    gw_audit_ev e = gw_audit_of(r, ok ? "login_success" : "login_failure", name);
    e.user_id = user, e.user_name = name; /* the name tried: the request has no user yet */
    gw_audit_event(r->g, &e);
}

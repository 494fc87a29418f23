/* log.c — structured log lines: "TIME level=L event=E key=value ...", to
 * standard error and the log file. Callers pass identifiers and counts only,
 * never a DICOM value: the log is on disk, so it must hold no PHI. Many
 * values come from outside (AE titles, user names, labels, a peer's error
 * text): the formatted line is escaped here, in one place, so that no
 * value can end the line and forge the next one (a newline becomes \x0A).
 * Callers quote a value from the network as one token (gw_peer_text,
 * net_log_escape) so it cannot add a key either. */
#include "gateway/internal.h"
#include "net/net.h"

#include <stdarg.h>
#include <stdio.h>

void gw_log(gw *g, const char *level, const char *event, const char *fmt, ...)
{
    char when[32], raw[768], rest[1024];
    gw_iso_time(time(NULL), when);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    net_log_escape(rest, sizeof rest, raw, false);
    pthread_mutex_lock(&g->log_lock);
    fprintf(stderr, "%s level=%s event=%s%s%s\n", when, level, event, *rest ? " " : "", rest);
    if (g->log) {
        fprintf(g->log, "%s level=%s event=%s%s%s\n", when, level, event, *rest ? " " : "", rest);
        fflush(g->log);
    }
    pthread_mutex_unlock(&g->log_lock);
}

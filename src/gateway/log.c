/* log.c — structured log lines: "TIME level=L event=E key=value ...", to
 * standard error and the log file. Callers pass identifiers and counts only,
 * never a DICOM value: the log is on disk, so it must hold no PHI. */
#include "gateway/internal.h"

#include <stdarg.h>
#include <stdio.h>

void gw_log(gw *g, const char *level, const char *event, const char *fmt, ...)
{
    char when[32], rest[768];
    gw_iso_time(time(NULL), when);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g->log_lock);
    fprintf(stderr, "%s level=%s event=%s%s%s\n", when, level, event, *rest ? " " : "", rest);
    if (g->log) {
        fprintf(g->log, "%s level=%s event=%s%s%s\n", when, level, event, *rest ? " " : "", rest);
        fflush(g->log);
    }
    pthread_mutex_unlock(&g->log_lock);
}

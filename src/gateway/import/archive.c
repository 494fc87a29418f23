/* archive.c — the de-identified archive on disk and its index:
 * DATA_DIR/archive/<project>/<subject>/<session>/<series>/<SOPInstanceUID>.dcm,
 * where <series> is the de-identified SeriesInstanceUID. Every name comes
 * from labels checked by gw_label_ok or UIDs of digits and dots, so no
 * value can climb out of the folder. */
#include "gateway/import/archive.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool gw_label_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool uid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= 64 && s[0] != '.' && strspn(s, "0123456789.") == n;
}

bool gw_archive_path(const gw *g, const char *project, const char *subject, const char *session, const char *series,
                     const char *sop, char *out, size_t cap)
{
    if (!gw_label_ok(project) || !gw_label_ok(subject) || !gw_label_ok(session) || !uid_ok(series) ||
        (sop && !uid_ok(sop)))
        return false;
    int n = sop ? snprintf(out, cap, "%s/archive/%s/%s/%s/%s/%s.dcm", g->cfg.data_dir, project, subject, session,
                           series, sop)
                : snprintf(out, cap, "%s/archive/%s/%s/%s/%s", g->cfg.data_dir, project, subject, session, series);
    return n > 0 && (size_t)n < cap;
}

int gw_archive_remove_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].s) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", (const char *)ctx, c[0].s);
        unlink(full);
        /* folders left empty (series, session, subject) go too; rmdir fails on the others */
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(full, '/');
            if (!slash)
                break;
            *slash = '\0';
            if (rmdir(full) != 0)
                break;
        }
    }
    return 0;
}

const char *gw_archive_reason(const char *message)
{
    const char *end = NULL;
    for (const char *p = message; (p = strstr(p, ".dcm")); p += 4)
        end = p + 4;
    if (!end)
        return message;
    if (strncmp(end, ".tmp.", 5) == 0)
        end += 5 + strspn(end + 5, "0123456789abcdef");
    return strncmp(end, ": ", 2) == 0 ? end + 2 : message;
}

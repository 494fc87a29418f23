/* archive.h — where instances live in the archive (archive.c). */
#ifndef DQR_GW_ARCHIVE_H
#define DQR_GW_ARCHIVE_H

#include "gateway/internal.h"

/* Where an instance of the archive lives; false if a label or UID would
 * escape the folder. */
bool gw_archive_path(const gw *g, const char *project, const char *subject, const char *session, const char *series,
                     const char *sop, char *out, size_t cap);

/* Labels: 1 to 64 letters, digits, _ or - (they become folder names). */
bool gw_label_ok(const char *s);

/* A store_exec row callback removing the file at the row's first column (a
 * path under the data folder, ctx) and the folders it leaves empty
 * (series, session, subject). */
int gw_archive_remove_row(void *ctx, int n, const char *const *names, const store_val *c);

/* The reason in a failed archive write's message, after the file's paths
 * ("write failed: No space left on device", "rename: Input/output error"):
 * the paths are long and the session's error short. */
const char *gw_archive_reason(const char *message);

#endif

/* pixels.h — the image routes of the REST API (api_pixels.c) and what they
 * share with the archive browser (api_archive.c). */
#ifndef DQR_GW_API_PIXELS_H
#define DQR_GW_API_PIXELS_H

#include "dicom/dicom.h"
#include "gateway/internal.h"
#include "gateway/api/routes.h"

/* The instances of a series and one instance, as JSON for the viewer. */
extern const gw_route gw_routes_pixels[];

/* Reviewing refused frames: GET frame.png, POST release, DELETE
 * (quarantine.c; the list is api_quarantine.c's gw_routes_quarantine). */
extern const gw_route gw_routes_quarantine_review[];

/* Release a quarantined instance (release.c): black out boxes (a JSON array
 * of {left, top, width, height} as the verify step stores them, each widened
 * by 2 pixels, on every frame) in f with the pixel edit engine, mark the
 * pixels clean and archive f into the project, subject and session of
 * import session import_session (its label into session[65]). */
dqr_status gw_quarantine_mask_archive(gw *g, int64_t import_session, dcm_file *f, const json_t *boxes,
                                      char session[65], dqr_error *err);


/* The URL path of the WADO-RS thumbnail of series series_uid of study
 * study_uid in project, for the series listings: a new string (caller
 * frees); NULL when out of memory or a UID is missing (an instance archived
 * before the catalog kept study UIDs). */
char *gw_thumbnail_url(const char *project, const char *study_uid, const char *series_uid);

#endif

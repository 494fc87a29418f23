/* pixels.h — the image routes of the REST API (api_pixels.c) and what they
 * share with the archive browser (api_archive.c). */
#ifndef DQR_GW_API_PIXELS_H
#define DQR_GW_API_PIXELS_H

#include "gateway/internal.h"

/* Thumbnails, frames as PNG, the instances of a series, the quarantine review. */
extern const gw_route gw_routes_pixels[];

/* Whether the caller may use project r->arg[0] and it exists; else answers
 * 404 (the same for a project that exists and one that does not, so a user
 * without the grant learns nothing) and returns false. (api_archive.c) */
bool gw_archive_project_visible(gw_req *r);

/* The URL path of the thumbnail of series uid in project/session, for the
 * series listings: a new string (caller frees), NULL when out of memory. */
char *gw_thumbnail_url(const char *project, const char *session, const char *series_uid);

#endif

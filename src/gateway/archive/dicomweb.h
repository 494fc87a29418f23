/* dicomweb.h — the DICOMweb server on the de-identified archive (PS3.18):
 * QIDO-RS (qido_rs.c), WADO-RS (wado_rs.c) and STOW-RS (stow_rs.c) under
 * /dicom-web (every project the caller may read) and
 * /dicom-web/projects/{project} (one). dicomweb.c cuts the path into a
 * target and hands it to the service. docs/dicomweb.md is the user's page. */
#ifndef DQR_GW_ARCHIVE_DICOMWEB_H
#define DQR_GW_ARCHIVE_DICOMWEB_H

#include "gateway/archive/catalog_query.h"

enum { GW_DW_MAX_SEGS = 12 };

/* What a /dicom-web path names. */
typedef struct gw_dw_target {
    const char *project;                  /* NULL: every project the caller may read */
    const char *study, *series, *instance; /* UIDs named by the path, or NULL */
    const char *resource; /* the last word: "studies", "series", "instances" (a search), "metadata",
                             "frames", "bulkdata", "rendered", "thumbnail"; NULL: the object itself */
    const char *const *tail; /* segments after frames/bulkdata (frame list, tag path) */
    size_t ntail;
    char base[512];          /* absolute URL of this service root: http://host/dicom-web[/projects/p] */
} gw_dw_target;

/* A catalog query scoped to t and to what r's user may read. */
gw_cq gw_dw_scope(const gw_req *r, const gw_dw_target *t, gw_cq_level level);

/* The three services. Each answers r. */
void gw_qido(gw_req *r, const gw_dw_target *t);
void gw_wado(gw_req *r, const gw_dw_target *t);
void gw_stow(gw_req *r, const gw_dw_target *t);

#endif

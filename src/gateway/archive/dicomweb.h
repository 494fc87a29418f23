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

/* One archived instance a retrieval names (from the catalog). */
typedef struct gw_dw_item {
    char *path;    /* absolute */
    int64_t bytes; /* the file's size as the catalog has it (-1: not known) */
    char study[65], series[65], sop[65], ts[65];
} gw_dw_item;
/* The instances of t's scope that r's user may read, in series order, into
 * a new array (*out, *n; free with gw_dw_items_free). DQR_E_NOTFOUND when
 * there are none. */
dqr_status gw_dw_items(gw_req *r, const gw_dw_target *t, gw_dw_item **out, size_t *n, dqr_error *err);
void gw_dw_items_free(gw_dw_item *items, size_t n);

/* The Accept header's choice for a media type (type "application/dicom",
 * "application/octet-stream", ...): whether one of its ranges accepts it
 * (directly, in multipart/related, or as * / *), and the transfer-syntax it
 * asks for into ts[65] ("*": as stored; "" when not named). */
bool gw_dw_accepts(const gw_req *r, const char *type, char ts[65]);

/* Replace f's encapsulated (compressed) Pixel Data by its decoded frames,
 * native, with the photometric interpretation they decode to; f's transfer
 * syntax for writing is then Explicit VR Little Endian. Memory: one
 * instance decoded. */
dqr_status gw_dw_decompress(dcm_file *f, dqr_error *err);

/* The frames and bulk data of one instance (wado_frames.c). */
void gw_wado_frames(gw_req *r, const gw_dw_target *t, const gw_dw_item *it);
void gw_wado_bulkdata(gw_req *r, const gw_dw_target *t, const gw_dw_item *it);

/* A multipart/related answer held in memory: the parts so far. */
typedef struct gw_dw_parts {
    FILE *f;
    char *text;
    size_t len;
    char boundary[40];
    char ctype[160]; /* the answer's Content-Type */
} gw_dw_parts;
bool gw_dw_parts_open(gw_dw_parts *p, const char *type);
/* A part of content type ctype with len bytes. */
void gw_dw_part(gw_dw_parts *p, const char *ctype, const void *data, size_t len);
/* Close the parts and answer 200 with them (the answer takes the memory). */
void gw_dw_parts_send(gw_req *r, gw_dw_parts *p);

/* The 1-based frame numbers of list ("1,3,5") into out; 0 when malformed. */
size_t gw_dw_frame_list(const char *list, uint32_t *out, size_t max);

/* ---- rendered images (dicomweb_render.c) ---- */
typedef struct gw_dw_view {
    bool jpeg;             /* else PNG */
    int quality;           /* JPEG, 1..100 */
    bool window;           /* center/width given */
    double center, width;
    uint32_t vw, vh;       /* viewport; 0: none */
    uint32_t max_size;     /* the longer side at most (thumbnails); 0: full size */
} gw_dw_view;
/* The Accept header and the window, viewport and quality parameters; false
 * with why when they cannot be served. */
bool gw_dw_view_parse(const gw_req *r, bool thumbnail, gw_dw_view *v, char *why, size_t n);
/* Frame index (0-based) of the file at path rendered as v says: a new
 * buffer of *len bytes (PNG or JPEG), NULL with err. */
uint8_t *gw_dw_render(const char *path, uint32_t frame, const gw_dw_view *v, size_t *len, dqr_error *err);
/* Answer a rendered or thumbnail resource (takes items). */
void gw_wado_rendered(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n);
/* Answer a multipart of every instance's first frame rendered, streamed
 * (takes items). */
void gw_dw_stream(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n, const gw_dw_view *v);

/* The three services. Each answers r. */
void gw_qido(gw_req *r, const gw_dw_target *t);
/* Studies, series, instances (multipart application/dicom) or metadata
 * (DICOM JSON) of items, streamed (wado_rs.c); takes items. */
void gw_dw_retrieve(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n, bool metadata);
void gw_stow(gw_req *r, const gw_dw_target *t);

#endif

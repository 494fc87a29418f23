/* render.h — one frame of a DICOM file as a PNG, for the REST API: the
 * pixel layer's render core (src/pixel/render.c) behind the few options the
 * image routes give (frame, window, largest side). In memory only. */
#ifndef DQR_GW_API_RENDER_H
#define DQR_GW_API_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"

typedef struct gw_render_opts {
    uint32_t frame;        /* 0-based */
    bool window;           /* use center/width (rescaled units), else the dataset's window */
    double center, width;
    uint32_t max_size;     /* downscale so that no side exceeds it; 0: full size */
} gw_render_opts;

/* Frame o->frame of f as a PNG: a new malloc'd buffer in *png of *len bytes
 * (caller frees). DQR_E_NOTFOUND when f has no such frame or no pixel data,
 * DQR_E_UNSUPPORTED (naming it) for a syntax or photometric not rendered. */
dqr_status gw_render_png(const dcm_file *f, const gw_render_opts *o, uint8_t **png, size_t *len, dqr_error *err);

#endif

/* render.c — gw_render_png: one frame of a file through the pixel layer's
 * render core (px_render_file: decode, Modality LUT, window, downscale) and
 * its PNG encoder, all in memory. */
#include "gateway/api/render.h"

#include "pixel/pixel.h"

dqr_status gw_render_png(const dcm_file *f, const gw_render_opts *o, uint8_t **png, size_t *len, dqr_error *err)
{
    *png = NULL, *len = 0;
    px_render_opts ro = {.window = o->window, .center = o->center, .width = o->width, .max_size = o->max_size};
    px_image img = {0};
    dqr_status st = px_render_file(f, o->frame, &ro, &img, err);
    if (st == DQR_OK)
        st = px_png_encode(&img, png, len, err);
    px_image_free(&img);
    return st;
}

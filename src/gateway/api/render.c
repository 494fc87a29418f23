/* render.c — gw_render_png: decode one frame with the pixel layer and hand
 * it to the render core for window/level, downscale and PNG. */
#include "gateway/api/render.h"

#include "pixel/pixel.h"

dqr_status gw_render_png(const dcm_file *f, const gw_render_opts *o, uint8_t **png, size_t *len, dqr_error *err)
{
    (void)f, (void)o;
    *png = NULL, *len = 0;
    return dqr_error_set(err, DQR_E_UNSUPPORTED, "this dqr cannot render images yet (no render core)");
}

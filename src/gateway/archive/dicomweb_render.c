/* dicomweb_render.c — WADO-RS rendered and thumbnail resources (PS3.18
 * 10.4.1.1.3, 10.4.1.1.4 and 8.3.5): a frame made viewable by the pixel
 * layer's render core (px_render_file: Modality LUT, window, MONOCHROME1,
 * colour, area downscale), then PNG (px_png_encode) or JPEG (libjpeg).
 *
 * Query parameters: window=center,width[,linear], viewport=vw,vh (the
 * image scaled down to fit; never up, no cropping), quality=1..100 (JPEG).
 * A thumbnail is the middle instance's first frame, at most 128 pixels. */
#include "gateway/archive/dicomweb.h"
#include "pixel/pixel.h"

#include <jpeglib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THUMBNAIL_SIZE = 128 };

static char *bad(char *why, size_t n, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return why;
}

bool gw_dw_view_parse(const gw_req *r, bool thumbnail, gw_dw_view *v, char *why, size_t n)
{
    memset(v, 0, sizeof *v);
    v->quality = 90;
    v->max_size = thumbnail ? THUMBNAIL_SIZE : 0;
    char ts[65];
    v->jpeg = gw_dw_accepts(r, "image/jpeg", ts); /* the standard's default */
    if (!v->jpeg && !gw_dw_accepts(r, "image/png", ts))
        return !bad(why, n, "rendered images are image/jpeg or image/png");
    const char *w = http_query(r->http, "window"), *vp = http_query(r->http, "viewport");
    const char *q = http_query(r->http, "quality");
    if (w) {
        char fn[16] = "linear";
        int k = sscanf(w, "%lf,%lf,%15s", &v->center, &v->width, fn);
        if (k < 2 || v->width < 1 || strcmp(fn, "linear") != 0)
            return !bad(why, n, "window=center,width[,linear]: width at least 1, linear only");
        v->window = true;
    }
    if (vp) {
        char rest[8] = "";
        if (sscanf(vp, "%u,%u%7s", &v->vw, &v->vh, rest) < 2 || *rest || !v->vw || !v->vh)
            return !bad(why, n, "viewport=width,height (cropping is not supported)");
    }
    if (q) {
        char *end;
        long k = strtol(q, &end, 10);
        if (*end || k < 1 || k > 100)
            return !bad(why, n, "quality is from 1 to 100");
        v->quality = (int)k;
    }
    return true;
}

/* img as a baseline JPEG (grey or RGB) in a new buffer. */
static void one_image(gw_req *r, const gw_dw_item *it, uint32_t frame, const gw_dw_view *v)
{
    dqr_error err = {0};
    size_t len = 0;
    uint8_t *img = gw_dw_render(it->path, frame, v, &len, &err);
    if (!img)
        return gw_fail_err(r, &err);
    char *body = malloc(len ? len : 1);
    if (body)
        memcpy(body, img, len);
    free(img);
    body ? http_respond(r->http, 200, v->jpeg ? "image/jpeg" : "image/png", body, len)
         : (void)gw_fail(r, 500, "out of memory");
}

void gw_wado_rendered(gw_req *r, const gw_dw_target *t, gw_dw_item *items, size_t n)
{
    bool thumbnail = strcmp(t->resource, "thumbnail") == 0;
    gw_dw_view v;
    char why[160];
    if (!gw_dw_view_parse(r, thumbnail, &v, why, sizeof why)) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, strstr(why, "image/") ? 406 : 400, "%s", why);
    }
    uint32_t frames[256];
    size_t nf = t->ntail ? gw_dw_frame_list(t->tail[0], frames, 256) : 1;
    if (!t->ntail)
        frames[0] = 1;
    if (!nf) {
        gw_dw_items_free(items, n);
        return (void)gw_fail(r, 400, "frames: a comma-separated list of frame numbers from 1");
    }
    if (thumbnail || (t->instance && nf == 1)) {
        one_image(r, &items[thumbnail ? n / 2 : 0], frames[0] - 1, &v);
        gw_dw_items_free(items, n);
        return;
    }
    if (t->instance) { /* several frames of one instance */
        gw_dw_parts p;
        dqr_error err = {0};
        if (!gw_dw_parts_open(&p, v.jpeg ? "image/jpeg" : "image/png")) {
            gw_dw_items_free(items, n);
            return (void)gw_fail(r, 500, "out of memory");
        }
        for (size_t i = 0; i < nf; i++) {
            size_t len = 0;
            uint8_t *img = gw_dw_render(items[0].path, frames[i] - 1, &v, &len, &err);
            if (!img) {
                fclose(p.f);
                free(p.text);
                gw_dw_items_free(items, n);
                return gw_fail_err(r, &err);
            }
            gw_dw_part(&p, v.jpeg ? "image/jpeg" : "image/png", img, len);
            free(img);
        }
        gw_dw_items_free(items, n);
        return gw_dw_parts_send(r, &p);
    }
    gw_dw_stream(r, t, items, n, &v); /* a study or series: streamed, one instance rendered at a time */
}

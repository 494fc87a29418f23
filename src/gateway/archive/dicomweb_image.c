/* dicomweb_image.c — one archived frame as the image a WADO-RS rendered
 * or thumbnail resource answers: decoded, windowed and scaled by the render
 * core (src/pixel), encoded as PNG or JPEG (libjpeg). */
#include "gateway/archive/dicomweb.h"
#include "pixel/pixel.h"
#include <jpeglib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *jpeg_encode(const px_image *img, int quality, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *out = NULL;
    unsigned long size = 0;
    c.err = jpeg_std_error(&jerr); /* 8-bit input of a known size: libjpeg's errors cannot arise */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);
    c.image_width = img->width, c.image_height = img->height;
    c.input_components = img->channels;
    c.in_color_space = img->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->pixels + (size_t)c.next_scanline * img->width * img->channels;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = size;
    return out;
}

uint8_t *gw_dw_render(const char *path, uint32_t frame, const gw_dw_view *v, size_t *len, dqr_error *err)
{
    dcm_file *f = dcm_file_open(path, err);
    if (!f)
        return NULL;
    long rows = 0, cols = 0;
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0010), &rows);
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0011), &cols);
    px_render_opts o = {.window = v->window, .center = v->center, .width = v->width, .max_size = v->max_size};
    if (v->vw && rows > 0 && cols > 0) { /* fit vw x vh: the longer side's share of the scale */
        double s = (double)v->vw / (double)cols < (double)v->vh / (double)rows ? (double)v->vw / (double)cols
                                                                                : (double)v->vh / (double)rows;
        uint32_t longer = (uint32_t)((double)(rows > cols ? rows : cols) * s);
        if (s < 1 && (!o.max_size || longer < o.max_size))
            o.max_size = longer ? longer : 1;
    }
    px_image img = {0};
    uint8_t *out = NULL;
    if (px_render_file(f, frame, &o, &img, err) == DQR_OK) {
        if (v->jpeg)
            out = jpeg_encode(&img, v->quality, len);
        else if (px_png_encode(&img, &out, len, err) != DQR_OK)
            out = NULL;
    }
    px_image_free(&img);
    dcm_file_close(f);
    return out;
}

/* One image, not multipart: an instance, a frame, a thumbnail. */

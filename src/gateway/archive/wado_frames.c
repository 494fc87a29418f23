/* wado_frames.c — the pixel side of WADO-RS (PS3.18 10.4.1.1.4 and
 * 10.4.1.1.5): frames of an instance and its bulk data, decoded by src/pixel
 * when stored compressed (or sent as stored, frame by frame, when the
 * client accepts that syntax), and the decompression that lets a compressed
 * instance be sent as Explicit VR Little Endian. */
#include "gateway/archive/dicomweb.h"
#include "pixel/pixel.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- multipart answers held in memory (one instance's frames) ---- */

bool gw_dw_parts_open(gw_dw_parts *p, const char *type)
{
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(p->boundary, sizeof p->boundary, rnd, sizeof rnd);
    snprintf(p->ctype, sizeof p->ctype, "multipart/related; type=\"%s\"; boundary=%s", type, p->boundary);
    p->text = NULL, p->len = 0;
    return (p->f = open_memstream(&p->text, &p->len)) != NULL;
}

void gw_dw_part(gw_dw_parts *p, const char *ctype, const void *data, size_t len)
{
    fprintf(p->f, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", p->boundary, ctype);
    fwrite(data, 1, len, p->f);
}

void gw_dw_parts_send(gw_req *r, gw_dw_parts *p)
{
    fprintf(p->f, "\r\n--%s--\r\n", p->boundary);
    bool ok = !ferror(p->f);
    fclose(p->f);
    if (!ok) {
        free(p->text);
        return (void)gw_fail(r, 500, "out of memory");
    }
    http_add_header(r->http, "Content-Type", p->ctype);
    http_respond(r->http, 200, NULL, p->text, p->len);
}

/* ---- decoding ---- */

/* All frames of f decoded into one new buffer (even length). */
static uint8_t *decode_all(const dcm_file *f, px_info *info, size_t *len, dqr_error *err)
{
    px_frames *it = NULL;
    if (px_frames_open(f, &it, err) != DQR_OK)
        return NULL;
    *info = *px_frames_info(it);
    size_t fsz = px_frame_size(info), total = fsz * info->frames;
    uint8_t *all = malloc(total + 1);
    const uint8_t *frame;
    dqr_status st = all ? DQR_OK : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    for (uint32_t i = 0; st == DQR_OK && i < info->frames; i++)
        if ((st = px_frame_next(it, &frame, err)) == DQR_OK)
            memcpy(all + (size_t)i * fsz, frame, fsz);
    px_frames_close(it);
    if (st != DQR_OK) {
        free(all);
        return NULL;
    }
    if (total % 2)
        all[total++] = 0;
    *len = total;
    return all;
}

dqr_status gw_dw_decompress(dcm_file *f, dqr_error *err)
{
    px_info info;
    size_t len = 0;
    uint8_t *all = decode_all(f, &info, &len, err);
    if (!all)
        return err->code ? err->code : DQR_E_NOMEM;
    dcm_dataset *ds = dcm_file_dataset(f);
    dcm_dataset_remove(ds, DCM_TAG_PIXEL_DATA);
    bool ok = dcm_dataset_set_bytes(ds, DCM_TAG_PIXEL_DATA, info.bits_allocated > 8 ? DCM_VR_OW : DCM_VR_OB, all, len,
                                    err) != NULL &&
              dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, px_photometric_name(info.photometric),
                                     err) != NULL;
    if (ok && info.samples > 1)
        ok = dcm_dataset_set_text(ds, DCM_TAG(0x0028, 0x0006), DCM_VR_US, "0", NULL, err) != NULL;
    free(all);
    return ok ? DQR_OK : err->code;
}

/* ---- frames ---- */

size_t gw_dw_frame_list(const char *list, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (const char *p = list; *p && n < max;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || v == 0 || v > UINT32_MAX || (*end && *end != ','))
            return 0;
        out[n++] = (uint32_t)v;
        p = *end ? end + 1 : end;
    }
    return n;
}

/* The media type of a frame of compressed syntax ts (PS3.18 8.7.3.3.2), or NULL. */
static const char *frame_media(const char *ts)
{
    static const char *const map[][2] = {
        {"1.2.840.10008.1.2.4.50", "image/jpeg"},  {"1.2.840.10008.1.2.4.51", "image/jpeg"},
        {"1.2.840.10008.1.2.4.57", "image/jpeg"},  {"1.2.840.10008.1.2.4.70", "image/jpeg"},
        {"1.2.840.10008.1.2.4.80", "image/jls"},   {"1.2.840.10008.1.2.4.81", "image/jls"},
        {"1.2.840.10008.1.2.4.90", "image/jp2"},   {"1.2.840.10008.1.2.4.91", "image/jp2"},
        {"1.2.840.10008.1.2.5", "image/dicom-rle"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], ts) == 0)
            return map[i][1];
    return NULL;
}

/* Frames sent as stored (media: their part type): one fragment per frame. */
static bool send_stored_frames(gw_req *r, const dcm_file *f, const gw_dw_item *it, const char *media,
                               const uint32_t *want, size_t n)
{
    const dcm_element *px = dcm_dataset_get(dcm_file_dataset(f), DCM_TAG_PIXEL_DATA);
    long frames = 1;
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0008), &frames);
    /* fragment 0 is the Basic Offset Table */
    size_t nfrag = px && dcm_element_is_encapsulated(px) ? dcm_element_fragment_count(px) : 0;
    if (nfrag < 2 || (long)nfrag - 1 != frames)
        return false; /* frames split over fragments: decoded instead */
    gw_dw_parts p;
    if (!gw_dw_parts_open(&p, media))
        return false;
    char ctype[128];
    snprintf(ctype, sizeof ctype, "%s; transfer-syntax=%s", media, it->ts);
    for (size_t i = 0; i < n; i++) {
        uint32_t len = dcm_element_fragment_length(px, want[i]);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf || dcm_element_read_fragment(px, want[i], 0, buf, len, NULL) != DQR_OK) {
            free(buf);
            fclose(p.f);
            free(p.text);
            return false;
        }
        gw_dw_part(&p, ctype, buf, len);
        free(buf);
    }
    gw_dw_parts_send(r, &p);
    return true;
}

static void send_decoded_frames(gw_req *r, const dcm_file *f, const uint32_t *want, size_t n)
{
    dqr_error err = {0};
    px_frames *pf = NULL;
    if (px_frames_open(f, &pf, &err) != DQR_OK)
        return gw_fail_err(r, &err);
    gw_dw_parts p;
    if (!gw_dw_parts_open(&p, "application/octet-stream")) {
        px_frames_close(pf);
        return (void)gw_fail(r, 500, "out of memory");
    }
    size_t fsz = px_frame_size(px_frames_info(pf));
    for (size_t i = 0; i < n; i++) {
        const uint8_t *frame;
        if (px_frame_get(pf, want[i] - 1, &frame, &err) != DQR_OK) {
            px_frames_close(pf);
            fclose(p.f);
            free(p.text);
            return gw_fail_err(r, &err);
        }
        gw_dw_part(&p, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", frame, fsz);
    }
    px_frames_close(pf);
    gw_dw_parts_send(r, &p);
}

void gw_wado_frames(gw_req *r, const gw_dw_target *t, const gw_dw_item *it)
{
    uint32_t want[256];
    size_t n = t->ntail == 1 ? gw_dw_frame_list(t->tail[0], want, 256) : 0;
    if (!n)
        return (void)gw_fail(r, 400, "frames: a comma-separated list of frame numbers from 1");
    char ts[65];
    /* as stored: octet-stream with transfer-syntax=* or the stored UID, or
     * the stored syntax's own media type named in Accept (image/jls, ...) */
    const char *media = frame_media(it->ts), *accept = http_header(r->http, "Accept");
    bool by_media = media && accept && strcasestr(accept, media) && gw_dw_accepts(r, media, ts);
    bool stored = by_media || (gw_dw_accepts(r, "application/octet-stream", ts) &&
                               (strcmp(ts, "*") == 0 || strcmp(ts, it->ts) == 0));
    if (!stored && !gw_dw_accepts(r, "application/octet-stream", ts))
        return (void)gw_fail(r, 406, "frames are sent as multipart/related; type=\"application/octet-stream\"");
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(it->path, &err);
    if (!f)
        return (void)gw_fail(r, 500, "the archive file of instance %s cannot be read", it->sop);
    long frames = 1;
    dcm_dataset_get_int(dcm_file_dataset(f), DCM_TAG(0x0028, 0x0008), &frames);
    for (size_t i = 0; i < n; i++)
        if (want[i] > (uint32_t)frames) {
            dcm_file_close(f);
            return (void)gw_fail(r, 404, "instance %s has %ld frame(s), not %u", it->sop, frames, want[i]);
        }
    if (!stored || !send_stored_frames(r, f, it, by_media ? media : "application/octet-stream", want, n))
        send_decoded_frames(r, f, want, n);
    dcm_file_close(f);
}

/* ---- bulk data ---- */

/* The element named by a BulkDataURI path: tag[/item/tag]... */
static const dcm_element *find_element(const dcm_dataset *ds, const char *const *seg, size_t n)
{
    const dcm_element *el = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned long tag = strtoul(seg[i], NULL, 16);
        if (strlen(seg[i]) != 8 || !ds || !(el = dcm_dataset_get(ds, (uint32_t)tag)))
            return NULL;
        if (i + 1 < n) {
            unsigned long item = strtoul(seg[++i], NULL, 10);
            ds = dcm_element_is_sequence(el) && item < dcm_element_item_count(el) ? dcm_element_item(el, item) : NULL;
        }
    }
    return el;
}

void gw_wado_bulkdata(gw_req *r, const gw_dw_target *t, const gw_dw_item *it)
{
    char ts[65];
    if (!gw_dw_accepts(r, "application/octet-stream", ts))
        return (void)gw_fail(r, 406, "bulk data is sent as multipart/related; type=\"application/octet-stream\"");
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(it->path, &err);
    if (!f)
        return (void)gw_fail(r, 500, "the archive file of instance %s cannot be read", it->sop);
    const dcm_element *el = find_element(dcm_file_dataset(f), t->tail, t->ntail);
    uint8_t *data = NULL;
    size_t len = 0;
    px_info info;
    if (el && dcm_element_is_encapsulated(el))
        data = decode_all(f, &info, &len, &err); /* compressed pixel data: decoded, as the metadata says native */
    else if (el && !dcm_element_is_sequence(el) && (data = malloc((len = dcm_element_length(el)) + 1)) &&
             dcm_element_read(el, 0, data, len, &err) != DQR_OK) {
        free(data);
        data = NULL;
    }
    dcm_file_close(f);
    if (!el)
        return (void)gw_fail(r, 404, "instance %s has no such bulk data", it->sop);
    if (!data)
        return (void)gw_fail(r, 500, "the bulk data of instance %s cannot be read", it->sop);
    gw_dw_parts p;
    if (!gw_dw_parts_open(&p, "application/octet-stream")) {
        free(data);
        return (void)gw_fail(r, 500, "out of memory");
    }
    gw_dw_part(&p, "application/octet-stream", data, len);
    free(data);
    gw_dw_parts_send(r, &p);
}

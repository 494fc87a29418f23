/* quarantine.c — reviewing the instances the burned-in text check refused
 * (pixel_quarantine: a row per refused frame with the words' boxes, the
 * instance sealed once under DATA_DIR/quarantine/): the original frame as
 * PNG, release (mask every box of the instance and archive it) and delete.
 * Release and delete act on the instance: all its rows go. The list and one
 * entry's JSON are api_quarantine.c's.
 *
 * The refused frame may show PHI: only administrators with the phi
 * permission reach these routes, the file is unsealed and rendered in
 * memory only (the plain bytes are wiped after use), and every view is
 * audited before the image is sent (no audit, no image). */
#include "gateway/api/pixels.h"
#include "gateway/api/render.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One quarantine row: what the routes need of it. */
typedef struct entry {
    int64_t id, import_session;
    char file[128];
    uint32_t frame; /* 1-based, as stored */
} entry;

static int read_entry(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    entry *e = ctx;
    if (n < 3 || !c[0].s)
        return 1;
    snprintf(e->file, sizeof e->file, "%s", c[0].s);
    e->frame = c[1].i > 0 ? (uint32_t)c[1].i : 1;
    e->import_session = c[2].i;
    return 1;
}

/* The entry r->arg[0] names, for an admin with the phi permission; false
 * after answering 403 or 404. */
static bool load_entry(gw_req *r, entry *e)
{
    memset(e, 0, sizeof *e);
    if (!r->user.phi) {
        gw_audit_req(r, "access_denied", r->route);
        return gw_fail(r, 403, "reviewing refused images needs the phi permission");
    }
    char *end = NULL;
    e->id = strtoll(r->arg[0], &end, 10);
    if (*end || e->id <= 0)
        return gw_fail(r, 404, "no quarantine entry %s", r->arg[0]);
    store_exec(r->g->db, "SELECT file, frame, session_id FROM pixel_quarantine WHERE id = ?",
               (store_val[]){STORE_I(e->id)}, 1, read_entry, e, NULL, NULL);
    /* a file name is what the verify step made: no folder may be named */
    if (!e->file[0] || strchr(e->file, '/') || e->file[0] == '.')
        return gw_fail(r, 404, "no quarantine entry %s", r->arg[0]);
    return true;
}

/* The sealed file: quarantine/NAME.sealed, as the receiver names them. */
static void sealed_path(const gw *g, const entry *e, char *out, size_t cap)
{
    size_t n = strlen(e->file);
    bool suffixed = n > 7 && strcmp(e->file + n - 7, ".sealed") == 0;
    snprintf(out, cap, "%s/quarantine/%s%s", g->cfg.data_dir, e->file, suffixed ? "" : ".sealed");
}

/* The quarantined instance, unsealed and parsed (copies its values: the
 * plain bytes are wiped before returning); NULL with err filled. */
static dcm_file *unsealed(gw *g, const entry *e, dqr_error *err)
{
    char path[4096];
    sealed_path(g, e, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        dqr_error_set(err, DQR_E_NOTFOUND, "the sealed file of quarantine entry %lld is gone", (long long)e->id);
        return NULL;
    }
    char *text = NULL, *plain = NULL;
    size_t cap = 0, n = 0;
    FILE *mem = open_memstream(&text, &cap);
    char buf[65536];
    size_t got;
    while (mem && (got = fread(buf, 1, sizeof buf, fp)) > 0)
        fwrite(buf, 1, got, mem);
    fclose(fp);
    if (!mem || fclose(mem) != 0) {
        free(text);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory reading quarantine entry %lld", (long long)e->id);
        return NULL;
    }
    dcm_file *f = NULL;
    if (store_vault_unseal(g->vault, text, &plain, &n, err) == DQR_OK) {
        f = gw_parse_instance(g, plain, n, false, err);
        sodium_memzero(plain, n);
    }
    free(plain);
    free(text);
    return f;
}

static void frame_png(gw_req *r)
{
    entry e;
    if (!load_entry(r, &e))
        return;
    dqr_error err = {0};
    dcm_file *f = unsealed(r->g, &e, &err);
    if (!f) {
        gw_fail_err(r, &err);
        return;
    }
    uint8_t *png = NULL;
    size_t len = 0;
    gw_render_opts o = {.frame = e.frame - 1};
    dqr_status st = gw_render_png(f, &o, &png, &len, &err);
    dcm_file_close(f);
    if (st != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    if (gw_audit_req(r, "phi_view_quarantine_frame", r->arg[0]) != DQR_OK) {
        sodium_memzero(png, len);
        free(png);
        gw_fail(r, 500, "the audit log cannot be written, so the image is not shown");
        return;
    }
    http_respond(r->http, 200, "image/png", (char *)png, len);
}

/* The instance's rows (one per refused frame) and its file go; false when
 * they were gone already. */
static bool forget(gw *g, const entry *e)
{
    char path[4096];
    int64_t n = 0;
    sealed_path(g, e, path, sizeof path);
    store_exec(g->db, "DELETE FROM pixel_quarantine WHERE file = ?", (store_val[]){STORE_S(e->file)}, 1, NULL, NULL,
               &n, NULL);
    if (unlink(path) != 0 && errno != ENOENT)
        gw_log(g, "error", "quarantine", "id=%lld action=unlink_failed", (long long)e->id);
    return n > 0;
}

static void remove_entry(gw_req *r)
{
    entry e;
    if (!load_entry(r, &e))
        return;
    if (!forget(r->g, &e)) {
        gw_fail(r, 404, "no quarantine entry %s", r->arg[0]);
        return;
    }
    gw_audit_req(r, "quarantine_delete", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b,s:I}", "ok", 1, "id", (json_int_t)e.id));
}

static int add_boxes(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    json_t *all = ctx, *boxes = n > 0 && c[0].s ? json_loads(c[0].s, 0, NULL) : NULL;
    if (json_is_array(boxes))
        json_array_extend(all, boxes);
    json_decref(boxes);
    return 0;
}

static void release(gw_req *r)
{
    entry e;
    if (!load_entry(r, &e))
        return;
    dqr_error err = {0};
    json_t *boxes = json_array(); /* every refused frame's: a word on one frame is masked on all */
    store_exec(r->g->db, "SELECT boxes FROM pixel_quarantine WHERE file = ?", (store_val[]){STORE_S(e.file)}, 1,
               add_boxes, boxes, NULL, NULL);
    dcm_file *f = unsealed(r->g, &e, &err);
    char session[65] = "";
    dqr_status st =
        f ? gw_quarantine_mask_archive(r->g, e.import_session, f, boxes, session, &err) : (dqr_status)err.code;
    dcm_file_close(f);
    json_decref(boxes);
    if (st != DQR_OK) {
        gw_fail(r, st == DQR_E_UNSUPPORTED ? 501 : gw_http_status(st), "%s", err.message);
        return;
    }
    forget(r->g, &e);
    gw_audit_req(r, "quarantine_release", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b,s:I,s:s}", "ok", 1, "id", (json_int_t)e.id, "session", session));
}

const gw_route gw_routes_quarantine_review[] = {
    {"GET", "/api/v1/quarantine/{}/frame.png", GW_ADMIN, frame_png},
    {"POST", "/api/v1/quarantine/{}/release", GW_ADMIN, release},
    {"DELETE", "/api/v1/quarantine/{}", GW_ADMIN, remove_entry},
    {NULL, NULL, GW_PUBLIC, NULL},
};

/* pixel_clean.c — the pipeline's pixel-cleaning step (pixel_clean.h). The
 * rules are compiled once per import session, with its scripts; they are
 * matched on each instance before the scripts, its regions only attached
 * after them, and filled by the archive write, frame by frame
 * (px_edit_attach). */
#include "gateway/import/pixel_clean.h"
#include "gateway/core/sealed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

dqr_status gw_pixel_rules_load(gw *g, const char *project, gw_pixel_rules *r, dqr_error *err)
{
    memset(r, 0, sizeof *r);
    const char *site = g->cfg.pixel_rules_file;
    if (site && *site && !(r->site = anon_pixel_rules_load(site, err))) {
        dqr_error_prefix(err, "pixel_rules_file: ");
        return err ? err->code : DQR_E_PARSE;
    }
    json_t *row = gw_row(g, "SELECT pixel_rules AS t FROM projects WHERE id = ?", (store_val[]){STORE_S(project)}, 1,
                         NULL);
    const char *text = row ? json_string_value(json_object_get(row, "t")) : NULL;
    dqr_status st = DQR_OK;
    if (text && *text && !(r->project = anon_pixel_rules_parse(text, strlen(text), "project pixel rules", err)))
        st = err ? err->code : DQR_E_PARSE;
    json_decref(row);
    if (st)
        gw_pixel_rules_free(r);
    return st;
}

void gw_pixel_rules_free(gw_pixel_rules *r)
{
    anon_pixel_rules_free(r->site);
    anon_pixel_rules_free(r->project);
    memset(r, 0, sizeof *r);
}

dqr_status gw_pixel_match(const gw_pixel_rules *r, const dcm_dataset *ds, px_edit **matched, dqr_error *err)
{
    const anon_pixel_rules *sets[2] = {r->project, r->site};
    return anon_pixel_rules_regions(sets, 2, ds, matched, err);
}

static void keep_undo(const dcm_file *f, gw_pixel_undo *u)
{
    memset(u, 0, sizeof *u);
    const dcm_dataset *ds = dcm_file_dataset(f);
    snprintf(u->ts, sizeof u->ts, "%s", dcm_file_transfer_syntax(f));
    dcm_dataset_get_string(ds, DCM_TAG(0x0028, 0x0004), u->photometric, sizeof u->photometric);
    long planar = 0;
    u->has_planar = dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0006), &planar);
    u->planar[0] = (uint8_t)planar;
}

dqr_status gw_pixel_clean(const px_edit *matched, const anon_session *as, dcm_file *f, gw_pixel_undo *undo,
                          size_t *regions, dqr_error *err)
{
    if (undo)
        keep_undo(f, undo);
    return anon_clean_pixels(f, as, matched, regions, err);
}

bool gw_pixel_unclean(const dqr_error *err)
{
    return err && (err->code == DQR_E_UNSUPPORTED || err->code == DQR_E_PARSE || err->code == DQR_E_LIMIT);
}

/* f as received but for the scripts: no writer, the dataset as it was. */
static dqr_status restore(dcm_file *f, const gw_pixel_undo *u, dqr_error *err)
{
    dcm_dataset *ds = dcm_file_dataset(f);
    dqr_status st = dcm_file_set_pixel_writer(f, NULL, err);
    if (!st && u->ts[0])
        st = dcm_file_set_transfer_syntax(f, u->ts, err);
    if (!st && u->photometric[0] && !dcm_dataset_set_string(ds, DCM_TAG(0x0028, 0x0004), DCM_VR_CS, u->photometric, err))
        st = err ? err->code : DQR_E_NOMEM;
    if (!st && u->has_planar && !dcm_dataset_set_bytes(ds, DCM_TAG(0x0028, 0x0006), DCM_VR_US, u->planar, 2, err))
        st = err ? err->code : DQR_E_NOMEM;
    return st;
}

dqr_status gw_pixel_quarantine(gw *g, int64_t session, const char *project, dcm_file *f, const gw_pixel_undo *undo,
                               const char *why, char name[25], dqr_error *err)
{
    dqr_status st = restore(f, undo, err);
    if (!st)
        st = gw_quarantine_seal_file(g, f, name, err);
    if (st)
        return st;
    char reason[300];
    snprintf(reason, sizeof reason, "%s: %.250s", GW_PIXEL_UNCLEAN_REASON, why);
    st = store_exec(g->db,
                    "INSERT INTO pixel_quarantine(session_id, project, file, frame, boxes, reason, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (store_val[]){STORE_I(session), STORE_S(project), STORE_S(name), STORE_I(1), STORE_S("[]"),
                                  STORE_S(reason), STORE_I(time(NULL))},
                    7, NULL, NULL, NULL, err);
    if (!st)
        gw_log(g, "warn", "pixel_quarantine", "session=%lld file=%s reason=unclean", (long long)session, name);
    return st;
}

/* pixel_clean.c — the pipeline's pixel-cleaning step (pixel_clean.h). The
 * rules are compiled once per import session, with its scripts; the
 * regions are only attached here, and filled by the archive write, frame by
 * frame (px_edit_attach). */
#include "gateway/import/pixel_clean.h"

#include <stdlib.h>
#include <string.h>

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

dqr_status gw_pixel_clean(const gw_pixel_rules *r, const anon_session *as, dcm_file *f, dqr_error *err)
{
    const anon_pixel_rules *sets[2] = {r->project, r->site};
    return anon_clean_pixels(f, as, sets, 2, NULL, err);
}

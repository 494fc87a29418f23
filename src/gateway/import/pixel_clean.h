/* pixel_clean.h — the pixel-cleaning step of the import pipeline, between
 * the project script and the verify step: the scripts' alterPixels regions
 * and the regions of the site-wide (pixel_rules_file) and the project's
 * (projects.pixel_rules) CTP pixel rules, filled as the instance is written
 * to the archive. */
#ifndef DQR_GW_PIXEL_CLEAN_H
#define DQR_GW_PIXEL_CLEAN_H

#include "anon/anon.h"
#include "gateway/internal.h"

typedef struct gw_pixel_rules {
    anon_pixel_rules *site;    /* pixel_rules_file, or NULL */
    anon_pixel_rules *project; /* the project's pixel_rules, or NULL */
} gw_pixel_rules;

/* Compile the site's rules file and project's stored rules (either may be
 * absent). On failure err names which; r is left empty. */
dqr_status gw_pixel_rules_load(gw *g, const char *project, gw_pixel_rules *r, dqr_error *err);
void gw_pixel_rules_free(gw_pixel_rules *r);

/* After the scripts ran on f's dataset in session as (under the job's lock:
 * the session's regions are the current instance's): attach the regions to
 * f and mark it clean (anon_clean_pixels). On failure f must not be
 * archived. */
dqr_status gw_pixel_clean(const gw_pixel_rules *r, const anon_session *as, dcm_file *f, dqr_error *err);

#endif

/* pixel_clean.h — the pixel-cleaning step of the import pipeline: the
 * site-wide (pixel_rules_file) and the project's (projects.pixel_rules) CTP
 * pixel rules matched on the instance as received, before the scripts (as
 * CTP's DicomPixelAnonymizer sits before its anonymizer), and, after the
 * project script, their regions and the scripts' alterPixels regions
 * attached, to be filled as the instance is written to the archive. An
 * instance whose pixels cannot be cleaned goes to the sealed quarantine. */
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

/* Before the scripts: the regions of the rules' signatures that match ds
 * as received (anon_pixel_rules_regions); *matched NULL when none. */
dqr_status gw_pixel_match(const gw_pixel_rules *r, const dcm_dataset *ds, px_edit **matched, dqr_error *err);

/* What the cleaning changed in f's dataset besides its pixels: put back
 * when f is quarantined with its pixels as received. */
typedef struct gw_pixel_undo {
    char ts[65], photometric[17];
    uint8_t planar[2];
    bool has_planar;
} gw_pixel_undo;

/* After the scripts ran on f's dataset in session as (under the job's lock:
 * the session's regions are the current instance's): attach the regions
 * (the scripts' and `matched`) to f and mark it clean (anon_clean_pixels).
 * undo (may be NULL) gets what to put back. On failure f must not be
 * archived (gw_pixel_unclean says whether to quarantine it). */
dqr_status gw_pixel_clean(const px_edit *matched, const anon_session *as, dcm_file *f, gw_pixel_undo *undo,
                          size_t *regions, dqr_error *err);

/* Does err, from gw_pixel_clean or from writing a file with regions
 * attached, say that the pixels could not be decoded or encoded (not a
 * disk or memory failure)? */
bool gw_pixel_unclean(const dqr_error *err);

/* Seal f (de-identified; its pixel writer removed and undo put back, so
 * the pixels are the ones received) into the quarantine with one
 * pixel_quarantine row, reason "pixels could not be cleaned: <why>", for
 * the review (which can only delete it: releasing would archive pixels not
 * cleaned). why has no DICOM value (codec messages). */
dqr_status gw_pixel_quarantine(gw *g, int64_t session, const char *project, dcm_file *f, const gw_pixel_undo *undo,
                               const char *why, char name[25], dqr_error *err);

/* The reason gw_pixel_quarantine gives, to recognise its rows. */
#define GW_PIXEL_UNCLEAN_REASON "pixels could not be cleaned"

#endif

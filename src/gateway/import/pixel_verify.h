/* pixel_verify.h — the burned-in text check of the import pipeline (issue
 * #14 item 4): after the header verify, the pixels of an instance at risk
 * are read by OCR and the words found meet ocr_policy. docs/pixel.md,
 * "Burned-in text"; settings ocr* in docs/configuration.md. */
#ifndef DQR_GW_PIXEL_VERIFY_H
#define DQR_GW_PIXEL_VERIFY_H

#include <stdbool.h>

#include "dicom/dicom.h"

struct gw;
struct gw_job;
struct px_ocr;

/* What the check did to an instance. */
typedef enum gw_pixel_verdict {
    GW_PX_NOT_READ,    /* ocr off, not at risk, or no Pixel Data */
    GW_PX_CLEAN,       /* read, nothing found: marked clean */
    GW_PX_WARNED,      /* words found, ocr_policy warn: archive as it is */
    GW_PX_MASKED,      /* words found and masked (filled when f is written): marked clean */
    GW_PX_QUARANTINED  /* words found, ocr_policy refuse: sealed in quarantine, do not archive */
} gw_pixel_verdict;

/* Check *f (de-identified, its pixel-cleaning regions attached; `cleaned`
 * when there were any, so the check reads the pixels as they will be
 * archived). Masking a cleaned file replaces *f by a new one (the old one is
 * closed) holding the cleaned pixels and the masks. Counts frames_checked / _masked / _refused on j. On failure
 * (a frame that does not decode, Tesseract, the quarantine write) the
 * instance must not be archived: err says why, without PHI. Thread-safe:
 * each call takes an engine from g's idle engines (one per worker at most). */
dqr_status gw_pixel_verify(struct gw *g, struct gw_job *j, dcm_file **f, bool cleaned, gw_pixel_verdict *verdict,
                           dqr_error *err);

/* Free g's idle OCR engines (at stop). */
void gw_ocr_engines_free(struct gw *g);

#endif

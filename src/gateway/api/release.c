/* release.c — gw_quarantine_mask_archive, the "release" of a refused
 * instance: mask its boxes and archive it.
 *
 * MERGE NOTE (for the lead): this branch has neither the pixel edit engine
 * (h-pxedit's px_edit, src/pixel/edit.c) nor an archive step callable
 * outside receiver.c, so release answers 501 here. Wiring it is: look up
 * project/subject/session of import_session, turn boxes into px_edit
 * regions (fill 0) for every frame, and write f through receiver.c's
 * archive step (made callable with those labels instead of a gw_job). */
#include "gateway/api/pixels.h"

dqr_status gw_quarantine_mask_archive(gw *g, int64_t import_session, dcm_file *f, const json_t *boxes,
                                      char session[65], dqr_error *err)
{
    (void)g, (void)import_session, (void)f, (void)boxes;
    session[0] = '\0';
    return dqr_error_set(err, DQR_E_UNSUPPORTED,
                         "release needs the pixel edit engine, which this dqr does not have: delete the entry, "
                         "or import the study again with a pixel rule for this region");
}

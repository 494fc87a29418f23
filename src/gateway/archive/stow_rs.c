/* stow_rs.c — STOW-RS into a project (PS3.18 10.5). */
#include "gateway/archive/dicomweb.h"

void gw_stow(gw_req *r, const gw_dw_target *t)
{
    (void)t;
    gw_fail(r, 501, "STOW-RS is not available yet");
}

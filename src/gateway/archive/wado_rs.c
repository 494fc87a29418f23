/* wado_rs.c — WADO-RS retrieval from the archive (PS3.18 10.4). */
#include "gateway/archive/dicomweb.h"

void gw_wado(gw_req *r, const gw_dw_target *t)
{
    (void)t;
    gw_fail(r, 501, "WADO-RS is not available yet");
}

/* wado.h — retrieving a session from a DICOMweb PACS (wado.c). */
#ifndef DQR_GW_WADO_H
#define DQR_GW_WADO_H

#include "gateway/import/job.h"

/* Retrieve j's study (or chosen series) from DICOMweb PACS p by WADO-RS
 * into the pool; *expected grows by the instances received. */
dqr_status gw_wado_retrieve(gw *g, gw_job *j, const gw_pacs *p, int *expected, dqr_error *err);

#endif

/* qido.h — searching a DICOMweb PACS (qido.c). */
#ifndef DQR_GW_QIDO_H
#define DQR_GW_QIDO_H

#include "gateway/pacs/query.h"

/* The QIDO-RS half of gw_query_run (qido.c). */
dqr_status gw_qido_run(gw *g, const gw_pacs *p, const char *level, const json_t *keys, size_t max,
                       gw_query_result *out, dqr_error *err);

#endif

/* listeners.h — start and stop dqr's DICOM receivers (listeners.c). */
#ifndef DQR_GW_LISTENERS_H
#define DQR_GW_LISTENERS_H

#include "gateway/internal.h"

/* Start every configured receiver (the main one first). */
dqr_status gw_listeners_start(gw *g, dqr_error *err);
/* Stop and free them (after the scheduler: transfers are over). */
void gw_listeners_stop(gw *g);
/* The AE title names one of dqr's running receivers. */
bool gw_receiver_known(const gw *g, const char *aet);

#endif

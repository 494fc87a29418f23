/* parse.h — the dataset decoder used by file.c; internal to src/dicom. */
#ifndef DQR_DICOM_PARSE_H
#define DQR_DICOM_PARSE_H

#include "dicom/internal.h"
#include "dicom/stream.h"

/* Parse elements from st into ds until the stream ends. src, if not NULL, is
 * the file st reads, and large values are deferred to it. With borrow, a
 * memory stream's large values point into its buffer instead of a copy. */
dqr_status dcm_parse_dataset(dcm_stream *st, dcm_source *src, bool explicit_vr, bool big_endian,
                             dcm_dataset *ds, bool borrow, dqr_error *err);

/* Parse group 0002 elements (explicit VR LE, or implicit if the bytes say so)
 * from st into meta, stopping before the first element of another group. */
dqr_status dcm_parse_meta(dcm_stream *st, dcm_dataset *meta, dqr_error *err);

#endif

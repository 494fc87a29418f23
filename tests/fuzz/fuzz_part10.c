/* fuzz_part10.c — libFuzzer target for the Part 10 / dataset parser.
 * Every input is parsed; whatever parses is printed as JSON and text and
 * re-encoded in each transfer syntax, so the writers see odd trees too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dicom/dicom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse(data, size, &err);
    if (!f)
        return 0;
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        dcm_dump_json(dcm_file_dataset(f), null, 0, &err);
        dcm_dump_text(f, null, NULL, &err);
        fclose(null);
    }
    static const char *const ts[] = {DCM_TS_IMPLICIT_LE, DCM_TS_EXPLICIT_LE, DCM_TS_EXPLICIT_BE,
                                     DCM_TS_DEFLATED_LE};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        if (dcm_dataset_encode(dcm_file_dataset(f), ts[i], &out, &len, &err) == DQR_OK)
            free(out);
    }
    dcm_file_close(f);
    dcm_file_close(dcm_file_parse_borrowed(data, size, &err)); /* the zero-copy path too */
    return 0;
}

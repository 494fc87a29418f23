/* fuzz_pdu.c — libFuzzer target for the Upper Layer A-ASSOCIATE parser (as
 * requestor and as acceptor sees it) and the DIMSE command set parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/pdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_error err = {0};
    assoc_info info;
    net_params *p = calloc(1, sizeof *p);
    if (!p)
        return 0;
    /* as an acceptor reads an A-ASSOCIATE-RQ body */
    if (pdu_parse_associate(data, size, PDU_ASSOC_RQ, p, &info, &err) == DQR_OK) {
        bytes b = {0};
        pdu_build_associate(&b, PDU_ASSOC_AC, p); /* answering what was parsed */
        free(b.p);
    }
    /* as a requestor reads an A-ASSOCIATE-AC to its own proposal */
    memset(p, 0, sizeof *p);
    static const char *const ts[] = {DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, NULL};
    for (int i = 0; i < 8; i++)
        net_params_add(p, "1.2.840.10008.5.1.4.1.1.2", ts);
    pdu_parse_associate(data, size, PDU_ASSOC_AC, p, &info, &err);
    free(p);
    /* a DIMSE command set, as net_recv_command parses it */
    dcm_file *f = dcm_file_parse(data, size, &err);
    dcm_file_close(f);
    return 0;
}

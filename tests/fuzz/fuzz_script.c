/* fuzz_script.c — libFuzzer target for the DicomEdit 6 pre-processors,
 * lexer and parser; whatever compiles is also run over a small dataset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_error err = {0};
    anon_script *s = anon_script_compile((const char *)data, size, "fuzz.das", &err);
    if (!s)
        return 0;
    anon_settings set;
    memset(&set, 0, sizeof set);
    anon_engine *e = anon_engine_new(&set, &err);
    anon_engine_add_script(e, s, &err);
    anon_session *ss = anon_session_new(e, &err);
    anon_session_set_var(ss, "subject", "S01", &err);
    dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_string(ds, DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "Doe^John", &err);
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0020), DCM_VR_DA, "20200101", &err);
    dcm_element *sq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    dcm_dataset *item = dcm_element_append_item(sq, &err);
    dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x1155), DCM_VR_UI, "1.2.3", &err);
    anon_session_apply(ss, ds, &err);
    dcm_dataset_free(ds);
    anon_session_free(ss);
    anon_engine_free(e);
    anon_script_free(s);
    return 0;
}

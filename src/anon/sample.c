/* sample.c — the built-in sample instance: a synthetic MR image holding the
 * attributes site and project scripts usually touch (names, IDs, dates and
 * times, UIDs, a private block). The dry run shows what scripts change on it
 * and `dqr lint` runs scripts over it to find run-time failures, so both see
 * the same instance. Every value is made up; none is PHI. */
#include "anon/anon.h"

dcm_dataset *anon_sample_dataset(void)
{
    static const struct {
        uint32_t tag;
        dcm_vr vr;
        const char *v;
    } rows[] = {
        {DCM_TAG(0x0008, 0x0016), DCM_VR_UI, "1.2.840.10008.5.1.4.1.1.4"},
        {DCM_TAG(0x0008, 0x0018), DCM_VR_UI, "1.2.826.0.1.3680043.10.1573.99.3"},
        {DCM_TAG(0x0008, 0x0020), DCM_VR_DA, "20240102"},
        {DCM_TAG(0x0008, 0x0030), DCM_VR_TM, "101500"},
        {DCM_TAG(0x0008, 0x0050), DCM_VR_SH, "SAMPLE-ACC-1"},
        {DCM_TAG(0x0008, 0x0060), DCM_VR_CS, "MR"},
        {DCM_TAG(0x0008, 0x0080), DCM_VR_LO, "SAMPLE GENERAL HOSPITAL"},
        {DCM_TAG(0x0008, 0x0090), DCM_VR_PN, "SAMPLE^REFERRER"},
        {DCM_TAG(0x0008, 0x1010), DCM_VR_SH, "SAMPLE-STATION"},
        {DCM_TAG(0x0008, 0x1030), DCM_VR_LO, "MR BRAIN"},
        {DCM_TAG(0x0008, 0x103E), DCM_VR_LO, "T1 AXIAL"},
        {DCM_TAG(0x0008, 0x1070), DCM_VR_PN, "SAMPLE^OPERATOR"},
        {DCM_TAG(0x0010, 0x0010), DCM_VR_PN, "SAMPLE^PATIENT"},
        {DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "SAMPLE-PID-1"},
        {DCM_TAG(0x0010, 0x0030), DCM_VR_DA, "19700101"},
        {DCM_TAG(0x0010, 0x0040), DCM_VR_CS, "F"},
        {DCM_TAG(0x0010, 0x1010), DCM_VR_AS, "054Y"},
        {DCM_TAG(0x0010, 0x1040), DCM_VR_LO, "1 SAMPLE STREET"},
        {DCM_TAG(0x0018, 0x0050), DCM_VR_DS, "1.0"},
        {DCM_TAG(0x0020, 0x000D), DCM_VR_UI, "1.2.826.0.1.3680043.10.1573.99.1"},
        {DCM_TAG(0x0020, 0x000E), DCM_VR_UI, "1.2.826.0.1.3680043.10.1573.99.2"},
        {DCM_TAG(0x0020, 0x0010), DCM_VR_SH, "SAMPLE-SID"},
        {DCM_TAG(0x0020, 0x0011), DCM_VR_IS, "3"},
        {DCM_TAG(0x0020, 0x0013), DCM_VR_IS, "1"},
    };
    dcm_dataset *ds = dcm_dataset_new();
    for (size_t i = 0; ds && i < sizeof rows / sizeof rows[0]; i++)
        if (!dcm_dataset_set_string(ds, rows[i].tag, rows[i].vr, rows[i].v, NULL)) {
            dcm_dataset_free(ds);
            return NULL;
        }
    if (ds) {
        uint32_t t = dcm_private_reserve(ds, 0x0029, "SAMPLE PRIVATE", 0x10, NULL);
        if (t)
            dcm_dataset_set_string(ds, t, DCM_VR_LO, "SAMPLE PRIVATE VALUE", NULL);
    }
    return ds;
}

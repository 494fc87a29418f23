/* fuzz_pixel_rules.c — libFuzzer target for the CTP pixel-rules parser
 * (rules text arrives over REST and from site files); whatever compiles is
 * also matched against a small dataset, and its regions clipped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_error err = {0};
    anon_pixel_rules *r = anon_pixel_rules_parse((const char *)data, size, "fuzz.script", &err);
    if (!r)
        return 0;
    dcm_dataset *ds = dcm_dataset_new();
    dcm_dataset_set_key(ds, "Manufacturer", "GE MEDICAL SYSTEMS", &err);
    dcm_dataset_set_key(ds, "Modality", "US", &err);
    dcm_dataset_set_key(ds, "Rows", "480", &err);
    dcm_dataset_set_key(ds, "ImageType", "ORIGINAL\\PRIMARY", &err);
    dcm_element *sq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    dcm_dataset *item = dcm_element_append_item(sq, &err);
    dcm_dataset_set_key(item, "ReferencedSOPInstanceUID", "1.2.3", &err);
    anon_pixel_match m;
    if (anon_pixel_rules_match(r, ds, &m))
        for (size_t i = 0; i < m.nregions; i++)
            (void)anon_pixel_region_clip(m.regions[i], 480, 640);
    dcm_dataset_free(ds);
    anon_pixel_rules_free(r);
    return 0;
}

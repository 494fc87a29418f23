/* test_dict.c — the generated dictionary and its lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dicom/dicom.h"

typedef struct { const char *spec; uint32_t tag; const char *keyword; dcm_vr vr; } tag_case;

/* Each row: a tag, how it is looked up, and what PS3.6 says of it. */
static const tag_case CASES[] = {
    {"0010,0010", DCM_TAG(0x0010, 0x0010), "PatientName", DCM_VR_PN},
    {"(0008,0005)", DCM_TAG(0x0008, 0x0005), "SpecificCharacterSet", DCM_VR_CS},
    {"7FE00010", DCM_TAG(0x7FE0, 0x0010), "PixelData", DCM_VR_OB},
    {"StudyInstanceUID", DCM_TAG(0x0020, 0x000D), "StudyInstanceUID", DCM_VR_UI},
    {"6002,3000", DCM_TAG(0x6002, 0x3000), "OverlayData", DCM_VR_OB},   /* repeating group */
    {"5010,0005", DCM_TAG(0x5010, 0x0005), "CurveDimensions", DCM_VR_US}, /* retired curve */
    {"0028,0411", DCM_TAG(0x0028, 0x0411), "ColumnsForNthOrderCoefficients", DCM_VR_US},
    {"0009,0010", DCM_TAG(0x0009, 0x0010), "PrivateCreator", DCM_VR_LO},
    {"0018,0000", DCM_TAG(0x0018, 0x0000), "GenericGroupLength", DCM_VR_UL},
    {"0002,0000", DCM_TAG(0x0002, 0x0000), "FileMetaInformationGroupLength", DCM_VR_UL},
    {"0028,0106", DCM_TAG(0x0028, 0x0106), "SmallestImagePixelValue", DCM_VR_US},
};

static void test_lookup_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        uint32_t tag = 0;
        assert_int_equal(dcm_tag_parse(CASES[i].spec, &tag), 0);
        assert_int_equal(tag & 0xFFFFFF0F, CASES[i].tag & 0xFFFFFF0F);
        assert_string_equal(dcm_dict_keyword(CASES[i].tag), CASES[i].keyword);
        assert_int_equal(dcm_dict_vr(CASES[i].tag), CASES[i].vr);
    }
}

static void test_unknown(void **state)
{
    (void)state;
    uint32_t tag;
    assert_null(dcm_dict_lookup(DCM_TAG(0x0009, 0x1001)));   /* private data element */
    assert_string_equal(dcm_dict_keyword(DCM_TAG(0x0009, 0x1001)), "");
    assert_int_equal(dcm_dict_vr(DCM_TAG(0x0009, 0x1001)), DCM_VR_UN);
    assert_int_equal(dcm_tag_parse("NoSuchKeyword", &tag), -1);
    assert_int_equal(dcm_tag_parse("0010,001G", &tag), -1);
}

static void test_every_keyword_round_trips(void **state)
{
    (void)state;
    /* Every exact entry's keyword must find that entry again. */
    for (size_t i = 0; i < dcm_dict_exact_len; i++) {
        const dcm_dict_entry *e = &dcm_dict_exact[i];
        if (!e->keyword[0])
            continue;
        const dcm_dict_entry *k = dcm_dict_lookup_keyword(e->keyword);
        assert_non_null(k);
        assert_int_equal(k->tag, e->tag);
        assert_ptr_equal(dcm_dict_lookup(e->tag), e);
    }
    assert_true(dcm_dict_exact_len > 4000);
}

static void test_ambiguous_vr(void **state)
{
    (void)state;
    const dcm_dict_entry *e = dcm_dict_lookup(DCM_TAG(0x0028, 0x0106));
    assert_int_equal(e->vr[0], DCM_VR_US);
    assert_int_equal(e->vr[1], DCM_VR_SS);
    assert_string_equal(dcm_dict_lookup(DCM_TAG(0x0008, 0x0008))->vm, "2-n");
    assert_true(dcm_dict_lookup(DCM_TAG(0x0008, 0x0010))->retired);
}

static void test_uids(void **state)
{
    (void)state;
    const dcm_uid_entry *t = dcm_ts_lookup("1.2.840.10008.1.2.2");
    assert_non_null(t);
    assert_true(t->flags & DCM_TS_BIG_ENDIAN);
    assert_non_null(dcm_ts_lookup("1.2.840.10008.1.2\0"));
    assert_non_null(dcm_ts_lookup("1.2.840.10008.1.2.4.50 "));
    assert_true(dcm_ts_lookup("1.2.840.10008.1.2.4.50")->flags & DCM_TS_ENCAPSULATED);
    assert_null(dcm_ts_lookup("1.2.840.10008.1.2.9"));
    assert_string_equal(dcm_sop_class_lookup("1.2.840.10008.5.1.4.1.1.2")->name, "CT Image Storage");
    assert_null(dcm_sop_class_lookup("1.2.3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_table),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_every_keyword_round_trips),
        cmocka_unit_test(test_ambiguous_vr),
        cmocka_unit_test(test_uids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

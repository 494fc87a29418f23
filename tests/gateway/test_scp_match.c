/* test_scp_match.c — C-FIND matching of the archive SCP (scp_match.c), as
 * data: each case is one key (tag, VR, value) against one candidate value
 * (NULL: the candidate lacks the attribute), and whether it matches. Then
 * the response: keys filled from the candidate, empty where it has none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "gateway/archive/scp.h"

typedef struct match_case {
    uint32_t tag;
    dcm_vr vr;
    const char *key, *have;
    bool want;
} match_case;

#define PN DCM_TAG(0x0010, 0x0010)
#define PID DCM_TAG(0x0010, 0x0020)
#define DATE DCM_TAG(0x0008, 0x0020)
#define TIME DCM_TAG(0x0008, 0x0030)
#define STUDY DCM_TAG(0x0020, 0x000D)
#define MODS DCM_TAG(0x0008, 0x0061)

static const match_case CASES[] = {
    /* universal */
    {PID, DCM_VR_LO, "", "S01", true},
    {PID, DCM_VR_LO, "*", "S01", true},
    {PID, DCM_VR_LO, "", NULL, true},
    /* single value */
    {PID, DCM_VR_LO, "S01", "S01", true},
    {PID, DCM_VR_LO, "S01", "S02", false},
    {PID, DCM_VR_LO, "S01", "s01", false},
    {PID, DCM_VR_LO, "S01", NULL, false},
    {PID, DCM_VR_LO, "S01 ", "S01", true}, /* trailing padding is not significant */
    /* wildcards */
    {PID, DCM_VR_LO, "S*", "S01", true},
    {PID, DCM_VR_LO, "S?1", "S01", true},
    {PID, DCM_VR_LO, "S?", "S01", false},
    {PID, DCM_VR_LO, "*1", "S02", false},
    {PN, DCM_VR_PN, "doe^*", "DOE^JANE", true}, /* names without regard to case */
    {PN, DCM_VR_PN, "DOE^JANE", "Doe^Jane", true},
    /* UIDs: lists, and no wildcards */
    {STUDY, DCM_VR_UI, "1.2.3\\1.2.4", "1.2.4", true},
    {STUDY, DCM_VR_UI, "1.2.3\\1.2.4", "1.2.5", false},
    {STUDY, DCM_VR_UI, "1.2.*", "1.2.3", false},
    /* ranges */
    {DATE, DCM_VR_DA, "20200101-20200131", "20200115", true},
    {DATE, DCM_VR_DA, "20200101-20200131", "20200201", false},
    {DATE, DCM_VR_DA, "20200101-", "20251231", true},
    {DATE, DCM_VR_DA, "-20191231", "20200101", false},
    {DATE, DCM_VR_DA, "20200101-20200131", "", false},
    {TIME, DCM_VR_TM, "0800-1200", "093000", true},
    {TIME, DCM_VR_TM, "0800-1200", "130000", false},
    /* a multi-valued candidate matches when one value does */
    {MODS, DCM_VR_CS, "MR", "CT\\MR", true},
    {MODS, DCM_VR_CS, "US", "CT\\MR", false},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const match_case *c = &CASES[i];
        dcm_dataset *key = dcm_dataset_new(), *have = dcm_dataset_new();
        dcm_dataset_set_string(key, c->tag, c->vr, c->key, NULL);
        if (c->have)
            dcm_dataset_set_string(have, c->tag, c->vr, c->have, NULL);
        bool got = gw_scp_key_matches(dcm_dataset_get(key, c->tag), have);
        if (got != c->want)
            fail_msg("case %zu: key '%s' against '%s': %s, wanted %s", i, c->key, c->have ? c->have : "(absent)",
                     got ? "match" : "no match", c->want ? "match" : "no match");
        dcm_dataset_free(key);
        dcm_dataset_free(have);
    }
}

/* All keys must match; the level and a sequence key match universally. */
static void test_all_keys(void **state)
{
    (void)state;
    dcm_dataset *id = dcm_dataset_new(), *have = dcm_dataset_new();
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, "STUDY", NULL);
    dcm_dataset_set_string(id, PID, DCM_VR_LO, "S*", NULL);
    dcm_dataset_set_sequence(id, DCM_TAG(0x0008, 0x1110), NULL);
    dcm_dataset_set_string(have, PID, DCM_VR_LO, "S01", NULL);
    assert_true(gw_scp_matches(id, have));
    dcm_dataset_set_string(id, DATE, DCM_VR_DA, "20200101", NULL);
    assert_false(gw_scp_matches(id, have)); /* the candidate has no date */
    dcm_dataset_free(id);
    dcm_dataset_free(have);
}

static void test_response(void **state)
{
    (void)state;
    dcm_dataset *id = dcm_dataset_new(), *have = dcm_dataset_new();
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, "STUDY", NULL);
    dcm_dataset_set_string(id, PID, DCM_VR_LO, "", NULL);
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x1030), DCM_VR_LO, "", NULL);
    dcm_dataset_set_string(have, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, "ISO_IR 192", NULL);
    dcm_dataset_set_string(have, PID, DCM_VR_LO, "S01", NULL);
    dcm_dataset_set_string(have, PN, DCM_VR_PN, "NOT^ASKED", NULL);
    dcm_dataset *r = gw_scp_response(id, have);
    char v[64];
    assert_non_null(r);
    assert_string_equal(dcm_dataset_get_string(r, PID, v, sizeof v), "S01");
    assert_string_equal(dcm_dataset_get_string(r, DCM_TAG(0x0008, 0x0052), v, sizeof v), "STUDY");
    assert_string_equal(dcm_dataset_get_string(r, DCM_TAG_SPECIFIC_CHARSET, v, sizeof v), "ISO_IR 192");
    assert_non_null(dcm_dataset_get(r, DCM_TAG(0x0008, 0x1030))); /* asked, absent: returned empty */
    assert_int_equal(dcm_element_length(dcm_dataset_get(r, DCM_TAG(0x0008, 0x1030))), 0);
    assert_null(dcm_dataset_get(r, PN)); /* not asked: not returned */
    dcm_dataset_free(r);
    dcm_dataset_free(id);
    dcm_dataset_free(have);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

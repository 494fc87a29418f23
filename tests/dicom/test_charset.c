/* test_charset.c — Specific Character Set decoding, one row per case
 * (examples from PS3.5 Annex H/I/J/K and the pydicom charset files). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dicom.h"

typedef struct cs_case {
    const char *charset;
    dcm_vr vr;
    const char *bytes;
    const char *utf8;
} cs_case;

static const cs_case CASES[] = {
    {"", DCM_VR_PN, "Smith^John", "Smith^John"},
    {"ISO_IR 100", DCM_VR_PN, "Buc^J\xe9r\xf4me", "Buc^Jérôme"},
    {"ISO_IR 100", DCM_VR_CS, "ABC", "ABC"},
    {"ISO_IR 192", DCM_VR_LO, "Wang^XiaoDong=王^小東", "Wang^XiaoDong=王^小東"},
    {"ISO_IR 192", DCM_VR_LO, "bad \xff byte", "bad \xef\xbf\xbd byte"},
    {"ISO_IR 144", DCM_VR_LO, "\xbb\xee\xdc", "Люм"},
    {"ISO_IR 126", DCM_VR_PN, "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "Διονυσιος"},
    {"ISO_IR 13", DCM_VR_SH, "\xd4\xcf\xc0\xde", "ﾔﾏﾀﾞ"},
    {"\\ISO 2022 IR 87", DCM_VR_PN,
     "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
     "Yamada^Tarou=山田^太郎=やまだ^たろう"},
    {"ISO 2022 IR 13\\ISO 2022 IR 87", DCM_VR_PN,
     "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J",
     "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎"},
    {"\\ISO 2022 IR 149", DCM_VR_PN, "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7",
     "Hong^Gildong=洪^吉洞"},
    {"GB18030", DCM_VR_PN, "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "Wang^XiaoDong=王^小东="},
    {"NO SUCH SET", DCM_VR_LO, "caf\xe9", "café"}, /* unknown: default repertoire, read as Latin-1 */
    {"ISO_IR 100", DCM_VR_UI, "1.2.3", "1.2.3"},
};

static void test_decode_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        dqr_error err = {0};
        dcm_charset *cs = dcm_charset_new(CASES[i].charset, &err);
        assert_non_null(cs);
        char *s = dcm_charset_decode(cs, CASES[i].vr, (const uint8_t *)CASES[i].bytes, strlen(CASES[i].bytes));
        if (strcmp(s, CASES[i].utf8) != 0)
            fail_msg("case %zu (%s): got '%s', want '%s'", i, CASES[i].charset, s, CASES[i].utf8);
        free(s);
        dcm_charset_free(cs);
    }
}

static void test_escape_resets_at_delimiter(void **state)
{
    (void)state;
    /* After ^ the first set (ISO_IR 100) applies again: 0xE9 is é, not Cyrillic. */
    dqr_error err = {0};
    dcm_charset *cs = dcm_charset_new("ISO 2022 IR 100\\ISO 2022 IR 144", &err);
    const char in[] = "\x1b-L\xbb^\xe9";
    char *s = dcm_charset_decode(cs, DCM_VR_PN, (const uint8_t *)in, sizeof in - 1);
    assert_string_equal(s, "Л^é");
    free(s);
    dcm_charset_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_table),
        cmocka_unit_test(test_escape_resets_at_delimiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

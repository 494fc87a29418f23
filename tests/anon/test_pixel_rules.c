/* test_pixel_rules.c — CTP DicomPixelAnonymizer rules: the file layout, the
 * signature language (methods, operators and their binding, attribute
 * forms), first-match selection, region clipping and the errors that name
 * file:line:column. The rules here are our own, written in CTP's syntax.
 * With DQR_CTP_PIXEL_SCRIPT naming a copy of CTP's shipped
 * DicomPixelAnonymizer.script, that file must compile too (skipped when
 * the variable is unset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon/anon.h"

static anon_pixel_rules *parse_ok(const char *text)
{
    dqr_error err = {0};
    anon_pixel_rules *r = anon_pixel_rules_parse(text, strlen(text), "t.script", &err);
    if (!r)
        fail_msg("parse failed: %s", err.message);
    return r;
}

static void expect_error(const char *text, const char *message)
{
    dqr_error err = {0};
    anon_pixel_rules *r = anon_pixel_rules_parse(text, strlen(text), "t.script", &err);
    assert_null(r);
    assert_int_equal(err.code, DQR_E_PARSE);
    if (!strstr(err.message, message))
        fail_msg("expected '%s' in '%s'", message, err.message);
}

/* An ultrasound instance from a fictional vendor. */
static dcm_dataset *us_instance(void)
{
    dcm_dataset *ds = dcm_dataset_new();
    dqr_error err = {0};
    assert_non_null(dcm_dataset_set_key(ds, "Manufacturer", "Acme Sonics Inc", &err));
    assert_non_null(dcm_dataset_set_key(ds, "ManufacturerModelName", "EchoStar 9", &err));
    assert_non_null(dcm_dataset_set_key(ds, "Modality", "US", &err));
    assert_non_null(dcm_dataset_set_key(ds, "Rows", "480", &err));
    assert_non_null(dcm_dataset_set_key(ds, "Columns", "640", &err));
    assert_non_null(dcm_dataset_set_key(ds, "ImageType", "DERIVED\\SECONDARY\\VOLREN", &err));
    assert_non_null(dcm_dataset_set_key(ds, "SliceThickness", "2.5", &err));
    assert_non_null(dcm_dataset_set_key(ds, "SOPClassUID", "1.2.840.10008.5.1.4.1.1.6.1", &err));
    return ds;
}

/* Does the single-signature rule "{ sig } (1,2,3,4)" match the US instance? */
static bool sig_matches(const char *sig)
{
    char text[1024];
    snprintf(text, sizeof text, "{ %s }\n(1,2,3,4)\n", sig);
    anon_pixel_rules *r = parse_ok(text);
    dcm_dataset *ds = us_instance();
    anon_pixel_match m;
    bool hit = anon_pixel_rules_match(r, ds, &m);
    dcm_dataset_free(ds);
    anon_pixel_rules_free(r);
    return hit;
}

static void test_first_match_wins(void **state)
{
    (void)state;
    const char *text =
        "Burned-in annotation rules (our own). Text before the first signature (1,1,1,1) is ignored.\n"
        "{ Manufacturer.containsIgnoreCase(\"other vendor\") }\n(0,0,10,10)\n"
        "Acme ultrasound\n"
        "  { Manufacturer.containsIgnoreCase(\"ACME\") * Rows.equals(\"480\") }\n"
        "  (0,0,640,40)  (-100, 440, 100, 40)\n"
        "{ Modality.equals(\"US\") }\n(5,5,5,5)\n";
    anon_pixel_rules *r = parse_ok(text);
    assert_int_equal(anon_pixel_rules_count(r), 3);
    assert_int_equal(anon_pixel_rules_warning_count(r), 0);
    dcm_dataset *ds = us_instance();
    anon_pixel_match m;
    assert_true(anon_pixel_rules_match(r, ds, &m));
    assert_int_equal(m.index, 1);
    assert_int_equal(m.line, 5);
    assert_int_equal(m.column, 3);
    assert_int_equal(m.nregions, 2);
    assert_int_equal(m.regions[0].left, 0);
    assert_int_equal(m.regions[0].width, 640);
    assert_int_equal(m.regions[1].left, -100);
    assert_int_equal(m.regions[1].top, 440);
    assert_string_equal(m.signature, "Manufacturer.containsIgnoreCase(\"ACME\") * Rows.equals(\"480\")");
    /* a CT matches nothing */
    dqr_error err = {0};
    dcm_dataset_set_key(ds, "Modality", "CT", &err);
    dcm_dataset_set_key(ds, "Rows", "512", &err);
    assert_false(anon_pixel_rules_match(r, ds, &m));
    dcm_dataset_free(ds);
    anon_pixel_rules_free(r);
}

static void test_methods(void **state)
{
    (void)state;
    assert_true(sig_matches("Manufacturer.equals(\"Acme Sonics Inc\")"));
    assert_false(sig_matches("Manufacturer.equals(\"acme sonics inc\")"));
    assert_true(sig_matches("Manufacturer.equalsIgnoreCase(\"acme SONICS inc\")"));
    assert_true(sig_matches("Manufacturer.contains(\"Sonics\")"));
    assert_false(sig_matches("Manufacturer.contains(\"sonics\")"));
    assert_true(sig_matches("Manufacturer.startsWith(\"Acme\")"));
    assert_true(sig_matches("Manufacturer.startsWithIgnoreCase(\"ACME\")"));
    assert_true(sig_matches("Manufacturer.endsWith(\"Inc\")"));
    assert_true(sig_matches("Manufacturer.endsWithIgnoreCase(\"INC\")"));
    assert_false(sig_matches("Manufacturer.endsWith(\"Acme\")"));
    /* matches is a whole-value match, as Java's String.matches */
    assert_true(sig_matches("ManufacturerModelName.matches(\"EchoStar [0-9]+\")"));
    assert_false(sig_matches("ManufacturerModelName.matches(\"EchoStar\")"));
    /* numbers: CTP keeps the digits and dots of both sides */
    assert_true(sig_matches("Rows.isLessThan(\"481\")"));
    assert_false(sig_matches("Rows.isLessThan(\"480\")"));
    assert_true(sig_matches("Columns.isGreaterThan(\"639 px\")"));
    assert_true(sig_matches("SliceThickness.isLessThan(\"3\")"));
    assert_false(sig_matches("PatientAge.isLessThan(\"3\")")); /* absent: no number, false */
    /* an absent attribute reads as "" */
    assert_true(sig_matches("StudyDescription.equals(\"\")"));
    assert_false(sig_matches("StudyDescription.contains(\"x\")"));
    /* multi-valued: values joined by backslash */
    assert_true(sig_matches("ImageType.containsIgnoreCase(\"volren\")"));
    assert_true(sig_matches("ImageType.equals(\"DERIVED\\SECONDARY\\VOLREN\")"));
    assert_true(sig_matches("SOPClassUID.equals(\"1.2.840.10008.5.1.4.1.1.6.1\")"));
}

static void test_attribute_forms(void **state)
{
    (void)state;
    assert_true(sig_matches("[0008,0070].containsIgnoreCase(\"acme\")"));
    assert_true(sig_matches("[00080070].startsWith(\"Acme\")"));
    assert_true(sig_matches("[0028,0010].equals(\"480\")"));
    /* a sequence path reads the first item */
    char text[] = "{ ReferencedImageSequence::ReferencedSOPClassUID.equals(\"1.2.3\") } (0,0,1,1)";
    anon_pixel_rules *r = parse_ok(text);
    dcm_dataset *ds = us_instance();
    anon_pixel_match m;
    assert_false(anon_pixel_rules_match(r, ds, &m));
    dqr_error err = {0};
    dcm_element *sq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0008, 0x1140), &err);
    dcm_dataset *item = dcm_element_append_item(sq, &err);
    assert_non_null(dcm_dataset_set_key(item, "ReferencedSOPClassUID", "1.2.3", &err));
    assert_true(anon_pixel_rules_match(r, ds, &m));
    dcm_dataset_free(ds);
    anon_pixel_rules_free(r);
}

static void test_operators(void **state)
{
    (void)state;
    const char *T = "Modality.equals(\"US\")", *F = "Modality.equals(\"CT\")";
    char s[512];
    /* '*' binds tighter than '+': T + F * F is T + (F * F) */
    snprintf(s, sizeof s, "%s + %s * %s", T, F, F);
    assert_true(sig_matches(s));
    snprintf(s, sizeof s, "(%s + %s) * %s", T, F, F);
    assert_false(sig_matches(s));
    /* '!' binds tightest: !F * T */
    snprintf(s, sizeof s, "!%s * %s", F, T);
    assert_true(sig_matches(s));
    snprintf(s, sizeof s, "!(%s * %s)", T, T);
    assert_false(sig_matches(s));
    snprintf(s, sizeof s, "%s // a comment * nothing\n * %s", T, T);
    assert_true(sig_matches(s));
    assert_true(sig_matches("true"));
    assert_false(sig_matches("false + !true"));
}

static void test_warnings_and_clip(void **state)
{
    (void)state;
    anon_pixel_rules *r = parse_ok("{ Modality.equals(\"US\") }\n (see the vendor note) (0,0,10,10)\n"
                                   "{ true } ( 1 , 2 , 3 , 4 )");
    assert_int_equal(anon_pixel_rules_warning_count(r), 1);
    assert_non_null(strstr(anon_pixel_rules_warning(r, 0), "t.script:2:2: skipped"));
    dcm_dataset *ds = us_instance();
    anon_pixel_match m;
    assert_true(anon_pixel_rules_match(r, ds, &m));
    assert_int_equal(m.nregions, 1);
    assert_int_equal(m.regions[0].width, 10);
    dcm_dataset_free(ds);
    anon_pixel_rules_free(r);

    anon_pixel_region a = anon_pixel_region_clip((anon_pixel_region){-100, 440, 300, 100}, 480, 640);
    assert_int_equal(a.left, 540);
    assert_int_equal(a.width, 100);
    assert_int_equal(a.top, 440);
    assert_int_equal(a.height, 40);
    anon_pixel_region b = anon_pixel_region_clip((anon_pixel_region){700, 0, 50, 50}, 480, 640);
    assert_int_equal(b.width, 0);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("text\n{ Manufacturer.isBlank(\"\") }", "t.script:2:16: unknown method 'isBlank'");
    expect_error("{ Manufacturer.containsIgnorecase(\"GE\") }", "unknown method");
    expect_error("\n\n  { Modality.equals(\"US\")", "t.script:3:3: '{' without its '}'");
    expect_error("{ }", "t.script:1:1: empty signature");
    expect_error("{ NoSuchKeyword.equals(\"x\") }", "t.script:1:3: unknown attribute 'NoSuchKeyword'");
    expect_error("{ Modality.equals(US) }", "expected (\"text\")");
    expect_error("{ Modality.equals(\"US\") Rows.equals(\"1\") }", "t.script:1:25: unexpected 'R'");
    expect_error("{ Modality.equals(\"US\") * }", "expected a condition");
    expect_error("{ (Modality.equals(\"US\") }", "'(' without its ')'");
    expect_error("{ Modality.matches(\"(US\") }", "bad regular expression");
    /* patterns that would make glibc's regcomp take gigabytes are refused */
    expect_error("{ Modality.matches(\"1[.]+++++\") }", "a quantifier on a quantifier");
    /* found by fuzz_pixel_rules (30-minute run): a '[' inside a bracket
     * made the scan miss where the bracket ends, and the '+' run after it
     * took regcomp past 2 GB */
    expect_error("{ Modality.matches(\"0[]a[]+++\") }", "a quantifier on a quantifier");
    expect_error("{ Modality.matches(\"[[.a.]]+++\") }", "a quantifier on a quantifier");
    /* a '}' ends the signature (as in CTP), so only an unclosed {m,n} can occur */
    expect_error("{ Modality.matches(\"a{1000\") }", "at most two {m,n} repeats");
    assert_true(sig_matches("Modality.matches(\"U+[S-T]?\")"));
    assert_true(sig_matches("Manufacturer.matches(\"Acme[[:space:]]S.*\")"));
    expect_error("{ true }\n(0,0,5x,5)", "t.script:2:6: a region value must be an integer");
    expect_error("{ Modality & Rows }", "expected ATTRIBUTE.method");
}

static void test_ctp_shipped_script(void **state)
{
    (void)state;
    const char *path = getenv("DQR_CTP_PIXEL_SCRIPT");
    if (!path || !*path) {
        skip();
        return;
    }
    dqr_error err = {0};
    anon_pixel_rules *r = anon_pixel_rules_load(path, &err);
    if (!r)
        fail_msg("CTP's script: %s", err.message);
    assert_true(anon_pixel_rules_count(r) > 20);
    anon_pixel_rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_wins), cmocka_unit_test(test_methods),
        cmocka_unit_test(test_attribute_forms),  cmocka_unit_test(test_operators),
        cmocka_unit_test(test_warnings_and_clip), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ctp_shipped_script),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_net.c — the network layer's pure parts: escaping strings from a
 * peer before they reach a log line (net_log_escape). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/net.h"

static void expect(const char *in, bool value, const char *want)
{
    char out[128];
    assert_string_equal(net_log_escape(out, sizeof out, in, value), want);
}

/* A newline, carriage return, escape, DEL or non-ASCII byte can end or
 * disguise a log line: each becomes \xNN, in both modes. */
static void test_control_characters(void **state)
{
    (void)state;
    expect("X\nlevel=info event=forged", false, "X\\x0Alevel=info event=forged");
    expect("a\rb\x1b[2Jc\x7f", false, "a\\x0Db\\x1B[2Jc\\x7F");
    expect("M\xc3\xbcller", false, "M\\xC3\\xBCller");
    expect("plain AE", false, "plain AE");
    expect("back\\slash \"q\"", false, "back\\slash \"q\"");
}

/* As a value: one key=value token, so it cannot add a key either. */
static void test_value_token(void **state)
{
    (void)state;
    expect("ORTHANC", true, "ORTHANC");
    expect("A user_id=1", true, "\"A user_id=1\"");
    expect("q\"b\\", true, "\"q\\\"b\\\\\"");
    expect("", true, "\"\"");
    expect("X\nY", true, "X\\x0AY");
}

/* Cut to the room given, never in the middle of an escape, closing quote kept. */
static void test_truncation(void **state)
{
    (void)state;
    char out[8];
    assert_string_equal(net_log_escape(out, sizeof out, "abcd\nef", false), "abcd");
    assert_string_equal(net_log_escape(out, sizeof out, "a b c d e", true), "\"a b c\"");
    char one[1];
    assert_string_equal(net_log_escape(one, sizeof one, "abc", true), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_value_token),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_ldap.c — the pure parts of LDAP sign-in (ldap.c): RFC 4515
 * escaping of what a user types into the search filters, group
 * membership by DN, and the NAME=GROUP_DN;... grant lists. The directory
 * itself is tested against a real slapd (tests/ops/ldap.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"

static void filter_is(const char *fmt, const char *value, const char *want)
{
    char *got = gw_ldap_filter(fmt, value);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_filter_escapes(void **state)
{
    (void)state;
    filter_is("(uid=%s)", "bob", "(uid=bob)");
    filter_is("(uid=%s)", "*", "(uid=\\2a)");
    filter_is("(uid=%s)", "x)(uid=*", "(uid=x\\29\\28uid=\\2a)");
    filter_is("(cn=%s)", "a\\b", "(cn=a\\5cb)");
    filter_is("(cn=%s)", "tab\there", "(cn=tab\\09here)");
    filter_is("(cn=%s)", "Jos\xc3\xa9", "(cn=Jos\xc3\xa9)"); /* UTF-8 stays as it is */
    filter_is("(|(uid=%s)(mail=%s))", "b*", "(|(uid=b\\2a)(mail=b\\2a))");
    filter_is("(member=%s)", "uid=bob,ou=people,dc=x", "(member=uid=bob,ou=people,dc=x)");
}

static gw_ldap_user *user_in(const char *const *groups, size_t n)
{
    gw_ldap_user *u = calloc(1, sizeof *u);
    assert_non_null(u);
    for (size_t i = 0; i < n; i++)
        snprintf(u->groups[u->ngroups++], sizeof u->groups[0], "%s", groups[i]);
    return u;
}

static void test_member(void **state)
{
    (void)state;
    const char *g[] = {"cn=dqr-admins,ou=groups,dc=example,dc=org", "CN=P1 Users,OU=Groups,DC=x"};
    gw_ldap_user *u = user_in(g, 2);
    assert_true(gw_ldap_member(u, "cn=dqr-admins,ou=groups,dc=example,dc=org"));
    assert_true(gw_ldap_member(u, "cn=p1 users,ou=groups,dc=x")); /* DNs compare without case */
    assert_false(gw_ldap_member(u, "cn=dqr-admins,ou=groups,dc=example"));   /* a prefix is not the group */
    assert_false(gw_ldap_member(u, "cn=dqr-admins,ou=groups,dc=example,dc=org,dc=y"));
    assert_false(gw_ldap_member(u, "")); /* an unset group setting makes nobody a member */
    free(u);
}

static void collect(void *ctx, const char *name)
{
    char *out = ctx;
    strcat(out, name);
    strcat(out, " ");
}

static void grants_are(const gw_ldap_user *u, const char *list, const char *want)
{
    char got[256] = "";
    gw_ldap_each_grant(u, list, collect, got);
    assert_string_equal(got, want);
}

static void test_grant_lists(void **state)
{
    (void)state;
    const char *g[] = {"cn=p1,ou=g,dc=x", "cn=p3,ou=g,dc=x"};
    gw_ldap_user *u = user_in(g, 2);
    grants_are(u, "", "");
    grants_are(u, "P1=cn=p1,ou=g,dc=x", "P1 ");
    grants_are(u, "P1=cn=p1,ou=g,dc=x;P2=cn=p2,ou=g,dc=x;P3=CN=P3,OU=G,DC=X", "P1 P3 ");
    grants_are(u, "P1=cn=p1,ou=g,dc=x;", "P1 ");                 /* a trailing ';' */
    grants_are(u, ";;P3=cn=p3,ou=g,dc=x", "P3 ");                /* empty items */
    grants_are(u, "P1;=cn=p1,ou=g,dc=x;P2=", "");                /* no '=', no name, no DN: nothing */
    grants_are(u, "A=cn=p1,ou=g,dc=x;B=cn=p1,ou=g,dc=x", "A B "); /* one group, two grants */
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_escapes),
        cmocka_unit_test(test_member),
        cmocka_unit_test(test_grant_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

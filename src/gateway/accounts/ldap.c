/* ldap.c — sign-in against an LDAP directory or Active Directory (libldap).
 *
 * One short connection per login: connect (ldap:// with optional StartTLS,
 * or ldaps://), bind as the service account (or anonymously), find exactly
 * one entry with ldap_user_filter, collect its groups (the ldap_group_attr
 * values and/or the DNs a ldap_group_filter search finds), then bind as
 * that entry with the password the user typed. Nothing is cached or kept
 * open: a group removed in the directory counts at the next login, and no
 * thread shares a handle. The mapping of groups to role, phi and grants is
 * a pure function (gw_ldap_map) so it reads the same in tests and docs.
 */
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"

#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 4515 section 3: the value with * ( ) \ NUL escaped as \XX; new
 * string or NULL when out of memory. */
static char *filter_escape(const char *v)
{
    size_t n = strlen(v);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            o += sprintf(o, "\\%02x", *p);
        else
            *o++ = (char)*p;
    }
    *o = '\0';
    return out;
}

/* The user filter with the login name, the group filter with a DN: a
 * name like "*" or "x)(uid=*" must match only itself. */
char *gw_ldap_filter(const char *fmt, const char *value)
{
    char *esc = filter_escape(value);
    if (!esc)
        return NULL;
    size_t n = strlen(esc), len = 0, cap = strlen(fmt) + 1;
    for (const char *p = strstr(fmt, "%s"); p; p = strstr(p + 2, "%s"))
        cap += n;
    char *out = malloc(cap);
    if (out) {
        for (const char *p = fmt; *p;) {
            if (p[0] == '%' && p[1] == 's') {
                memcpy(out + len, esc, n), len += n, p += 2;
            } else {
                out[len++] = *p++;
            }
        }
        out[len] = '\0';
    }
    free(esc);
    return out;
}

static void add_group(gw_ldap_user *u, const char *dn, size_t len)
{
    if (u->ngroups >= GW_LDAP_MAX_GROUPS || len >= sizeof u->groups[0])
        return;
    memcpy(u->groups[u->ngroups], dn, len);
    u->groups[u->ngroups++][len] = '\0';
}

/* A directory failure: DQR_E_IO with libldap's sentence (its diagnostic
 * message adds nothing for TLS failures: "unknown error code"). */
static dqr_status dir_fail(dqr_error *err, const char *what, int rc)
{
    return dqr_error_set(err, DQR_E_IO, "the directory (LDAP) %s: %s", what, ldap_err2string(rc));
}

static dqr_status connect_dir(const gw_config *c, LDAP **out, dqr_error *err)
{
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, c->ldap_url);
    if (rc != LDAP_SUCCESS)
        return dqr_error_set(err, DQR_E_USAGE, "ldap_url '%s': %s", c->ldap_url, ldap_err2string(rc));
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0;
    struct timeval tv = {c->ldap_timeout_s, 0};
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); /* AD's referrals would bind elsewhere anonymously */
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    /* the certificate is always verified; the CA file, when set, replaces
     * the system store for this handle only (NEWCTX applies it) */
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (*c->ldap_ca_file)
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, c->ldap_ca_file);
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
    if (c->ldap_starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
        dqr_status st = dir_fail(err, "refused StartTLS or its certificate is not trusted", rc);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return st;
    }
    *out = ld;
    return DQR_OK;
}

static int simple_bind(LDAP *ld, const char *dn, const char *pw)
{
    struct berval cred = {strlen(pw), (char *)pw};
    return ldap_sasl_bind_s(ld, *dn ? dn : NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/* Search base for filter; calls each(entry) for every entry found, up to
 * limit entries (more: LDAP_SIZELIMIT_EXCEEDED). */
static int search(LDAP *ld, const gw_config *c, const char *filter, char **attrs, int limit, LDAPMessage **res)
{
    struct timeval tv = {c->ldap_timeout_s, 0};
    return ldap_search_ext_s(ld, c->ldap_base_dn, LDAP_SCOPE_SUBTREE, filter, attrs, 0, NULL, NULL, &tv, limit, res);
}

/* The one entry of user: its DN and the values of ldap_group_attr. */
static dqr_status find_user(LDAP *ld, const gw_config *c, const char *user, gw_ldap_user *u, dqr_error *err)
{
    char *filter = gw_ldap_filter(c->ldap_user_filter, user);
    if (!filter)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    char *attrs[] = {*c->ldap_group_attr ? c->ldap_group_attr : LDAP_NO_ATTRS, NULL};
    LDAPMessage *res = NULL;
    int rc = search(ld, c, filter, attrs, 2, &res);
    free(filter);
    dqr_status st = DQR_OK;
    if (rc == LDAP_SIZELIMIT_EXCEEDED || (rc == LDAP_SUCCESS && ldap_count_entries(ld, res) > 1))
        st = dqr_error_set(err, DQR_E_NOTFOUND, "more than one directory entry matches ldap_user_filter");
    else if (rc == LDAP_NO_SUCH_OBJECT || (rc == LDAP_SUCCESS && ldap_count_entries(ld, res) == 0))
        st = dqr_error_set(err, DQR_E_NOTFOUND, "no directory entry matches ldap_user_filter");
    else if (rc != LDAP_SUCCESS)
        st = dir_fail(err, "search for the user failed", rc);
    LDAPMessage *e = st == DQR_OK ? ldap_first_entry(ld, res) : NULL;
    char *dn = e ? ldap_get_dn(ld, e) : NULL;
    if (st == DQR_OK && (!dn || strlen(dn) >= sizeof u->dn))
        st = dqr_error_set(err, DQR_E_NOTFOUND, "the directory entry has no usable DN");
    if (st == DQR_OK) {
        snprintf(u->dn, sizeof u->dn, "%s", dn);
        struct berval **v = *c->ldap_group_attr ? ldap_get_values_len(ld, e, c->ldap_group_attr) : NULL;
        for (size_t i = 0; v && v[i]; i++)
            add_group(u, v[i]->bv_val, v[i]->bv_len);
        ldap_value_free_len(v);
    }
    ldap_memfree(dn);
    ldap_msgfree(res);
    return st;
}

/* The DNs of the groups ldap_group_filter finds for the user's DN. */
static dqr_status find_groups(LDAP *ld, const gw_config *c, gw_ldap_user *u, dqr_error *err)
{
    char *filter = gw_ldap_filter(c->ldap_group_filter, u->dn);
    if (!filter)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    char *attrs[] = {LDAP_NO_ATTRS, NULL};
    LDAPMessage *res = NULL;
    int rc = search(ld, c, filter, attrs, GW_LDAP_MAX_GROUPS, &res);
    free(filter);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_NO_SUCH_OBJECT) {
        ldap_msgfree(res);
        return dir_fail(err, "search for the user's groups failed", rc);
    }
    for (LDAPMessage *e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
        char *dn = ldap_get_dn(ld, e);
        if (dn)
            add_group(u, dn, strlen(dn));
        ldap_memfree(dn);
    }
    ldap_msgfree(res);
    return DQR_OK;
}

dqr_status gw_ldap_login(const gw_config *c, const char *user, const char *pw, gw_ldap_user *u, dqr_error *err)
{
    memset(u, 0, sizeof *u);
    /* an empty password makes a simple bind "unauthenticated" (RFC 4513
     * 5.1.2), which many servers answer with success */
    if (!*user || !*pw)
        return dqr_error_set(err, DQR_E_NOTFOUND, "an empty name or password never signs in");
    LDAP *ld = NULL;
    dqr_status st = connect_dir(c, &ld, err);
    if (st != DQR_OK)
        return st;
    int rc = simple_bind(ld, c->ldap_bind_dn, c->ldap_bind_password);
    bool down = rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR;
    /* over ldaps:// an untrusted certificate looks like a server down */
    bool ldaps = strncmp(c->ldap_url, "ldaps:", 6) == 0;
    if (rc != LDAP_SUCCESS)
        st = dir_fail(err,
                      !down    ? "refused the service account (ldap_bind_dn)"
                      : ldaps ? "cannot be reached or its certificate is not trusted"
                              : "cannot be reached",
                      rc);
    if (st == DQR_OK)
        st = find_user(ld, c, user, u, err);
    if (st == DQR_OK && *c->ldap_group_filter)
        st = find_groups(ld, c, u, err);
    if (st == DQR_OK && (rc = simple_bind(ld, u->dn, pw)) != LDAP_SUCCESS)
        st = rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_UNWILLING_TO_PERFORM
                 ? dqr_error_set(err, DQR_E_NOTFOUND, "the directory refused the password")
                 : dir_fail(err, "failed while checking the password", rc);
    ldap_unbind_ext_s(ld, NULL, NULL);
    return st;
}

/* Whether the user is in group dn. DNs compare without case, as AD and
 * most directories treat them; write them in the settings as the
 * directory returns them (no spaces after commas). */
static bool member(const gw_ldap_user *u, const char *dn, size_t len)
{
    for (size_t i = 0; i < u->ngroups; i++)
        if (len && strlen(u->groups[i]) == len && strncasecmp(u->groups[i], dn, len) == 0)
            return true;
    return false;
}

bool gw_ldap_member(const gw_ldap_user *u, const char *dn)
{
    return *dn && member(u, dn, strlen(dn));
}

void gw_ldap_each_grant(const gw_ldap_user *u, const char *list, gw_ldap_grant_fn fn, void *ctx)
{
    /* NAME=DN;NAME=DN: the first '=' ends the name, DNs have '=' of their own */
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        if (eq && eq > p && member(u, eq + 1, (size_t)(p + n - eq - 1))) {
            char name[129];
            size_t k = (size_t)(eq - p) < sizeof name ? (size_t)(eq - p) : sizeof name - 1;
            memcpy(name, p, k);
            name[k] = '\0';
            fn(ctx, name);
        }
        p += n + (p[n] == ';');
    }
}

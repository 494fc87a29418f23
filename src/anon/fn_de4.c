/* fn_de4.c — functions that only DicomEdit 4 scripts have: urlEncode and
 * makeSessionLabel (DicomEdit 4's other functions are DicomEdit 6's), and
 * "de4 unset", the null the DicomEdit 4 front end (de4.c) resets its
 * variables with; no script can call it (the name holds a space). */
#include "anon/interp.h"

#include <stdio.h>
#include <string.h>

/* urlEncode[s]: as Java's URLEncoder with UTF-8, which the reference calls:
 * letters, digits and . - * _ stay, a space becomes '+', every other byte %XX. */
/* DicomEdit 6 has neither function (XNAT's own tests expect urlEncode to fail
 * there, jira DE-7). */
static dqr_status only_de4(anon_session *s, const char *fn)
{
    if (strcmp(anon_script_version(s->script), "4") == 0)
        return DQR_OK;
    return rt_error(s, "no function '%s' in DicomEdit 6 (DicomEdit 4 has it)", fn);
}

/* The one string argument of DicomEdit 4 function fn into *v (NULL: no value). */
static dqr_status de4_string_arg(anon_session *s, const char *fn, expr *const *args, size_t n, const char **v)
{
    dqr_status st = only_de4(s, fn);
    if (!st)
        st = need_args(s, fn, n, 1, 1);
    return st ? st : arg_string(s, args, n, 0, v);
}

static dqr_status fn_url_encode(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v;
    dqr_status st = de4_string_arg(s, "urlEncode", args, n, &v);
    if (st)
        return st;
    if (!v) {
        *out = (aval){.kind = V_NULL};
        return DQR_OK;
    }
    char *buf = arena_alloc(&s->scratch, 3 * strlen(v) + 1);
    if (!buf)
        return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    size_t o = 0;
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr(".-*_", *c))
            buf[o++] = (char)*c;
        else if (*c == ' ')
            buf[o++] = '+';
        else
            o += (size_t)snprintf(buf + o, 4, "%%%02X", *c);
    }
    buf[o] = '\0';
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

/* makeSessionLabel[format]: the reference replaces the first run of '#' by
 * the lowest zero-padded index whose label no session of the project has
 * yet. dqr de-identifies without a list of the project's sessions, so every
 * label is free: the index is 0 ("v##" gives "v00"). No '#', or no value,
 * gives "" as in the reference. */
static dqr_status fn_make_session_label(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v;
    dqr_status st = de4_string_arg(s, "makeSessionLabel", args, n, &v);
    if (st)
        return st;
    const char *hash = v ? strchr(v, '#') : NULL;
    if (!hash) {
        *out = (aval){.kind = V_STR, .s = ""};
        return DQR_OK;
    }
    char *buf = arena_strdup(&s->scratch, v);
    if (!buf)
        return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    for (char *c = buf + (hash - v); *c == '#'; c++)
        *c = '0';
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

static dqr_status fn_unset(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)s, (void)args, (void)n;
    *out = (aval){.kind = V_NULL};
    return DQR_OK;
}

const fn_entry anon_fn_de4[] = {
    {"urlEncode", fn_url_encode}, {"makeSessionLabel", fn_make_session_label}, {"de4 unset", fn_unset},
    {NULL, NULL},
};

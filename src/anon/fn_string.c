/* fn_string.c — DicomEdit's string functions: concatenate, format,
 * lowercase, uppercase, substring, replace, match, ismatch, normalizeString,
 * true, false, isPresent, lookup, getURL. Regexes are PCRE2, which reads
 * Java's regex syntax for everything scripts use (classes, groups, \d \w \s). */
#include "anon/interp.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

dqr_status need_args(anon_session *s, const char *fn, size_t n, size_t min, size_t max)
{
    if (n < min || n > max) {
        if (min == max)
            return rt_error(s, "%s takes %zu argument%s, not %zu", fn, min, min == 1 ? "" : "s", n);
        return rt_error(s, "%s takes %zu to %zu arguments, not %zu", fn, min, max, n);
    }
    return DQR_OK;
}

dqr_status arg_string(anon_session *s, expr *const *args, size_t n, size_t i, const char **out)
{
    *out = NULL;
    if (i >= n)
        return DQR_OK;
    aval v;
    dqr_status st = eval_arg(s, args[i], &v);
    return st ? st : value_string(s, &v, out);
}

/* Argument i as a string that must not be null. */
static dqr_status arg_required(anon_session *s, const char *fn, expr *const *args, size_t n,
                               size_t i, const char **out)
{
    dqr_status st = arg_string(s, args, n, i, out);
    if (!st && !*out)
        return rt_error(s, "%s: argument %zu has no value", fn, i + 1);
    return st;
}

static dqr_status arg_int(anon_session *s, const char *fn, expr *const *args, size_t n, size_t i,
                          long *out)
{
    const char *t;
    dqr_status st = arg_required(s, fn, args, n, i, &t);
    if (st)
        return st;
    char *end;
    *out = strtol(t, &end, 10);
    if (end == t || *end)
        return rt_error(s, "%s: argument %zu ('%s') is not an integer", fn, i + 1, t);
    return DQR_OK;
}

dqr_status anon_regex_match(anon_session *s, const char *subject, const char *pattern, bool full,
                            int group, const char **captured)
{
    int code;
    PCRE2_SIZE off;
    *captured = NULL;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | (full ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0), &code, &off,
                                   NULL);
    if (!re) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(code, msg, sizeof msg);
        return rt_error(s, "bad regular expression \"%s\" at %zu: %s", pattern, (size_t)off, msg);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = md ? pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL) : -1;
    dqr_status st = DQR_OK;
    if (rc > 0) {
        if (group < 0) {
            *captured = "";
        } else if (group < rc) {
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            if (ov[2 * group] != PCRE2_UNSET)
                *captured = arena_strndup(&s->scratch, subject + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
        } else if (group > (int)pcre2_get_ovector_count(md) - 1) {
            st = rt_error(s, "match: no group %d in \"%s\"", group, pattern);
        }
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return st;
}

static dqr_status fn_concatenate(anon_session *s, expr *const *args, size_t n, aval *out)
{
    size_t total = 1;
    const char **parts = arena_alloc(&s->scratch, (n + 1) * sizeof *parts);
    for (size_t i = 0; i < n; i++) {
        dqr_status st = arg_string(s, args, n, i, &parts[i]);
        if (st)
            return st;
        if (!parts[i])
            return rt_error(s, "concatenate: argument %zu has no value", i + 1);
        total += strlen(parts[i]);
    }
    char *buf = arena_alloc(&s->scratch, total);
    for (size_t i = 0; i < n; i++)
        strcat(buf, parts[i]);
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

/* Flatten arguments (lists expand) into strings, for format. */
static dqr_status flatten(anon_session *s, const aval *v, const char ***out, size_t *n, size_t *cap)
{
    if (v->kind == V_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            dqr_status st = flatten(s, &v->items[i], out, n, cap);
            if (st)
                return st;
        }
        return DQR_OK;
    }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        const char **a = arena_alloc(&s->scratch, nc * sizeof *a);
        if (*n)
            memcpy(a, *out, *n * sizeof *a);
        *out = a;
        *cap = nc;
    }
    return value_string(s, v, &(*out)[(*n)++]);
}

/* Java MessageFormat, as far as scripts use it: {n} (with an optional
 * ",type,style" that is ignored), '' for a quote, 'text' quoted literally. */
static dqr_status fn_format(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *pattern;
    dqr_status st = need_args(s, "format", n, 1, 64);
    if (st || (st = arg_required(s, "format", args, n, 0, &pattern)))
        return st;
    const char **vals = NULL;
    size_t nv = 0, cap = 0;
    for (size_t i = 1; i < n; i++) {
        aval v;
        if ((st = eval_arg(s, args[i], &v)) || (st = flatten(s, &v, &vals, &nv, &cap)))
            return st;
    }
    size_t len = strlen(pattern), outcap = len + 1;
    for (size_t i = 0; i < nv; i++)
        outcap += vals[i] ? strlen(vals[i]) : 4;
    char *buf = arena_alloc(&s->scratch, outcap + 1);
    size_t o = 0;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        char c = pattern[i];
        if (c == '\'') {
            if (pattern[i + 1] == '\'') {
                buf[o++] = '\'';
                i++;
            } else {
                quoted = !quoted;
            }
        } else if (c == '{' && !quoted) {
            char *end;
            long k = strtol(pattern + i + 1, &end, 10);
            const char *close = strchr(pattern + i, '}');
            if (end == pattern + i + 1 || !close || k < 0)
                return rt_error(s, "format: bad argument reference in \"%s\"", pattern);
            const char *v = (size_t)k < nv ? vals[k] : NULL;
            const char *text = v ? v : ((size_t)k < nv ? "null" : NULL);
            if (!text) { /* MessageFormat leaves {k} as written when k has no argument */
                size_t w = (size_t)(close - (pattern + i)) + 1;
                memcpy(buf + o, pattern + i, w);
                o += w;
            } else {
                memcpy(buf + o, text, strlen(text));
                o += strlen(text);
            }
            i = (size_t)(close - pattern);
        } else {
            buf[o++] = c;
        }
    }
    buf[o] = '\0';
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

static dqr_status change_case(anon_session *s, const char *fn, expr *const *args, size_t n, aval *out,
                              int (*conv)(int))
{
    const char *v;
    dqr_status st = need_args(s, fn, n, 1, 1);
    if (st || (st = arg_required(s, fn, args, n, 0, &v)))
        return st;
    char *c = arena_strdup(&s->scratch, v);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 0x80)
            *p = (char)conv((unsigned char)*p);
    *out = (aval){.kind = V_STR, .s = c};
    return DQR_OK;
}

static dqr_status fn_lowercase(anon_session *s, expr *const *a, size_t n, aval *o) { return change_case(s, "lowercase", a, n, o, tolower); }
static dqr_status fn_uppercase(anon_session *s, expr *const *a, size_t n, aval *o) { return change_case(s, "uppercase", a, n, o, toupper); }

/* Java substring counts UTF-16 units; for the ASCII that DICOM identifiers
 * hold, bytes are the same. */
static dqr_status fn_substring(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v;
    long b, e;
    dqr_status st = need_args(s, "substring", n, 3, 3);
    if (st || (st = arg_required(s, "substring", args, n, 0, &v)) || (st = arg_int(s, "substring", args, n, 1, &b)) ||
        (st = arg_int(s, "substring", args, n, 2, &e)))
        return st;
    long len = (long)strlen(v);
    if (b < 0 || e > len || b > e)
        return rt_error(s, "substring: range [%ld, %ld) is outside \"%s\" (length %ld)", b, e, v, len);
    *out = (aval){.kind = V_STR, .s = arena_strndup(&s->scratch, v + b, (size_t)(e - b))};
    return DQR_OK;
}

static dqr_status fn_replace(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v, *find, *repl;
    dqr_status st = need_args(s, "replace", n, 3, 3);
    if (st || (st = arg_required(s, "replace", args, n, 0, &v)) || (st = arg_required(s, "replace", args, n, 1, &find)) ||
        (st = arg_required(s, "replace", args, n, 2, &repl)))
        return st;
    size_t fl = strlen(find), rl = strlen(repl), count = 0;
    for (const char *p = v; fl && (p = strstr(p, find)); p += fl)
        count++;
    char *buf = arena_alloc(&s->scratch, strlen(v) + count * rl + 1), *o = buf;
    for (const char *p = v; *p;) {
        if (fl && strncmp(p, find, fl) == 0) {
            memcpy(o, repl, rl);
            o += rl;
            p += fl;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

static dqr_status fn_match(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v, *re, *cap;
    long group;
    dqr_status st = need_args(s, "match", n, 3, 3);
    if (st || (st = arg_string(s, args, n, 0, &v)) || (st = arg_required(s, "match", args, n, 1, &re)) ||
        (st = arg_int(s, "match", args, n, 2, &group)))
        return st;
    if (!v) {
        *out = (aval){.kind = V_NULL};
        return DQR_OK;
    }
    if ((st = anon_regex_match(s, v, re, false, (int)group, &cap)))
        return st;
    *out = cap ? (aval){.kind = V_STR, .s = cap} : (aval){.kind = V_NULL};
    return DQR_OK;
}

static dqr_status fn_ismatch(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v, *re, *cap = NULL;
    dqr_status st = need_args(s, "ismatch", n, 2, 2);
    if (st || (st = arg_string(s, args, n, 0, &v)) || (st = arg_required(s, "ismatch", args, n, 1, &re)))
        return st;
    if (v && (st = anon_regex_match(s, v, re, true, -1, &cap)))
        return st;
    *out = val_bool(cap != NULL);
    return DQR_OK;
}

static dqr_status fn_normalize(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *v, *repl = "_";
    dqr_status st = need_args(s, "normalizeString", n, 1, 2);
    if (st || (st = arg_string(s, args, n, 0, &v)) ||
        (n > 1 && (st = arg_required(s, "normalizeString", args, n, 1, &repl))))
        return st;
    if (!v) { /* a missing attribute: nothing to assign, as in the reference */
        *out = (aval){.kind = V_NULL};
        return DQR_OK;
    }
    size_t rl = strlen(repl);
    char *buf = arena_alloc(&s->scratch, strlen(v) * (rl + 1) + 1), *o = buf;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p < 0x80) {
            *o++ = (char)*p;
            continue;
        }
        /* one non-ASCII character (a UTF-8 sequence) becomes one replacement */
        memcpy(o, repl, rl);
        o += rl;
        while ((p[1] & 0xC0) == 0x80)
            p++;
    }
    *o = '\0';
    *out = (aval){.kind = V_STR, .s = buf};
    return DQR_OK;
}

static dqr_status fn_true(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)args;
    *out = val_bool(true);
    return need_args(s, "true", n, 0, 0);
}

static dqr_status fn_false(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)args;
    *out = val_bool(false);
    return need_args(s, "false", n, 0, 0);
}

static dqr_status fn_is_present(anon_session *s, expr *const *args, size_t n, aval *out)
{
    bool all = n > 0;
    for (size_t i = 0; i < n && all; i++) {
        if (args[i]->kind != X_PATH || !tp_singular(args[i]->path))
            return rt_error(s, "isPresent: argument %zu is not a tag path without wildcards", i + 1);
        all = tp_find(args[i]->path, s->root, NULL) != NULL;
    }
    *out = val_bool(all);
    return DQR_OK;
}

static dqr_status fn_lookup(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *type, *key;
    dqr_status st = need_args(s, "lookup", n, 2, 2);
    if (st || (st = arg_required(s, "lookup", args, n, 0, &type)) || (st = arg_string(s, args, n, 1, &key)))
        return st;
    *out = (aval){.kind = V_NULL};
    if (!key)
        return DQR_OK;
    if (!s->eng->lookup && !s->eng->nlookup && !s->eng->settings.lookup_path)
        return rt_error(s, "lookup: no lookup table was given (--lookup FILE)");
    for (size_t i = 0; i < s->eng->nlookup; i++) {
        const char *k = s->eng->lookup[i].key;
        size_t tl = strlen(type);
        if (strncmp(k, type, tl) == 0 && k[tl] == '/' && strcmp(k + tl + 1, key) == 0) {
            *out = (aval){.kind = V_STR, .s = s->eng->lookup[i].value};
            break;
        }
    }
    return DQR_OK;
}

static dqr_status fn_get_url(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)args;
    (void)n;
    (void)out;
    return rt_error(s, "getURL is not supported: dqr does not fetch URLs while de-identifying");
}

const fn_entry anon_fn_string[] = {
    {"concatenate", fn_concatenate}, {"format", fn_format}, {"lowercase", fn_lowercase},
    {"uppercase", fn_uppercase}, {"substring", fn_substring}, {"replace", fn_replace},
    {"match", fn_match}, {"ismatch", fn_ismatch}, {"normalizeString", fn_normalize},
    {"true", fn_true}, {"false", fn_false}, {"isPresent", fn_is_present}, {"lookup", fn_lookup},
    {"getURL", fn_get_url}, {NULL, NULL},
};

/* pixel_rules.c — CTP DicomPixelAnonymizer scripts: read, compile, match.
 *
 * The file layout follows CTP's PixelScript exactly: a signature is the text
 * from a '{' to the next '}' (no quoting at this level: a '}' anywhere ends
 * it); text before the first signature is ignored; between one signature and
 * the next, every "(...)" group is a region of the first. CTP's signature
 * language (DicomObject.matches) is: operands IDENT.METHOD("text") or
 * true/false, '!' not, '*' and, '+' or (binding in that order, left to
 * right), parentheses, and "//" comments to the end of the line. IDENT is a
 * keyword, [gggg,eeee] or a "::" path whose levels but the last are
 * sequences (their first item is searched). A missing attribute reads as "".
 *
 * Where CTP logs and goes on, we refuse: a signature that does not parse, or
 * an unknown method, evaluates to false in CTP, so its regions would never
 * be blanked — PHI left in the pixels without a word. We compile every
 * signature up front and name file:line:column instead. matches() is a POSIX
 * extended regular expression here (Java's in CTP), matched against the
 * whole value as Java's String.matches does.
 */
#include "anon/pixel_rules.h"

#include "anon/anon.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PR_MAX_PATH 8      /* levels of an IDENT::IDENT path */
#define PR_MAX_FILE (16u << 20)
#define PR_MAX_REGEX 256   /* characters of a matches() pattern */
#define PR_MAX_REPEAT 32   /* bound of a {m,n} in a matches() pattern */

typedef enum pr_method {
    PR_EQUALS, PR_EQUALS_IC, PR_MATCHES, PR_CONTAINS, PR_CONTAINS_IC, PR_STARTS, PR_STARTS_IC,
    PR_ENDS, PR_ENDS_IC, PR_LESS, PR_GREATER
} pr_method;

static const struct {
    const char *name;
    pr_method m;
} METHODS[] = {
    {"equals", PR_EQUALS},           {"equalsIgnoreCase", PR_EQUALS_IC},
    {"matches", PR_MATCHES},         {"contains", PR_CONTAINS},
    {"containsIgnoreCase", PR_CONTAINS_IC}, {"startsWith", PR_STARTS},
    {"startsWithIgnoreCase", PR_STARTS_IC}, {"endsWith", PR_ENDS},
    {"endsWithIgnoreCase", PR_ENDS_IC}, {"isLessThan", PR_LESS},
    {"isGreaterThan", PR_GREATER},
};

typedef enum pr_kind { PR_CONST, PR_TEST, PR_NOT, PR_AND, PR_OR } pr_kind;

typedef struct pr_node {
    pr_kind kind;
    bool value;                  /* PR_CONST */
    struct pr_node *a, *b;       /* operands of NOT (a), AND, OR */
    uint32_t path[PR_MAX_PATH];  /* PR_TEST */
    size_t npath;
    pr_method method;
    char *arg;
    regex_t *re;
} pr_node;

typedef struct pr_signature {
    char *text;
    int line, column;
    pr_node *expr;
    anon_pixel_region *regions;
    size_t nregions;
} pr_signature;

struct anon_pixel_rules {
    pr_signature *sigs;
    size_t nsigs;
    char **warnings;
    size_t nwarnings;
};

/* ---- positions and errors ---------------------------------------------- */

/* The parse of one file: the text, and where offsets are in it. */
typedef struct pr_parser {
    const char *text;
    size_t len, pos, end; /* pos..end: the part being read (a signature) */
    const char *name;
    int depth;
    dqr_error *err;
} pr_parser;

static void line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n')
            ++*line, *col = 1;
        else
            ++*col;
    }
}

static dqr_status fail_at(pr_parser *p, size_t off, const char *what)
{
    int line, col;
    line_col(p->text, off, &line, &col);
    return dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: %s", p->name, line, col, what);
}

/* ---- expression nodes --------------------------------------------------- */

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}


static void node_free(pr_node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n->arg);
    if (n->re) {
        regfree(n->re);
        free(n->re);
    }
    free(n);
}

static pr_node *node_new(pr_parser *p, pr_kind kind)
{
    pr_node *n = calloc(1, sizeof *n);
    if (!n)
        dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    else
        n->kind = kind;
    return n;
}

/* Skip blanks and "//" comments inside a signature. */
static void skip_space(pr_parser *p)
{
    while (p->pos < p->end) {
        char c = p->text[p->pos];
        if (c == '/' && p->pos + 1 < p->end && p->text[p->pos + 1] == '/') {
            while (p->pos < p->end && p->text[p->pos] != '\n')
                p->pos++;
        } else if (isspace((unsigned char)c)) {
            p->pos++;
        } else {
            return;
        }
    }
}

/* Copy text[from..to) trimmed into a new string (NULL when out of memory). */
static char *trimmed(const char *text, size_t from, size_t to)
{
    while (from < to && isspace((unsigned char)text[from]))
        from++;
    while (to > from && isspace((unsigned char)text[to - 1]))
        to--;
    char *s = malloc(to - from + 1);
    if (s) {
        memcpy(s, text + from, to - from);
        s[to - from] = '\0';
    }
    return s;
}

/* Read up to delim outside double quotes (CTP's getField); the offset of
 * delim, or end when it is missing. */
static size_t field_end(const pr_parser *p, size_t from, char delim)
{
    bool quoted = false;
    for (size_t i = from; i < p->end; i++) {
        if (p->text[i] == '"')
            quoted = !quoted;
        else if (!quoted && p->text[i] == delim)
            return i;
    }
    return p->end;
}

/* One level of an identifier: a keyword, [gggg,eeee] or (gggg,eeee). */
static bool parse_tag(const char *s, uint32_t *tag)
{
    size_t n = strlen(s);
    char buf[64];
    if (n >= 2 && n < sizeof buf && s[0] == '[' && s[n - 1] == ']') {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        s = buf;
    }
    return dcm_tag_parse(s, tag) == 0;
}

static dqr_status parse_ident(pr_parser *p, pr_node *n, const char *ident, size_t at)
{
    const char *s = ident;
    for (;;) {
        const char *sep = strstr(s, "::");
        size_t len = sep ? (size_t)(sep - s) : strlen(s);
        char part[128];
        if (n->npath == PR_MAX_PATH)
            return fail_at(p, at, "attribute path deeper than 8 levels");
        if (len == 0 || len >= sizeof part)
            return fail_at(p, at, "empty or overlong attribute name");
        memcpy(part, s, len);
        part[len] = '\0';
        char *t = trimmed(part, 0, len);
        bool ok = t && parse_tag(t, &n->path[n->npath]);
        free(t);
        if (!ok) {
            char msg[200];
            snprintf(msg, sizeof msg, "unknown attribute '%s' (a keyword or [gggg,eeee])", part);
            return fail_at(p, at, msg);
        }
        n->npath++;
        if (!sep)
            return DQR_OK;
        s = sep + 2;
    }
}

/* glibc's regcomp can take gigabytes on a short pattern (a quantifier on a
 * quantifier, large or nested {m,n}): rules text comes over REST, so refuse
 * what could blow up before compiling. NULL when the pattern is fine. */
static const char *regex_too_costly(const char *re)
{
    if (strlen(re) > PR_MAX_REGEX)
        return "longer than 256 characters";
    int braces = 0;
    bool quantified = false, in_bracket = false;
    const char *first = NULL; /* where a bracket's first member is: a ']' there is literal */
    for (const char *c = re; *c; c++) {
        if (in_bracket) {
            /* [:class:], [.coll.] and [=equiv=] nest inside a bracket: skip
             * them as glibc parses them, so that the scan and regcomp agree
             * on where the bracket ends (fuzz_pixel_rules found patterns
             * whose '+' runs the scan took for bracket text) */
            if (*c == '[' && (c[1] == ':' || c[1] == '.' || c[1] == '=')) {
                const char close[3] = {c[1], ']', '\0'};
                const char *end = strstr(c + 2, close);
                if (!end)
                    return "an unclosed [: :], [. .] or [= =] in a bracket expression";
                c = end + 1;
                continue;
            }
            if (c == first && *c == '^')
                first = c + 1;
            else
                in_bracket = *c != ']' || c == first;
            continue;
        }
        if (*c == '\\' && c[1]) {
            c++, quantified = false;
            continue;
        }
        bool q = *c == '*' || *c == '+' || *c == '?' || *c == '{';
        if (q && quantified)
            return "a quantifier on a quantifier (Java's possessive/lazy forms are not POSIX)";
        if (*c == '{') {
            char *end;
            long lo = strtol(c + 1, &end, 10), hi = lo;
            if (*end == ',')
                hi = end[1] == '}' ? PR_MAX_REPEAT + 1 : strtol(end + 1, &end, 10);
            if (++braces > 2 || lo > PR_MAX_REPEAT || hi > PR_MAX_REPEAT)
                return "at most two {m,n} repeats, each up to 32";
            const char *close = strchr(c, '}');
            c = close ? close : c + strlen(c) - 1;
        }
        in_bracket = *c == '[';
        first = c + 1;
        quantified = q;
    }
    return NULL;
}

static dqr_status compile_regex(pr_parser *p, pr_node *n, size_t at)
{
    const char *costly = regex_too_costly(n->arg);
    if (costly) {
        char msg[160];
        snprintf(msg, sizeof msg, "matches(): regular expression refused: %s", costly);
        return fail_at(p, at, msg);
    }
    /* whole-value match, as Java's String.matches */
    size_t len = strlen(n->arg);
    char *anchored = malloc(len + 5);
    n->re = malloc(sizeof *n->re);
    if (!anchored || !n->re) {
        free(anchored);
        free(n->re), n->re = NULL;
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    }
    snprintf(anchored, len + 5, "^(%s)$", n->arg);
    int rc = regcomp(n->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char why[160], msg[240];
        regerror(rc, n->re, why, sizeof why);
        free(n->re), n->re = NULL;
        snprintf(msg, sizeof msg, "matches(): bad regular expression: %s", why);
        return fail_at(p, at, msg);
    }
    return DQR_OK;
}

/* IDENT.METHOD("text"), or true / false. */
static pr_node *parse_operand(pr_parser *p)
{
    size_t start = p->pos, dot = field_end(p, start, '.');
    char *ident = trimmed(p->text, start, dot);
    if (!ident) {
        dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t wl = strspn(ident, "abcdefghijklmnopqrstuvwxyz");
    bool word = (wl == 4 && strncmp(ident, "true", 4) == 0) || (wl == 5 && strncmp(ident, "false", 5) == 0);
    if (word && !isalnum((unsigned char)p->text[start + wl]) && p->text[start + wl] != '.') {
        pr_node *n = node_new(p, PR_CONST);
        if (n)
            n->value = ident[0] == 't';
        p->pos = start + wl;
        free(ident);
        return n;
    }
    pr_node *n = node_new(p, PR_TEST);
    if (!n || dot == p->end) {
        if (n)
            fail_at(p, start, "expected ATTRIBUTE.method(\"text\")");
        free(ident), node_free(n);
        return NULL;
    }
    size_t lp = field_end(p, dot + 1, '(');
    size_t rp = lp < p->end ? field_end(p, lp + 1, ')') : p->end;
    char *method = trimmed(p->text, dot + 1, lp);
    char *arg = rp < p->end ? trimmed(p->text, lp + 1, rp) : NULL;
    dqr_status st = parse_ident(p, n, ident, start);
    size_t i = 0, nm = sizeof METHODS / sizeof METHODS[0];
    while (st == DQR_OK && method && i < nm && strcmp(METHODS[i].name, method) != 0)
        i++;
    if (st == DQR_OK && (!method || i == nm)) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown method '%.60s' (equals, contains, matches, startsWith, endsWith, "
                                  "...IgnoreCase, isLessThan, isGreaterThan)", method ? method : "");
        st = fail_at(p, dot + 1, msg);
    } else if (st == DQR_OK && (!arg || strlen(arg) < 2 || arg[0] != '"' || arg[strlen(arg) - 1] != '"')) {
        st = fail_at(p, lp < p->end ? lp : dot + 1, "expected (\"text\") after the method");
    }
    if (st == DQR_OK) {
        n->method = METHODS[i].m;
        size_t al = strlen(arg);
        memmove(arg, arg + 1, al - 2);
        arg[al - 2] = '\0';
        n->arg = arg, arg = NULL;
        if (n->method == PR_EQUALS_IC || n->method == PR_CONTAINS_IC || n->method == PR_STARTS_IC ||
            n->method == PR_ENDS_IC)
            lower(n->arg); /* compared with the lower-cased value */
        if (n->method == PR_MATCHES)
            st = compile_regex(p, n, lp + 1);
    }
    free(ident), free(method), free(arg);
    if (st != DQR_OK) {
        node_free(n);
        return NULL;
    }
    p->pos = rp + 1;
    return n;
}

static pr_node *parse_or(pr_parser *p);

static pr_node *parse_factor(pr_parser *p)
{
    skip_space(p);
    if (p->pos >= p->end) {
        fail_at(p, p->pos, "expected a condition");
        return NULL;
    }
    if (++p->depth > ANON_MAX_DEPTH) {
        fail_at(p, p->pos, "nesting deeper than 64 levels");
        return NULL;
    }
    char c = p->text[p->pos];
    pr_node *n = NULL;
    if (c == '!') {
        p->pos++;
        pr_node *a = parse_factor(p);
        n = a ? node_new(p, PR_NOT) : NULL;
        if (n)
            n->a = a;
        else
            node_free(a);
    } else if (c == '(') {
        size_t open = p->pos++;
        n = parse_or(p);
        skip_space(p);
        if (n && (p->pos >= p->end || p->text[p->pos] != ')')) {
            fail_at(p, open, "'(' without its ')'");
            node_free(n), n = NULL;
        }
        p->pos++;
    } else if (c == '[' || isalpha((unsigned char)c)) {
        n = parse_operand(p);
    } else {
        char msg[64];
        snprintf(msg, sizeof msg, "unexpected '%c'", c);
        fail_at(p, p->pos, msg);
    }
    p->depth--;
    return n;
}

/* A chain of factors joined by op ('*' binds tighter than '+'). */
static pr_node *parse_chain(pr_parser *p, char op, pr_kind kind, pr_node *(*next)(pr_parser *))
{
    pr_node *left = next(p);
    for (;;) {
        skip_space(p);
        if (!left || p->pos >= p->end || p->text[p->pos] != op)
            return left;
        p->pos++;
        pr_node *right = next(p);
        pr_node *n = right ? node_new(p, kind) : NULL;
        if (!n) {
            node_free(left), node_free(right);
            return NULL;
        }
        n->a = left, n->b = right;
        left = n;
    }
}

static pr_node *parse_and(pr_parser *p)
{
    return parse_chain(p, '*', PR_AND, parse_factor);
}

static pr_node *parse_or(pr_parser *p)
{
    return parse_chain(p, '+', PR_OR, parse_and);
}

/* ---- the file ------------------------------------------------------------ */

static dqr_status add_warning(anon_pixel_rules *r, pr_parser *p, size_t off, const char *what)
{
    int line, col;
    line_col(p->text, off, &line, &col);
    char **nw = realloc(r->warnings, (r->nwarnings + 1) * sizeof *nw);
    size_t need = strlen(p->name) + strlen(what) + 32;
    char *w = nw ? malloc(need) : NULL;
    if (nw)
        r->warnings = nw;
    if (!w)
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    snprintf(w, need, "%s:%d:%d: %s", p->name, line, col, what);
    r->warnings[r->nwarnings++] = w;
    return DQR_OK;
}

/* Parse "a,b,c,d" of a region group at text[from..to) (without parentheses). */
static dqr_status parse_region(anon_pixel_rules *r, pr_parser *p, pr_signature *sig, size_t from, size_t to)
{
    int v[4], k = 0;
    size_t i = from;
    size_t commas = 0;
    for (size_t j = from; j < to; j++)
        commas += p->text[j] == ',';
    if (commas != 3)
        return add_warning(r, p, from - 1, "skipped: a region is (left,top,width,height)");
    for (; k < 4; k++) {
        char *end;
        while (i < to && isspace((unsigned char)p->text[i]))
            i++;
        errno = 0;
        long x = strtol(p->text + i, &end, 10);
        size_t e = (size_t)(end - p->text);
        while (e < to && isspace((unsigned char)p->text[e]))
            e++;
        if (end == p->text + i || errno || x < -1000000 || x > 1000000 || e > to ||
            (e < to && p->text[e] != ','))
            return fail_at(p, i, "a region value must be an integer");
        v[k] = (int)x;
        i = e + 1;
    }
    anon_pixel_region *nr = realloc(sig->regions, (sig->nregions + 1) * sizeof *nr);
    if (!nr)
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    sig->regions = nr;
    sig->regions[sig->nregions++] = (anon_pixel_region){v[0], v[1], v[2], v[3]};
    return DQR_OK;
}

/* Every "(...)" group in text[from..to) is a region of sig. */
static dqr_status parse_regions(anon_pixel_rules *r, pr_parser *p, pr_signature *sig, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (p->text[i] != '(')
            continue;
        size_t close = i + 1;
        while (close < to && p->text[close] != ')')
            close++;
        if (close == to)
            return DQR_OK; /* CTP's pattern needs the ')': the rest is text */
        dqr_status st = parse_region(r, p, sig, i + 1, close);
        if (st != DQR_OK)
            return st;
        i = close;
    }
    return DQR_OK;
}

static dqr_status parse_signature(pr_parser *p, pr_signature *sig, size_t open, size_t close)
{
    int line, col;
    line_col(p->text, open, &line, &col);
    sig->line = line, sig->column = col;
    sig->text = trimmed(p->text, open + 1, close);
    if (!sig->text)
        return dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    p->pos = open + 1, p->end = close, p->depth = 0;
    skip_space(p);
    if (p->pos == p->end)
        return fail_at(p, open, "empty signature");
    sig->expr = parse_or(p);
    if (!sig->expr)
        return p->err && p->err->code ? p->err->code : DQR_E_PARSE;
    skip_space(p);
    if (p->pos < p->end) {
        char msg[64];
        snprintf(msg, sizeof msg, "unexpected '%c' (conditions join with * + !)", p->text[p->pos]);
        return fail_at(p, p->pos, msg);
    }
    return DQR_OK;
}

anon_pixel_rules *anon_pixel_rules_parse(const char *text, size_t len, const char *name, dqr_error *err)
{
    dqr_error local = {0};
    pr_parser p = {.text = text, .len = len, .name = name ? name : "rules", .err = err ? err : &local};
    anon_pixel_rules *r = calloc(1, sizeof *r);
    if (!r) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    if (memchr(text, '\0', len)) {
        fail_at(&p, (size_t)((const char *)memchr(text, '\0', len) - text), "NUL byte in rules text");
        anon_pixel_rules_free(r);
        return NULL;
    }
    dqr_status st = DQR_OK;
    const char *open = memchr(text, '{', len);
    while (st == DQR_OK && open) {
        size_t o = (size_t)(open - text);
        const char *close = memchr(open, '}', len - o);
        if (!close) {
            st = fail_at(&p, o, "'{' without its '}'");
            break;
        }
        size_t c = (size_t)(close - text);
        pr_signature *ns = realloc(r->sigs, (r->nsigs + 1) * sizeof *ns);
        if (!ns) {
            st = dqr_error_set(p.err, DQR_E_NOMEM, "out of memory");
            break;
        }
        r->sigs = ns;
        pr_signature *sig = &r->sigs[r->nsigs++];
        memset(sig, 0, sizeof *sig);
        st = parse_signature(&p, sig, o, c);
        open = memchr(close, '{', len - c);
        size_t next = open ? (size_t)(open - text) : len;
        if (st == DQR_OK)
            st = parse_regions(r, &p, sig, c + 1, next);
    }
    if (st != DQR_OK) {
        anon_pixel_rules_free(r);
        return NULL;
    }
    return r;
}

anon_pixel_rules *anon_pixel_rules_load(const char *path, dqr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(PR_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, PR_MAX_FILE + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    anon_pixel_rules *r = NULL;
    if (!buf)
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    else if (bad)
        dqr_error_set(err, DQR_E_IO, "%s: read failed", path);
    else if (n > PR_MAX_FILE)
        dqr_error_set(err, DQR_E_LIMIT, "%s: rules file larger than 16 MiB", path);
    else
        r = anon_pixel_rules_parse(buf, n, path, err);
    free(buf);
    return r;
}

void anon_pixel_rules_free(anon_pixel_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsigs; i++) {
        free(r->sigs[i].text);
        node_free(r->sigs[i].expr);
        free(r->sigs[i].regions);
    }
    for (size_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->sigs);
    free(r->warnings);
    free(r);
}

size_t anon_pixel_rules_count(const anon_pixel_rules *r)
{
    return r ? r->nsigs : 0;
}

size_t anon_pixel_rules_warning_count(const anon_pixel_rules *r)
{
    return r ? r->nwarnings : 0;
}

const char *anon_pixel_rules_warning(const anon_pixel_rules *r, size_t i)
{
    return r && i < r->nwarnings ? r->warnings[i] : NULL;
}

/* ---- matching ------------------------------------------------------------ */

/* The attribute's value as CTP reads it: "" when absent; a path's inner
 * levels must be sequences, and their first item is searched. */
static char *attribute_text(const dcm_dataset *ds, const pr_node *n, const dcm_charset *cs)
{
    const dcm_element *el = NULL;
    for (size_t i = 0; ds && i < n->npath; i++) {
        el = dcm_dataset_get(ds, n->path[i]);
        if (!el)
            break;
        if (i + 1 < n->npath) {
            ds = dcm_element_is_sequence(el) && dcm_element_item_count(el) ? dcm_element_item(el, 0) : NULL;
            el = NULL;
        }
    }
    char *s = el && !dcm_element_is_sequence(el) ? dcm_element_text(el, cs) : NULL;
    return s ? s : strdup("");
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && memcmp(s + a - b, suf, b) == 0;
}

/* CTP's numeric reading: keep digits and '.', then the whole rest must be a
 * number (else the comparison is false). */
static bool number_of(const char *s, double *out)
{
    char buf[128];
    size_t k = 0;
    for (; *s && k + 1 < sizeof buf; s++)
        if (isdigit((unsigned char)*s) || *s == '.')
            buf[k++] = *s;
    buf[k] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return k > 0 && *end == '\0' && strcmp(buf, ".") != 0;
}

/* n's test on the value v (which may be lower-cased in place). */
static bool test_value(const pr_node *n, char *v)
{
    const char *a = n->arg;
    if (n->method == PR_EQUALS_IC || n->method == PR_CONTAINS_IC || n->method == PR_STARTS_IC ||
        n->method == PR_ENDS_IC)
        lower(v);
    double x, y;
    switch (n->method) {
    case PR_EQUALS: case PR_EQUALS_IC: return strcmp(v, a) == 0;
    case PR_CONTAINS: case PR_CONTAINS_IC: return strstr(v, a) != NULL;
    case PR_STARTS: case PR_STARTS_IC: return strncmp(v, a, strlen(a)) == 0;
    case PR_ENDS: case PR_ENDS_IC: return has_suffix(v, a);
    case PR_MATCHES: return regexec(n->re, v, 0, NULL, 0) == 0;
    case PR_LESS: return number_of(v, &x) && number_of(n->arg, &y) && x < y;
    case PR_GREATER: return number_of(v, &x) && number_of(n->arg, &y) && x > y;
    }
    return false;
}

static bool eval(const pr_node *n, const dcm_dataset *ds, const dcm_charset *cs)
{
    switch (n->kind) {
    case PR_CONST: return n->value;
    case PR_NOT: return !eval(n->a, ds, cs);
    case PR_AND: return eval(n->a, ds, cs) && eval(n->b, ds, cs);
    case PR_OR: return eval(n->a, ds, cs) || eval(n->b, ds, cs);
    case PR_TEST: break;
    }
    char *v = attribute_text(ds, n, cs);
    bool r = v && test_value(n, v);
    free(v);
    return r;
}

bool anon_pixel_rules_match(const anon_pixel_rules *r, const dcm_dataset *ds, anon_pixel_match *out)
{
    if (!r || !ds)
        return false;
    dcm_charset *owned = NULL;
    const dcm_charset *cs = dcm_dataset_charset(ds, NULL, &owned, NULL);
    bool found = false;
    for (size_t i = 0; i < r->nsigs && !found; i++) {
        const pr_signature *s = &r->sigs[i];
        if (!eval(s->expr, ds, cs))
            continue;
        found = true;
        if (out)
            *out = (anon_pixel_match){i, s->line, s->column, s->text, s->regions, s->nregions};
    }
    dcm_charset_free(owned);
    return found;
}

/* One axis of CTP's Regions.getAdjustedRegions. */
static void clip_axis(int *start, int *size, int extent)
{
    int s = *start, n = *size;
    if (s < 0)
        s += extent;
    if (s < 0)
        s = 0;
    if (s > extent)
        s = extent;
    if (s + n > extent)
        n = extent - s;
    if (n < 0)
        n = 0;
    *start = s, *size = n;
}

anon_pixel_region anon_pixel_region_clip(anon_pixel_region region, int rows, int columns)
{
    clip_axis(&region.left, &region.width, columns);
    clip_axis(&region.top, &region.height, rows);
    return region;
}

dqr_status anon_pixel_rules_edit(const anon_pixel_rules *r, const dcm_dataset *ds, px_edit *e, size_t *added,
                                 dqr_error *err)
{
    *added = 0;
    anon_pixel_match m;
    if (!r || !anon_pixel_rules_match(r, ds, &m) || m.nregions == 0)
        return DQR_OK;
    long rows, cols, spp = 1;
    if (!dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &rows) ||
        !dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0011), &cols))
        return dqr_error_set(err, DQR_E_PARSE, "pixel rules: signature %zu (line %d) matched an instance without Rows or "
                             "Columns", m.index + 1, m.line);
    dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0002), &spp);
    for (size_t i = 0; i < m.nregions; i++) {
        anon_pixel_region c = anon_pixel_region_clip(m.regions[i], (int)rows, (int)cols);
        if (c.width <= 0 || c.height <= 0)
            continue; /* nothing of it inside this image */
        px_region pr = {.left = c.left, .top = c.top, .right = (int64_t)c.left + c.width,
                        .bottom = (int64_t)c.top + c.height, .frame = PX_ALL_FRAMES, .rgb = spp == 3};
        dqr_status st = px_edit_add(e, &pr, err);
        if (st)
            return st;
        ++*added;
    }
    return DQR_OK;
}

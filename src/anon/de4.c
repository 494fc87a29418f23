/* de4.c — DicomEdit 4 scripts to the DicomEdit 6 syntax tree.
 *
 * XNAT picks its DicomEdit 4 engine for a script that declares no version
 * (DE4Mizer serves version "4.0"; a DicomEdit 6 script starts with
 * version "6.x"). The grammar is the reference's EditDCMLexer.g /
 * EditDCMParser.g (NrgXnat dicom-edit4):
 *
 *   statement := action | (condition ':')+ action | ID ':=' value
 *              | describe ID (STRING | hidden) | export ID STRING
 *   action    := lvalue ':=' value | TAG ':=' new UID | '-' lvalue | echo [value]
 *   condition := value ('=' | '~') value
 *   value     := STRING term (',' term)*      (a MessageFormat: format[...])
 *              | term
 *   term      := STRING | NUMBER | TAG | ID '[' terms ']' | ID
 *
 * one statement per line ('//' comments, '\' joins lines). Tags are
 * (gggg,eeee) with any group, private ones included; an lvalue may be a
 * pattern with X @ # digits. Each construct becomes its DicomEdit 6 twin:
 * conditions are nested ternaries (all must hold), a format string is a
 * call of format, `new UID` is newUID[].
 *
 * Variables differ: in DicomEdit 4, `x := value` is not a statement run in
 * order but the variable's definition, evaluated wherever x is used (for
 * each file, whatever line it is on), and a variable is defined at most once.
 * So every use of a defined variable is replaced by its definition here; the
 * others (project, subject, session, ...) are the host's. Names are
 * case-insensitive (the reference lowercases them), so they are lowercased.
 * Unknown functions are refused at compile time, as the reference does.
 * Running order is the reference's two phases: see "two phases" below.
 */
#include "anon/de4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon/interp.h"

typedef enum d4_kind {
    D_EOF, D_NL, D_STRING, D_NUMBER, D_ID, D_TAG, D_PATTERN, D_LB, D_RB, D_COMMA, D_COLON,
    D_MINUS, D_EQ, D_MATCH, D_ASSIGN, D_ECHO, D_NEW, D_DESCRIBE, D_HIDDEN, D_EXPORT
} d4_kind;

typedef struct d4_tok {
    d4_kind kind;
    const char *text;  /* in the source */
    size_t len;
    const char *value; /* D_STRING: decoded, in the arena */
    int line, col;
} d4_tok;

typedef struct d4_def {
    const char *name; /* lowercased */
    expr *value;
    int line;
    int state; /* 0 unresolved, 1 resolving, 2 resolved */
    size_t terms; /* terms value expands to, once resolved */
} d4_def;

typedef struct d4 {
    anon_script *s;
    dqr_error *err;
    bool failed;
    d4_tok *t;
    size_t n, cap, i;
    d4_def *defs;
    size_t ndefs, capdefs;
    int depth;
} d4;

static bool fail(d4 *p, int line, int col, const char *what, const char *near, size_t nearlen)
{
    if (!p->failed) {
        p->failed = true;
        if (near && nearlen)
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: DicomEdit 4: %s (at '%.*s')", p->s->name, line, col,
                          what, (int)(nearlen > 40 ? 40 : nearlen), near);
        else
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: DicomEdit 4: %s", p->s->name, line, col, what);
    }
    return false;
}

static bool fail_tok(d4 *p, const d4_tok *t, const char *what)
{
    if (t->kind == D_EOF)
        return fail(p, t->line, t->col, what, "end of script", 13);
    if (t->kind == D_NL)
        return fail(p, t->line, t->col, what, "end of line", 11);
    return fail(p, t->line, t->col, what, t->text, t->len);
}

static bool oom(d4 *p)
{
    if (!p->failed) {
        p->failed = true;
        dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    }
    return false;
}

/* ---- lexer ------------------------------------------------------------- */

static bool push_tok(d4 *p, d4_kind k, const char *text, size_t len, int line, int col)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        d4_tok *nt = realloc(p->t, cap * sizeof *nt);
        if (!nt)
            return oom(p);
        p->t = nt;
        p->cap = cap;
    }
    p->t[p->n++] = (d4_tok){k, text, len, NULL, line, col};
    return true;
}

static const struct { const char *word; d4_kind kind; } KEYWORDS[] = {
    {"echo", D_ECHO}, {"new", D_NEW}, {"describe", D_DESCRIBE}, {"hidden", D_HIDDEN}, {"export", D_EXPORT},
};

/* A string literal starting at src[*i] (the quote); the reference decodes
 * \b \t \n \f \r \" \' \\ and refuses every other escape. */
static bool lex_string(d4 *p, const char *src, size_t len, size_t *i, int *line, int *col)
{
    size_t start = *i, o = 0, end = start + 1;
    int l0 = *line, c0 = *col;
    while (end < len && src[end] != '"')
        end += src[end] == '\\' && end + 1 < len ? 2 : 1;
    char *out = arena_alloc(&p->s->mem, end - start + 1); /* this string's length, not the rest of the script */
    if (!out)
        return oom(p);
    for ((*i)++, (*col)++; *i < len && src[*i] != '"'; (*i)++, (*col)++) {
        char c = src[*i];
        if (c == '\n') {
            (*line)++;
            *col = 0;
        } else if (c == '\\') {
            const char *esc = *i + 1 < len ? strchr("btnfr\"'\\", src[*i + 1]) : NULL;
            if (!esc || !src[*i + 1])
                return fail(p, *line, *col, "unsupported escape in a string (\\b \\t \\n \\f \\r \\\" \\' \\\\)",
                            src + *i, *i + 1 < len ? 2 : 1);
            c = "\b\t\n\f\r\"'\\"[esc - "btnfr\"'\\"];
            (*i)++, (*col)++;
        }
        out[o++] = c;
    }
    if (*i >= len)
        return fail(p, l0, c0, "string not closed", NULL, 0);
    (*i)++, (*col)++;
    if (!push_tok(p, D_STRING, src + start, *i - start, l0, c0))
        return false;
    p->t[p->n - 1].value = out;
    return true;
}

/* "(gggg,eeee)": a tag, or a pattern when a digit is X, @ or #. */
static size_t tag_length(const char *s, size_t avail, bool *pattern)
{
    *pattern = false;
    if (avail < 11 || s[5] != ',' || s[10] != ')')
        return 0;
    for (int k = 1; k < 10; k++) {
        if (k == 5)
            continue;
        if (s[k] == 'X' || s[k] == '@' || s[k] == '#')
            *pattern = true;
        else if (!isxdigit((unsigned char)s[k]))
            return 0;
    }
    return 11;
}

static bool lex(d4 *p, const char *src, size_t len)
{
    int line = 1, col = 1;
    size_t i = 0;
    while (i < len) {
        char c = src[i];
        size_t w = 1;
        d4_kind k;
        bool pattern;
        if (c == ' ' || c == '\t' || c == '\f' || (c == '\r' && i + 1 < len && src[i + 1] == '\n')) {
            i++, col++;
            continue;
        }
        if (c == '\\' && (i + 1 < len && (src[i + 1] == '\n' || (src[i + 1] == '\r' && i + 2 < len && src[i + 2] == '\n')))) {
            i += src[i + 1] == '\r' ? 3 : 2;
            line++, col = 1;
            continue;
        }
        if (c == '/' && i + 1 < len && src[i + 1] == '/') {
            while (i < len && src[i] != '\n')
                i++;
            continue;
        }
        if (c == '\n') {
            if (!push_tok(p, D_NL, src + i, 1, line, col))
                return false;
            i++, line++, col = 1;
            continue;
        }
        if (c == '"') {
            if (!lex_string(p, src, len, &i, &line, &col))
                return false;
            continue;
        }
        if (c == '(') {
            if (!(w = tag_length(src + i, len - i, &pattern)))
                return fail(p, line, col, "expected a tag like (0010,0010) or a pattern like (0010,00X0)", src + i,
                            strcspn(src + i, "\n") < 11 ? strcspn(src + i, "\n") : 11);
            k = pattern ? D_PATTERN : D_TAG;
        } else if (isalpha((unsigned char)c) || c == '_') {
            while (i + w < len && (isalnum((unsigned char)src[i + w]) || src[i + w] == '_'))
                w++;
            k = D_ID;
            for (size_t j = 0; j < sizeof KEYWORDS / sizeof KEYWORDS[0]; j++)
                if (strlen(KEYWORDS[j].word) == w && memcmp(KEYWORDS[j].word, src + i, w) == 0)
                    k = KEYWORDS[j].kind;
        } else if (isdigit((unsigned char)c) || (c == '-' && i + 1 < len && src[i + 1] >= '1' && src[i + 1] <= '9')) {
            if (c != '0')
                while (i + w < len && isdigit((unsigned char)src[i + w]))
                    w++;
            k = D_NUMBER;
        } else if (c == ':' && i + 1 < len && src[i + 1] == '=') {
            k = D_ASSIGN;
            w = 2;
        } else {
            const char *ops = "[],:-=~";
            const char *at = c ? strchr(ops, c) : NULL;
            static const d4_kind OPS[] = {D_LB, D_RB, D_COMMA, D_COLON, D_MINUS, D_EQ, D_MATCH};
            if (!at)
                return fail(p, line, col, "unexpected character", src + i, 1);
            k = OPS[at - ops];
        }
        if (!push_tok(p, k, src + i, w, line, col))
            return false;
        i += w, col += (int)w;
    }
    return push_tok(p, D_EOF, src + len, 0, line, col);
}

/* ---- parser helpers ---------------------------------------------------- */

static const d4_tok *peek(d4 *p) { return &p->t[p->i]; }
static d4_kind peek_kind(d4 *p, size_t ahead)
{
    return p->i + ahead < p->n ? p->t[p->i + ahead].kind : D_EOF;
}
static const d4_tok *take(d4 *p)
{
    const d4_tok *t = &p->t[p->i];
    if (p->i + 1 < p->n)
        p->i++;
    return t;
}

static bool push_ptr(d4 *p, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void **a = arena_alloc(&p->s->mem, ncap * sizeof *a);
        if (!a)
            return oom(p);
        if (*n)
            memcpy(a, *arr, *n * sizeof *a);
        *arr = a;
        *cap = ncap;
    }
    (*arr)[(*n)++] = item;
    return true;
}

static expr *new_expr(d4 *p, expr_kind kind, const d4_tok *t, const char *text)
{
    expr *e = arena_alloc(&p->s->mem, sizeof *e);
    if (!e)
        return oom(p), NULL;
    e->kind = kind;
    e->text = text;
    e->line = t->line;
    e->col = t->col;
    return e;
}

static const char *lower_name(d4 *p, const d4_tok *t)
{
    char *n = arena_strndup(&p->s->mem, t->text, t->len);
    if (!n)
        return oom(p), NULL;
    for (char *c = n; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return n;
}

/* The one-level tag path of a TAG or PATTERN token. */
static tagpath *tag_path(d4 *p, const d4_tok *t)
{
    tagpath *tp = arena_alloc(&p->s->mem, sizeof *tp);
    tp_level *l = tp ? arena_alloc(&p->s->mem, sizeof *l) : NULL;
    if (!l)
        return oom(p), NULL;
    l->kind = L_TAG;
    l->item = -1;
    for (int k = 0; k < 8; k++) {
        char c = t->text[k < 4 ? 1 + k : 2 + k];
        nibble *nb = k < 4 ? &l->group[k] : &l->elem[k - 4];
        nb->kind = c == 'X' ? 1 : c == '@' ? 2 : c == '#' ? 3 : 0;
        nb->value = nb->kind ? 0 : (uint8_t)(isdigit((unsigned char)c) ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    tp->levels = l;
    tp->n = 1;
    tp->line = t->line;
    tp->col = t->col;
    return tp;
}

/* ---- values ------------------------------------------------------------ */

static expr *term(d4 *p);

static bool starts_term(d4_kind k) { return k == D_STRING || k == D_NUMBER || k == D_TAG || k == D_ID; }

/* term (',' term)* into e->args; with allow_empty, none at all (f[]). */
static bool terms(d4 *p, expr *e, bool allow_empty)
{
    size_t cap = e->nargs;
    if (allow_empty && !starts_term(peek(p)->kind))
        return true;
    for (;;) {
        expr *a = term(p);
        if (!a || !push_ptr(p, (void ***)&e->args, &e->nargs, &cap, a))
            return false;
        if (peek(p)->kind != D_COMMA)
            return true;
        take(p);
    }
}

/* The reference's ScriptApplicator registers these (and XNAT adds
 * makeSessionLabel); any other name is an error when the script is read. */
static bool de4_function(const char *name)
{
    static const char *const NAMES[] = {"format", "lowercase", "uppercase", "replace", "substring",
                                        "match", "hashUID", "urlEncode", "getURL", "makeSessionLabel"};
    for (size_t k = 0; k < sizeof NAMES / sizeof NAMES[0]; k++)
        if (strcmp(NAMES[k], name) == 0)
            return true;
    return false;
}

static expr *call(d4 *p, const d4_tok *name)
{
    expr *e = new_expr(p, X_CALL, name, arena_strndup(&p->s->mem, name->text, name->len));
    if (!e || !e->text)
        return e ? (oom(p), NULL) : NULL;
    if (!de4_function(e->text))
        return fail_tok(p, name, "undefined function (DicomEdit 4 has format, lowercase, uppercase, replace, "
                                 "substring, match, hashUID, urlEncode, getURL, makeSessionLabel)"), NULL;
    take(p); /* '[' */
    if (p->depth >= ANON_MAX_DEPTH)
        return fail_tok(p, name, "nesting deeper than 64 levels"), NULL;
    p->depth++;
    bool ok = terms(p, e, true);
    p->depth--;
    if (!ok)
        return NULL;
    if (peek(p)->kind != D_RB)
        return fail_tok(p, peek(p), "expected ',' or ']' in the argument list"), NULL;
    take(p);
    return e;
}

static expr *term(d4 *p)
{
    const d4_tok *t = take(p);
    switch (t->kind) {
    case D_STRING:
        return new_expr(p, X_STRING, t, t->value);
    case D_NUMBER: {
        const char *n = arena_strndup(&p->s->mem, t->text, t->len);
        return n ? new_expr(p, X_NUMBER, t, n) : (oom(p), NULL);
    }
    case D_TAG: {
        expr *e = new_expr(p, X_PATH, t, NULL);
        return e && (e->path = tag_path(p, t)) ? e : NULL;
    }
    case D_ID: {
        if (peek(p)->kind == D_LB)
            return call(p, t);
        const char *n = lower_name(p, t);
        return n ? new_expr(p, X_VAR, t, n) : NULL;
    }
    case D_PATTERN:
        return fail_tok(p, t, "a tag pattern cannot be read as a value"), NULL;
    default:
        return fail_tok(p, t, "expected a value (string, number, tag, variable or function)"), NULL;
    }
}

static expr *value(d4 *p)
{
    const d4_tok *t = peek(p);
    if (t->kind != D_STRING || !starts_term(peek_kind(p, 1)))
        return term(p);
    /* "pattern" a, b: MessageFormat, as format["pattern", a, b] */
    expr *e = new_expr(p, X_CALL, t, "format");
    expr *pattern = e ? term(p) : NULL;
    size_t cap = 0;
    if (!pattern || !push_ptr(p, (void ***)&e->args, &e->nargs, &cap, pattern) || !terms(p, e, false))
        return NULL;
    return e;
}

/* ---- statements -------------------------------------------------------- */

static stmt *new_stmt(d4 *p, stmt_kind kind, const d4_tok *t)
{
    stmt *s = arena_alloc(&p->s->mem, sizeof *s);
    if (!s)
        return oom(p), NULL;
    s->kind = kind;
    s->line = t->line;
    s->col = t->col;
    return s;
}

static bool starts_action(d4 *p)
{
    d4_kind k = peek(p)->kind;
    return k == D_MINUS || k == D_ECHO || ((k == D_TAG || k == D_PATTERN) && peek_kind(p, 1) == D_ASSIGN);
}

static expr *new_uid(d4 *p)
{
    take(p); /* new */
    const d4_tok *gen = take(p);
    if (gen->kind != D_ID || gen->len != 3 || memcmp(gen->text, "UID", 3) != 0)
        return fail_tok(p, gen, "expected UID after new (the one generator)"), NULL;
    expr *e = new_expr(p, X_CALL, gen, "newUID");
    if (e && peek(p)->kind == D_LB) { /* new UID[...]: the generator ignores its arguments */
        expr ignored = {0};
        take(p);
        if (!terms(p, &ignored, true))
            return NULL;
        if (peek(p)->kind != D_RB)
            return fail_tok(p, peek(p), "expected ']'"), NULL;
        take(p);
    }
    return e;
}

static stmt *action(d4 *p)
{
    const d4_tok *t = take(p);
    stmt *s;
    if (t->kind == D_MINUS) {
        const d4_tok *tag = take(p);
        if (tag->kind != D_TAG && tag->kind != D_PATTERN)
            return fail_tok(p, tag, "expected a tag or tag pattern after '-'"), NULL;
        if (!(s = new_stmt(p, S_DELETE, t)))
            return NULL;
        return (s->path = tag_path(p, tag)) ? s : NULL;
    }
    if (t->kind == D_ECHO) {
        if (!(s = new_stmt(p, S_ECHO, t)))
            return NULL;
        if (peek(p)->kind == D_NL || peek(p)->kind == D_EOF)
            return s;
        return (s->value = value(p)) ? s : NULL;
    }
    /* a TAG or PATTERN, then ':=' (starts_action said so) */
    if (!(s = new_stmt(p, t->kind == D_TAG ? S_ASSIGN : S_ASSIGN_IF, t)) || !(s->path = tag_path(p, t)))
        return NULL;
    take(p);
    if (peek(p)->kind == D_NEW) {
        if (t->kind != D_TAG)
            return fail_tok(p, peek(p), "new UID needs a tag, not a pattern"), NULL;
        return (s->value = new_uid(p)) ? s : NULL;
    }
    return (s->value = value(p)) ? s : NULL;
}

/* (condition ':')+ action, as nested ternaries. */
static stmt *constrained(d4 *p)
{
    const d4_tok *start = peek(p);
    stmt *s = new_stmt(p, S_TERNARY, start);
    cond *c = s ? arena_alloc(&p->s->mem, sizeof *c) : NULL;
    if (!c || !(s->conds = arena_alloc(&p->s->mem, sizeof *s->conds)))
        return oom(p), NULL;
    s->conds[0] = c;
    s->nconds = 1;
    if (!(c->left = value(p)))
        return NULL;
    const d4_tok *op = take(p);
    if (op->kind != D_EQ && op->kind != D_MATCH)
        return fail_tok(p, op, "expected ':=' or a condition ('=' or '~')"), NULL;
    c->op = op->kind == D_EQ ? C_EQ : C_MATCH;
    if (!(c->right = value(p)))
        return NULL;
    if (peek(p)->kind != D_COLON)
        return fail_tok(p, peek(p), "expected ':' and an action after the condition"), NULL;
    take(p);
    if (starts_action(p))
        s->then_stmt = action(p);
    else if (p->depth < ANON_MAX_DEPTH) {
        p->depth++;
        s->then_stmt = constrained(p);
        p->depth--;
    } else {
        return fail_tok(p, peek(p), "nesting deeper than 64 levels"), NULL;
    }
    return s->then_stmt ? s : NULL;
}

static bool define(d4 *p, const d4_tok *id)
{
    const char *name = lower_name(p, id);
    if (!name)
        return false;
    take(p), take(p); /* the name and := */
    expr *v = value(p);
    if (!v)
        return false;
    for (size_t k = 0; k < p->ndefs; k++)
        if (strcmp(p->defs[k].name, name) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "variable '%.60s' is already defined on line %d (a variable has one definition)",
                     name, p->defs[k].line);
            return fail(p, id->line, id->col, msg, NULL, 0);
        }
    if (p->ndefs == p->capdefs) {
        size_t cap = p->capdefs ? p->capdefs * 2 : 8;
        d4_def *nd = realloc(p->defs, cap * sizeof *nd);
        if (!nd)
            return oom(p);
        p->defs = nd;
        p->capdefs = cap;
    }
    p->defs[p->ndefs++] = (d4_def){name, v, id->line, 0, 0};
    return true;
}

/* One statement; *out is NULL for a definition. */
static bool statement(d4 *p, stmt **out)
{
    const d4_tok *t = peek(p);
    *out = NULL;
    if (t->kind == D_DESCRIBE || t->kind == D_EXPORT) {
        take(p);
        const d4_tok *id = take(p), *d = take(p);
        if (id->kind != D_ID)
            return fail_tok(p, id, "expected a variable name");
        if (d->kind != D_STRING && !(t->kind == D_DESCRIBE && d->kind == D_HIDDEN))
            return fail_tok(p, d, t->kind == D_DESCRIBE ? "expected a label string or hidden"
                                                        : "expected the export field as a string");
        stmt *s = new_stmt(p, t->kind == D_DESCRIBE ? S_DESCRIBE : S_EXPORT, t);
        if (!s || !(s->name = lower_name(p, id)))
            return false;
        s->text = d->kind == D_STRING ? d->value : "hidden";
        *out = s;
        return true;
    }
    if (t->kind == D_ID && peek_kind(p, 1) == D_ASSIGN)
        return define(p, t);
    *out = starts_action(p) ? action(p) : constrained(p);
    return *out != NULL;
}

/* ---- definitions in place of variables ---------------------------------- */

/* A definition used twice in the next one doubles the work of a file at
 * each level (a := f[b, b], b := f[c, c], ...): the reference evaluates
 * definitions where they are used, and so does this substitution. So the
 * terms a script expands to are counted and bounded. */
#define DE4_MAX_TERMS 100000

static bool resolve(d4 *p, expr **slot, int depth, size_t *terms);

static d4_def *find_def(d4 *p, const char *name)
{
    for (size_t k = 0; k < p->ndefs; k++)
        if (strcmp(p->defs[k].name, name) == 0)
            return &p->defs[k];
    return NULL;
}

/* Replace *slot's defined variables by their definitions; *terms grows by
 * the number of terms *slot expands to (capped past the bound). */
static bool resolve(d4 *p, expr **slot, int depth, size_t *terms)
{
    expr *e = *slot;
    if (depth > ANON_MAX_DEPTH)
        return fail(p, e->line, e->col, "definitions nested deeper than 64 levels", NULL, 0);
    d4_def *d = e->kind == X_VAR ? find_def(p, e->text) : NULL;
    if (!d) {
        *terms += 1;
        for (size_t k = 0; e->kind == X_CALL && k < e->nargs && *terms <= DE4_MAX_TERMS; k++)
            if (!resolve(p, &e->args[k], depth + 1, terms))
                return false;
        return true;
    }
    if (d->state == 1) {
        char msg[160];
        snprintf(msg, sizeof msg, "variable '%.60s' is defined in terms of itself", d->name);
        return fail(p, e->line, e->col, msg, NULL, 0);
    }
    if (d->state == 0) {
        d->state = 1;
        d->terms = 0;
        if (!resolve(p, &d->value, depth + 1, &d->terms))
            return false;
        d->state = 2;
    }
    *terms += d->terms;
    *slot = d->value;
    return true;
}

static bool resolve_stmt(d4 *p, stmt *s, size_t *terms)
{
    for (stmt *a = s; a; a = a->then_stmt) {
        if (a->value && !resolve(p, &a->value, 0, terms))
            return false;
        if (a->kind == S_TERNARY &&
            (!resolve(p, &a->conds[0]->left, 0, terms) || !resolve(p, &a->conds[0]->right, 0, terms)))
            return false;
    }
    if (*terms > DE4_MAX_TERMS) {
        char msg[120];
        snprintf(msg, sizeof msg, "the values expand to more than %d terms (a definition counts each time it is used)", DE4_MAX_TERMS);
        return fail(p, s->line, s->col, msg, NULL, 0);
    }
    return true;
}

/* ---- two phases ---------------------------------------------------------
 *
 * The reference runs a DicomEdit 4 script in two phases (ScriptApplicator
 * .apply, Assignment.makeAction): every condition and value is evaluated on
 * the file as it came in, then the actions are applied in reverse order, "to
 * ensure that the first match applies" — of two assignments to one tag the
 * first wins, and a value never sees another statement's change. Here that
 * becomes DicomEdit 6 statements: phase 1, in script order, keeps each value
 * (and whether the conditions held) in a variable; phase 2, in reverse order,
 * applies the actions with those variables. The variables' names hold a
 * space, so no script can name them; each is reset to null first because a
 * session's variables outlive one file. */

/* A synthesized expression of kind k (call, variable, string) at a statement. */
static expr *made_expr(d4 *p, const stmt *at, expr_kind k, const char *text)
{
    expr *e = arena_alloc(&p->s->mem, sizeof *e);
    if (!e)
        return oom(p), NULL;
    e->kind = k;
    e->text = text;
    e->line = at->line;
    e->col = at->col;
    return e;
}

static stmt *init_stmt(d4 *p, const stmt *at, const char *name, expr *value)
{
    stmt *s = value ? arena_alloc(&p->s->mem, sizeof *s) : NULL;
    if (!s)
        return value ? (oom(p), NULL) : NULL;
    s->kind = S_INIT;
    s->line = at->line;
    s->col = at->col;
    s->name = name;
    s->value = value;
    return s;
}

/* The conditions of st (nested ternaries) around a new innermost action. */
static stmt *with_conditions(d4 *p, const stmt *st, stmt *inner)
{
    if (!inner || st->kind != S_TERNARY)
        return inner;
    stmt *t = arena_alloc(&p->s->mem, sizeof *t);
    if (!t)
        return oom(p), NULL;
    *t = *st;
    return (t->then_stmt = with_conditions(p, st->then_stmt, inner)) ? t : NULL;
}

static bool emit(d4 *p, block *b, size_t *cap, stmt *st)
{
    return st && push_ptr(p, (void ***)&b->stmts, &b->n, cap, st);
}

static const char *temp_name(d4 *p, char kind, size_t i)
{
    char name[32];
    snprintf(name, sizeof name, "de4 %c%zu", kind, i);
    const char *n = arena_strdup(&p->s->mem, name);
    return n ? n : (oom(p), NULL);
}

/* Phase 1 for one kept value: name := null, then (st's conditions) ? name := value. */
static bool keep(d4 *p, const stmt *st, const stmt *action, const char *name, expr *value, block *b,
                 size_t *cap)
{
    return name && emit(p, b, cap, init_stmt(p, st, name, made_expr(p, st, X_CALL, "de4 unset"))) &&
           emit(p, b, cap, with_conditions(p, st, init_stmt(p, action, name, value)));
}

/* Phase 2 of a conditional delete or echo: flag = "1" ? act. */
static stmt *gated(d4 *p, const stmt *at, const char *flag, stmt *act)
{
    stmt *t = arena_alloc(&p->s->mem, sizeof *t);
    cond *c = t ? arena_alloc(&p->s->mem, sizeof *c) : NULL;
    if (!c || !(t->conds = arena_alloc(&p->s->mem, sizeof *t->conds)))
        return oom(p), NULL;
    t->kind = S_TERNARY;
    t->line = at->line;
    t->col = at->col;
    t->conds[0] = c;
    t->nconds = 1;
    t->then_stmt = act;
    c->op = C_EQ;
    c->left = made_expr(p, at, X_VAR, flag);
    c->right = made_expr(p, at, X_STRING, "1");
    return c->left && c->right ? t : NULL;
}

/* Phase 1 statements for st into b; *later gets its phase 2 action (or NULL). */
static bool phase_one(d4 *p, stmt *st, size_t i, block *b, size_t *cap, stmt **later)
{
    *later = NULL;
    if (st->kind == S_DESCRIBE || st->kind == S_EXPORT)
        return emit(p, b, cap, st);
    bool conditional = st->kind == S_TERNARY;
    stmt *a = st;
    while (a->kind == S_TERNARY)
        a = a->then_stmt;
    stmt *act = arena_alloc(&p->s->mem, sizeof *act);
    if (!act)
        return oom(p);
    *act = *a;
    bool constant = act->value && (act->value->kind == X_STRING || act->value->kind == X_NUMBER);
    if (act->value && (conditional || !constant)) {
        const char *v = temp_name(p, 'v', i);
        if (!keep(p, st, a, v, act->value, b, cap) || !(act->value = made_expr(p, a, X_VAR, v)))
            return false;
    }
    if (conditional && (act->kind == S_DELETE || act->kind == S_ECHO)) {
        const char *f = temp_name(p, 'f', i);
        if (!keep(p, st, a, f, made_expr(p, st, X_STRING, "1"), b, cap))
            return false;
        act = gated(p, st, f, act);
    }
    return (*later = act) != NULL;
}

static bool two_phases(d4 *p, const block *prog)
{
    size_t cap = 0;
    stmt **later = prog->n ? calloc(prog->n, sizeof *later) : NULL;
    bool ok = !prog->n || later || oom(p);
    for (size_t i = 0; ok && i < prog->n; i++)
        ok = phase_one(p, prog->stmts[i], i, &p->s->top, &cap, &later[i]);
    for (size_t i = prog->n; ok && i-- > 0;)
        ok = !later[i] || emit(p, &p->s->top, &cap, later[i]);
    free(later);
    return ok;
}

/* ---- entry points ------------------------------------------------------- */

bool anon_de4_detect(const char *text, size_t len)
{
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '\n')
            in_string = false;
        else if (c == '"')
            in_string = !in_string;
        else if (!in_string && c == '/' && i + 1 < len && text[i + 1] == '/')
            while (i + 1 < len && text[i + 1] != '\n')
                i++;
        else if (!in_string && c == 'v' && len - i > 7 && memcmp(text + i, "version", 7) == 0 &&
                 (i == 0 || !(isalnum((unsigned char)text[i - 1]) || text[i - 1] == '_'))) {
            size_t j = i + 7;
            while (j < len && (text[j] == ' ' || text[j] == '\t'))
                j++;
            if (j < len && text[j] == '"')
                return false;
        }
    }
    return true;
}

dqr_status anon_de4_parse(anon_script *s, const char *text, size_t len, dqr_error *err)
{
    d4 p = {.s = s, .err = err};
    block prog = {0};
    size_t cap = 0;
    bool ok = (s->text = malloc(len + 1)) != NULL || oom(&p);
    if (ok) {
        memcpy(s->text, text, len);
        s->text[len] = '\0';
        ok = lex(&p, s->text, len);
    }
    while (ok) {
        while (peek(&p)->kind == D_NL)
            take(&p);
        if (peek(&p)->kind == D_EOF)
            break;
        stmt *st;
        ok = statement(&p, &st) && (!st || push_ptr(&p, (void ***)&prog.stmts, &prog.n, &cap, st));
        if (ok && peek(&p)->kind != D_NL && peek(&p)->kind != D_EOF)
            ok = fail_tok(&p, peek(&p), "expected the end of the statement (one statement per line)");
    }
    size_t terms = 0;
    for (size_t k = 0; ok && k < prog.n; k++)
        ok = resolve_stmt(&p, prog.stmts[k], &terms);
    ok = ok && two_phases(&p, &prog);
    free(p.t);
    free(p.defs);
    if (!ok)
        return err && err->code ? err->code : DQR_E_PARSE;
    snprintf(s->version, sizeof s->version, "4");
    return DQR_OK;
}

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
#include "anon/de4_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool d4_push_ptr(d4 *p, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void **a = arena_alloc(&p->s->mem, ncap * sizeof *a);
        if (!a)
            return d4_oom(p);
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
        return d4_oom(p), NULL;
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
        return d4_oom(p), NULL;
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
        return d4_oom(p), NULL;
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
        if (!a || !d4_push_ptr(p, (void ***)&e->args, &e->nargs, &cap, a))
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
        return e ? (d4_oom(p), NULL) : NULL;
    if (!de4_function(e->text))
        return d4_fail_tok(p, name, "undefined function (DicomEdit 4 has format, lowercase, uppercase, replace, "
                                 "substring, match, hashUID, urlEncode, getURL, makeSessionLabel)"), NULL;
    take(p); /* '[' */
    if (p->depth >= ANON_MAX_DEPTH)
        return d4_fail_tok(p, name, "nesting deeper than 64 levels"), NULL;
    p->depth++;
    bool ok = terms(p, e, true);
    p->depth--;
    if (!ok)
        return NULL;
    if (peek(p)->kind != D_RB)
        return d4_fail_tok(p, peek(p), "expected ',' or ']' in the argument list"), NULL;
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
        return n ? new_expr(p, X_NUMBER, t, n) : (d4_oom(p), NULL);
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
        return d4_fail_tok(p, t, "a tag pattern cannot be read as a value"), NULL;
    default:
        return d4_fail_tok(p, t, "expected a value (string, number, tag, variable or function)"), NULL;
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
    if (!pattern || !d4_push_ptr(p, (void ***)&e->args, &e->nargs, &cap, pattern) || !terms(p, e, false))
        return NULL;
    return e;
}

/* ---- statements -------------------------------------------------------- */

static stmt *new_stmt(d4 *p, stmt_kind kind, const d4_tok *t)
{
    stmt *s = arena_alloc(&p->s->mem, sizeof *s);
    if (!s)
        return d4_oom(p), NULL;
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
        return d4_fail_tok(p, gen, "expected UID after new (the one generator)"), NULL;
    expr *e = new_expr(p, X_CALL, gen, "newUID");
    if (e && peek(p)->kind == D_LB) { /* new UID[...]: the generator ignores its arguments */
        expr ignored = {0};
        take(p);
        if (!terms(p, &ignored, true))
            return NULL;
        if (peek(p)->kind != D_RB)
            return d4_fail_tok(p, peek(p), "expected ']'"), NULL;
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
            return d4_fail_tok(p, tag, "expected a tag or tag pattern after '-'"), NULL;
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
            return d4_fail_tok(p, peek(p), "new UID needs a tag, not a pattern"), NULL;
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
        return d4_oom(p), NULL;
    s->conds[0] = c;
    s->nconds = 1;
    if (!(c->left = value(p)))
        return NULL;
    const d4_tok *op = take(p);
    if (op->kind != D_EQ && op->kind != D_MATCH)
        return d4_fail_tok(p, op, "expected ':=' or a condition ('=' or '~')"), NULL;
    c->op = op->kind == D_EQ ? C_EQ : C_MATCH;
    if (!(c->right = value(p)))
        return NULL;
    if (peek(p)->kind != D_COLON)
        return d4_fail_tok(p, peek(p), "expected ':' and an action after the condition"), NULL;
    take(p);
    if (starts_action(p))
        s->then_stmt = action(p);
    else if (p->depth < ANON_MAX_DEPTH) {
        p->depth++;
        s->then_stmt = constrained(p);
        p->depth--;
    } else {
        return d4_fail_tok(p, peek(p), "nesting deeper than 64 levels"), NULL;
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
            return d4_fail(p, id->line, id->col, msg, NULL, 0);
        }
    if (p->ndefs == p->capdefs) {
        size_t cap = p->capdefs ? p->capdefs * 2 : 8;
        d4_def *nd = realloc(p->defs, cap * sizeof *nd);
        if (!nd)
            return d4_oom(p);
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
            return d4_fail_tok(p, id, "expected a variable name");
        if (d->kind != D_STRING && !(t->kind == D_DESCRIBE && d->kind == D_HIDDEN))
            return d4_fail_tok(p, d, t->kind == D_DESCRIBE ? "expected a label string or hidden"
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
    bool ok = (s->text = malloc(len + 1)) != NULL || d4_oom(&p);
    if (ok) {
        memcpy(s->text, text, len);
        s->text[len] = '\0';
        ok = d4_lex(&p, s->text, len);
    }
    while (ok) {
        while (peek(&p)->kind == D_NL)
            take(&p);
        if (peek(&p)->kind == D_EOF)
            break;
        stmt *st;
        ok = statement(&p, &st) && (!st || d4_push_ptr(&p, (void ***)&prog.stmts, &prog.n, &cap, st));
        if (ok && peek(&p)->kind != D_NL && peek(&p)->kind != D_EOF)
            ok = d4_fail_tok(&p, peek(&p), "expected the end of the statement (one statement per line)");
    }
    size_t terms = 0;
    for (size_t k = 0; ok && k < prog.n; k++)
        ok = d4_resolve_stmt(&p, prog.stmts[k], &terms);
    ok = ok && d4_two_phases(&p, &prog);
    free(p.t);
    free(p.defs);
    if (!ok)
        return err && err->code ? err->code : DQR_E_PARSE;
    snprintf(s->version, sizeof s->version, "4");
    return DQR_OK;
}

/* parser.c — DicomEdit 6 tokens to a syntax tree (grammar: docs/dicomedit.md).
 *
 * Recursive descent. A statement that starts with a value is told apart by
 * what follows the value: ':=' assigns (to a tag path or a variable), '?='
 * assigns if present, a comparison followed by '?' is a ternary, and a
 * function call alone is run for its effect. Errors name file:line:column and
 * the offending token; the first error refuses the whole script.
 *
 * The descent recurses once per nesting level (block, ternary, list, call),
 * so enter() bounds the depth at ANON_MAX_DEPTH: a script nested 100,000
 * deep is a clean error at the token that opens level 65, not a stack
 * overflow. Every later walk over the tree (checks, lint, interpreter) is
 * bounded by the same depth.
 */
#include "anon/script.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    anon_script *s;
    const token *t;
    size_t n, i;
    dqr_error *err;
    bool failed;
    int depth; /* nesting levels open at the current token */
} parser;

static const token *peek(parser *p) { return &p->t[p->i]; }
static const token *peek2(parser *p) { return &p->t[p->i + 1 < p->n ? p->i + 1 : p->i]; }
static const token *next(parser *p)
{
    const token *t = &p->t[p->i];
    if (p->i + 1 < p->n)
        p->i++;
    return t;
}
static bool at(parser *p, tok_kind k) { return peek(p)->kind == k; }

static void *fail_at(parser *p, const token *t, const char *what)
{
    if (!p->failed) {
        p->failed = true;
        if (t->kind == T_EOF || t->kind == T_NEWLINE)
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: syntax error at %s: %s", p->s->name, t->line,
                          t->col, anon_tok_name(t->kind), what);
        else
            dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: syntax error at '%.*s': %s", p->s->name,
                          t->line, t->col, (int)(t->len > 40 ? 40 : t->len), t->text, what);
    }
    return NULL;
}

/* Open one nesting level at token t; false (error set) past ANON_MAX_DEPTH.
 * Each successful enter() is paired with leave(). */
static bool enter(parser *p, const token *t)
{
    if (p->depth < ANON_MAX_DEPTH) {
        p->depth++;
        return true;
    }
    if (!p->failed) {
        p->failed = true;
        dqr_error_set(p->err, DQR_E_PARSE, "%s:%d:%d: nesting deeper than %d levels", p->s->name,
                      t->line, t->col, ANON_MAX_DEPTH);
    }
    return false;
}

static void leave(parser *p) { p->depth--; }

static void *oom(parser *p)
{
    if (!p->failed) {
        p->failed = true;
        dqr_error_set(p->err, DQR_E_NOMEM, "out of memory");
    }
    return NULL;
}

static const token *expect(parser *p, tok_kind k, const char *what)
{
    if (!at(p, k))
        return fail_at(p, peek(p), what);
    return next(p);
}

static void skip_newlines(parser *p)
{
    while (at(p, T_NEWLINE))
        next(p);
}

/* A growable pointer array in the arena. */
static bool push_ptr(parser *p, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        void **a = arena_alloc(&p->s->mem, ncap * sizeof *a);
        if (!a)
            return oom(p), false;
        if (*n)
            memcpy(a, *arr, *n * sizeof *a);
        *arr = a;
        *cap = ncap;
    }
    (*arr)[(*n)++] = item;
    return true;
}

/* ---- strings ----------------------------------------------------------- */

/* Strip the quotes; "" -> " and \\ -> \ ; every other escape stays as written
 * (DicomEdit's evaluator decodes no other escape). */
static const char *string_value(parser *p, const token *t)
{
    char *out = arena_alloc(&p->s->mem, t->len);
    if (!out)
        return oom(p);
    size_t o = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        if (t->text[i] == '"' && t->text[i + 1] == '"' && i + 2 < t->len) {
            out[o++] = '"';
            i++;
        } else if (t->text[i] == '\\' && t->text[i + 1] == '\\' && i + 2 < t->len) {
            out[o++] = '\\';
            i++;
        } else {
            out[o++] = t->text[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- tag paths --------------------------------------------------------- */

static bool parse_nibble(char c, nibble *n)
{
    switch (c) {
    case 'x': case 'X': n->kind = 1; n->value = 0; return true;
    case '@': n->kind = 2; n->value = 0; return true;
    case '#': n->kind = 3; n->value = 0; return true;
    default:
        n->kind = 0;
        n->value = (uint8_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        return true;
    }
}

static bool tag_level(parser *p, const token *t, tp_level *l)
{
    const char *s = t->text + 1;
    l->kind = L_TAG;
    l->item = -1;
    for (int i = 0; i < 4; i++)
        parse_nibble(s[i], &l->group[i]);
    s += 4;
    while (*s == ' ' || *s == ',')
        s++;
    nibble last = l->group[3];
    bool odd_ok = last.kind == 3 || (last.kind == 0 && (last.value & 1));
    bool even_ok = last.kind == 2 || (last.kind == 0 && !(last.value & 1));
    if (*s == '{') {
        const char *end = strchr(s, '}');
        l->creator = arena_strndup(&p->s->mem, s + 1, (size_t)(end - s - 1));
        if (!l->creator)
            return oom(p), false;
        if (!odd_ok)
            return fail_at(p, t, "a private tag's group must end in an odd digit or '#'"), false;
        const char *c = l->creator;
        bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z');
        for (; *c && ok; c++)
            ok = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.:", *c) != NULL;
        if (!ok)
            return fail_at(p, t, "a creator ID starts with a letter and holds letters, digits, space, - _ . :"), false;
        s = end + 1;
        l->elem[0] = l->elem[1] = (nibble){0, 1};
        parse_nibble(s[0], &l->elem[2]);
        parse_nibble(s[1], &l->elem[3]);
        return true;
    }
    if (!even_ok)
        return fail_at(p, t, "a public tag's group must end in an even digit or '@' "
                              "(write private tags as (gggg,{creator}ee))"), false;
    for (int i = 0; i < 4; i++)
        parse_nibble(s[i], &l->elem[i]);
    return true;
}

/* [n] or [%] after a tag: item number. */
static bool item_number(parser *p, tp_level *l)
{
    if (!at(p, T_LBRACKET))
        return true;
    const token *k = peek2(p);
    if (k->kind != T_INT && k->kind != T_PERCENT)
        return true; /* not ours */
    next(p);
    next(p);
    if (k->kind == T_INT) {
        /* bounded, so a typo cannot make a script create millions of items */
        if (k->text[0] == '-' || k->len > 5 || atoi(k->text) > 65535)
            return fail_at(p, k, "an item number is from 0 to 65535"), false;
        l->item = atoi(k->text);
    }
    l->item_given = true;
    return expect(p, T_RBRACKET, "expected ']' after the item number") != NULL;
}

static tagpath *parse_tagpath(parser *p)
{
    tagpath *tp = arena_alloc(&p->s->mem, sizeof *tp);
    tp_level levels[ANON_MAX_DEPTH];
    size_t n = 0;
    if (!tp)
        return oom(p);
    tp->line = peek(p)->line;
    tp->col = peek(p)->col;
    for (;;) {
        if (n == ANON_MAX_DEPTH)
            return fail_at(p, peek(p), "tag path too deep (64 levels at most)");
        tp_level *l = &levels[n];
        memset(l, 0, sizeof *l);
        const token *t = next(p);
        switch (t->kind) {
        case T_TAG:
            if (!tag_level(p, t, l) || !item_number(p, l))
                return NULL;
            break;
        case T_STAR: l->kind = L_ANY_DEPTH; l->item = -1; break;
        case T_PLUS: l->kind = L_SOME_DEPTH; l->item = -1; break;
        case T_DOT: l->kind = L_ONE; l->item = -1; break;
        default:
            return fail_at(p, t, "expected a tag like (0010,0010) or a path level * + .");
        }
        n++;
        if (!at(p, T_SLASH))
            break;
        next(p);
    }
    if (levels[n - 1].kind != L_TAG)
        return fail_at(p, peek(p), "a tag path ends with a tag");
    tp->levels = arena_alloc(&p->s->mem, n * sizeof *tp->levels);
    if (!tp->levels)
        return oom(p);
    memcpy(tp->levels, levels, n * sizeof *levels);
    tp->n = n;
    return tp;
}

/* ---- values ------------------------------------------------------------ */

static expr *parse_value(parser *p);

static expr *new_expr(parser *p, expr_kind kind, const token *at_tok)
{
    expr *e = arena_alloc(&p->s->mem, sizeof *e);
    if (!e)
        return oom(p);
    e->kind = kind;
    e->line = at_tok->line;
    e->col = at_tok->col;
    return e;
}

/* Items of a call "[a, b]" or a list "{a, b}" (newlines allowed in lists). */
static bool parse_item_list(parser *p, expr *e, tok_kind close, bool newlines)
{
    size_t cap = 0;
    if (newlines)
        skip_newlines(p);
    if (at(p, close)) {
        next(p);
        return true;
    }
    for (;;) {
        expr *a = parse_value(p);
        if (!a || !push_ptr(p, (void ***)&e->args, &e->nargs, &cap, a))
            return false;
        if (newlines)
            skip_newlines(p);
        if (at(p, close)) {
            next(p);
            return true;
        }
        if (!expect(p, T_COMMA, close == T_RBRACKET ? "expected ',' or ']' in the argument list"
                                                    : "expected ',' or '}' in the list"))
            return false;
        if (newlines)
            skip_newlines(p);
    }
}

/* The items one level deeper than the call or list token open. */
static bool parse_items(parser *p, expr *e, const token *open, tok_kind close, bool newlines)
{
    if (!enter(p, open))
        return false;
    bool ok = parse_item_list(p, e, close, newlines);
    leave(p);
    return ok;
}

static expr *parse_value(parser *p)
{
    const token *t = peek(p);
    expr *e;
    switch (t->kind) {
    case T_STRING:
        next(p);
        if (!(e = new_expr(p, X_STRING, t)) || !(e->text = string_value(p, t)))
            return NULL;
        return e;
    case T_INT:
    case T_FLOAT:
        next(p);
        if (!(e = new_expr(p, X_NUMBER, t)) || !(e->text = arena_strndup(&p->s->mem, t->text, t->len)))
            return oom(p);
        return e;
    case T_ID:
        next(p);
        e = new_expr(p, at(p, T_LBRACKET) ? X_CALL : X_VAR, t);
        if (!e || !(e->text = arena_strndup(&p->s->mem, t->text, t->len)))
            return oom(p);
        if (e->kind == X_CALL) {
            if (!parse_items(p, e, next(p), T_RBRACKET, false))
                return NULL;
        }
        return e;
    case T_TAG:
    case T_STAR:
    case T_PLUS:
    case T_DOT:
        if (!(e = new_expr(p, X_PATH, t)) || !(e->path = parse_tagpath(p)))
            return NULL;
        return e;
    case T_LBRACE:
        next(p);
        if (!(e = new_expr(p, X_LIST, t)) || !parse_items(p, e, t, T_RBRACE, true))
            return NULL;
        return e;
    default:
        return fail_at(p, t, "expected a value (string, number, name, tag path, function or list)");
    }
}

/* ---- statements -------------------------------------------------------- */

static stmt *parse_statement(parser *p);
static bool parse_block(parser *p, block *b);

static stmt *new_stmt(parser *p, stmt_kind kind, const token *t)
{
    stmt *s = arena_alloc(&p->s->mem, sizeof *s);
    if (!s)
        return oom(p);
    s->kind = kind;
    s->line = t->line;
    s->col = t->col;
    return s;
}

static cond_op comparison(tok_kind k)
{
    switch (k) {
    case T_EQ: return C_EQ;
    case T_NE: return C_NE;
    case T_MATCH: return C_MATCH;
    case T_NMATCH: return C_NMATCH;
    default: return C_CALL;
    }
}

static cond *parse_condition(parser *p)
{
    cond *c = arena_alloc(&p->s->mem, sizeof *c);
    if (!c)
        return oom(p);
    if (!(c->left = parse_value(p)))
        return NULL;
    c->op = comparison(peek(p)->kind);
    if (c->op == C_CALL) {
        if (c->left->kind != X_CALL)
            return fail_at(p, peek(p), "expected a comparison (= != ~ !~) or a function as the condition");
        return c;
    }
    next(p);
    return (c->right = parse_value(p)) ? c : NULL;
}

/* An action: what a ternary may run (no if, no describe...). */
static stmt *parse_action(parser *p)
{
    if (!enter(p, peek(p)))
        return NULL;
    stmt *s = parse_statement(p);
    leave(p);
    if (s && (s->kind == S_IF || s->kind == S_TERNARY || s->kind == S_DESCRIBE ||
              s->kind == S_EXPORT || s->kind == S_VERSION || s->kind == S_RMPRIV))
        return fail_at(p, peek(p), "only an assignment, deletion, function or echo may follow '?' or ':'");
    return s;
}

/* Statements that start with a value: see the file comment. */
static stmt *value_statement(parser *p)
{
    const token *start = peek(p);
    expr *v = parse_value(p);
    if (!v)
        return NULL;
    const token *t = peek(p);
    stmt *s;
    if (t->kind == T_ASSIGN || t->kind == T_ASSIGN_IF) {
        next(p);
        if (v->kind == X_PATH) {
            if (!(s = new_stmt(p, t->kind == T_ASSIGN ? S_ASSIGN : S_ASSIGN_IF, start)))
                return NULL;
            s->path = v->path;
        } else if (v->kind == X_VAR && t->kind == T_ASSIGN) {
            if (!(s = new_stmt(p, S_INIT, start)))
                return NULL;
            s->name = v->text;
        } else {
            return fail_at(p, t, t->kind == T_ASSIGN ? "only a tag path or a variable can be assigned"
                                                     : "'?=' assigns to a tag path");
        }
        return (s->value = parse_value(p)) ? s : NULL;
    }
    cond_op op = comparison(t->kind);
    if (op != C_CALL || t->kind == T_QUESTION) {
        cond *c = arena_alloc(&p->s->mem, sizeof *c);
        if (!c)
            return oom(p);
        c->left = v;
        c->op = op;
        if (op != C_CALL) {
            next(p);
            if (!(c->right = parse_value(p)))
                return NULL;
        } else if (v->kind != X_CALL) {
            return fail_at(p, t, "a condition before '?' is a comparison or a function");
        }
        if (!expect(p, T_QUESTION, "expected '?' after the condition"))
            return NULL;
        if (!(s = new_stmt(p, S_TERNARY, start)))
            return NULL;
        s->conds = arena_alloc(&p->s->mem, sizeof *s->conds);
        if (!s->conds)
            return oom(p);
        s->conds[0] = c;
        s->nconds = 1;
        if (!(s->then_stmt = parse_action(p)))
            return NULL;
        if (at(p, T_COLON)) {
            next(p);
            if (!(s->else_stmt = parse_action(p)))
                return NULL;
        }
        return s;
    }
    if (v->kind != X_CALL)
        return fail_at(p, t, v->kind == X_PATH ? "expected ':=', '?=' or a comparison after the tag path"
                                              : "expected ':=' or a comparison after the value");
    if (!(s = new_stmt(p, S_CALL, start)))
        return NULL;
    s->value = v;
    return s;
}

static stmt *if_statement(parser *p)
{
    const token *start = next(p);
    stmt *s = new_stmt(p, S_IF, start);
    size_t cap = 0, bcap = 0, nblocks = 0;
    if (!s)
        return NULL;
    for (;;) {
        if (!expect(p, T_LPAREN, "expected '(' after if/elseif"))
            return NULL;
        cond *c = parse_condition(p);
        if (!c || !expect(p, T_RPAREN, "expected ')' after the condition"))
            return NULL;
        block *b = arena_alloc(&p->s->mem, sizeof *b);
        if (!b || !push_ptr(p, (void ***)&s->conds, &s->nconds, &cap, c))
            return b ? NULL : oom(p);
        skip_newlines(p);
        if (!parse_block(p, b))
            return NULL;
        /* blocks are stored by value: keep a parallel array */
        block *nb = arena_alloc(&p->s->mem, (nblocks + 1) * sizeof *nb);
        if (!nb)
            return oom(p);
        if (nblocks)
            memcpy(nb, s->blocks, nblocks * sizeof *nb);
        nb[nblocks++] = *b;
        s->blocks = nb;
        (void)bcap;
        size_t save = p->i;
        skip_newlines(p);
        if (at(p, T_ELSEIF)) {
            next(p);
            continue;
        }
        if (at(p, T_ELSE)) {
            next(p);
            skip_newlines(p);
            if (!(s->else_block = arena_alloc(&p->s->mem, sizeof *s->else_block)))
                return oom(p);
            if (!parse_block(p, s->else_block))
                return NULL;
        } else {
            p->i = save;
        }
        return s;
    }
}

static stmt *parse_statement(parser *p)
{
    const token *t = peek(p);
    stmt *s;
    switch (t->kind) {
    case T_MINUS:
        next(p);
        if (!(s = new_stmt(p, S_DELETE, t)))
            return NULL;
        return (s->path = parse_tagpath(p)) ? s : NULL;
    case T_ECHO:
        next(p);
        if (!(s = new_stmt(p, S_ECHO, t)))
            return NULL;
        if (at(p, T_NEWLINE) || at(p, T_EOF) || at(p, T_RBRACE) || at(p, T_COLON))
            return s;
        return (s->value = parse_value(p)) ? s : NULL;
    case T_RMPRIV:
        next(p);
        return new_stmt(p, S_RMPRIV, t);
    case T_VERSION: {
        next(p);
        const token *v = expect(p, T_STRING, "expected a version string such as \"6.3\"");
        if (!v || !(s = new_stmt(p, S_VERSION, t)) || !(s->name = string_value(p, v)))
            return NULL;
        return s;
    }
    case T_DESCRIBE: {
        next(p);
        const token *id = expect(p, T_ID, "expected a variable name after describe");
        if (!id || !(s = new_stmt(p, S_DESCRIBE, t)) || !(s->name = arena_strndup(&p->s->mem, id->text, id->len)))
            return NULL;
        const token *d = next(p);
        if (d->kind == T_STRING)
            s->text = string_value(p, d);
        else if (d->kind == T_HIDDEN || d->kind == T_CONST || d->kind == T_IMMUTABLE)
            s->text = arena_strndup(&p->s->mem, d->text, d->len);
        else
            return fail_at(p, d, "expected a label string, hidden, const or immutable");
        return s;
    }
    case T_EXPORT: {
        next(p);
        const token *id = expect(p, T_ID, "expected a variable name after export");
        const token *f = id ? expect(p, T_STRING, "expected the export field as a string") : NULL;
        if (!f || !(s = new_stmt(p, S_EXPORT, t)))
            return NULL;
        s->name = arena_strndup(&p->s->mem, id->text, id->len);
        s->text = string_value(p, f);
        return s;
    }
    case T_IF:
        return if_statement(p);
    case T_ELSEIF:
    case T_ELSE:
        return fail_at(p, t, "elseif/else without an if");
    default:
        return value_statement(p);
    }
}

/* Statements until close (T_RBRACE for a block, T_EOF for the script). */
static bool parse_statements(parser *p, block *b, tok_kind close)
{
    size_t cap = 0;
    for (;;) {
        skip_newlines(p);
        if (at(p, close))
            return true;
        if (at(p, T_EOF))
            return fail_at(p, peek(p), "expected '}' to close the block"), false;
        stmt *s = parse_statement(p);
        if (!s || !push_ptr(p, (void ***)&b->stmts, &b->n, &cap, s))
            return false;
        /* Statements need no separator between them (DicomEdit accepts
         * "a := (0010,0010)b = ..."), so nothing is required here. */
    }
}

static bool parse_block(parser *p, block *b)
{
    const token *open = expect(p, T_LBRACE, "expected '{' to open a block");
    if (!open || !enter(p, open))
        return false;
    bool ok = parse_statements(p, b, T_RBRACE);
    leave(p);
    if (!ok)
        return false;
    next(p);
    return true;
}

dqr_status anon_parse(anon_script *s, const token *toks, size_t n, dqr_error *err)
{
    parser p = {s, toks, n, 0, err, false, 0};
    if (!parse_statements(&p, &s->top, T_EOF) || p.failed)
        return err && err->code ? err->code : DQR_E_PARSE;
    return DQR_OK;
}

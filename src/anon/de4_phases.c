/* de4_phases.c — DicomEdit 4 semantics that its syntax does not show:
 * variables are definitions substituted where they are used, and a script
 * runs in the reference's two phases. See de4.c for the grammar. */
#include "anon/de4_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        return d4_fail(p, e->line, e->col, "definitions nested deeper than 64 levels", NULL, 0);
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
        return d4_fail(p, e->line, e->col, msg, NULL, 0);
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

bool d4_resolve_stmt(d4 *p, stmt *s, size_t *terms)
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
        return d4_fail(p, s->line, s->col, msg, NULL, 0);
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
        return d4_oom(p), NULL;
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
        return value ? (d4_oom(p), NULL) : NULL;
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
        return d4_oom(p), NULL;
    *t = *st;
    return (t->then_stmt = with_conditions(p, st->then_stmt, inner)) ? t : NULL;
}

static bool emit(d4 *p, block *b, size_t *cap, stmt *st)
{
    return st && d4_push_ptr(p, (void ***)&b->stmts, &b->n, cap, st);
}

static const char *temp_name(d4 *p, char kind, size_t i)
{
    char name[32];
    snprintf(name, sizeof name, "de4 %c%zu", kind, i);
    const char *n = arena_strdup(&p->s->mem, name);
    return n ? n : (d4_oom(p), NULL);
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
        return d4_oom(p), NULL;
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
        return d4_oom(p);
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

bool d4_two_phases(d4 *p, const block *prog)
{
    size_t cap = 0;
    stmt **later = prog->n ? calloc(prog->n, sizeof *later) : NULL;
    bool ok = !prog->n || later || d4_oom(p);
    for (size_t i = 0; ok && i < prog->n; i++)
        ok = phase_one(p, prog->stmts[i], i, &p->s->top, &cap, &later[i]);
    for (size_t i = prog->n; ok && i-- > 0;)
        ok = !later[i] || emit(p, &p->s->top, &cap, later[i]);
    free(later);
    return ok;
}

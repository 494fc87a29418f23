/* lint.c — what `dqr lint` and the REST lint learn about scripts.
 *
 * Run-time failures: the scripts run over a sample (anon_lint_run), each
 * script once even when one before it failed, so that a script that parses
 * but cannot run on an instance (a date shift of a TM, an unknown variable)
 * is named with its line:column before an import meets it.
 *
 * Which Annex E Basic attributes do scripts leave untouched? A static
 * reading of the scripts: every tag path a statement assigns, deletes or hands to a function that edits (removeTags, hashUIDList,
 * blankValues, the shift functions, set/delete, mapReferencedUIDs) counts as
 * touching the attributes it can match at the top level of a dataset;
 * removeAllPrivateTags and retainPrivateTags cover private attributes. What
 * remains is the PHI a site would keep.
 */
#include "anon/engine.h"
#include "anon/interp.h"
#include "anon/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct touch {
    const tagpath **paths;
    size_t n, cap;
    bool private_removed;
    anon_script **holders; /* compiled path strings */
    size_t nh, caph;
} touch;

static void add_path(touch *t, const tagpath *p)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        const tagpath **a = realloc(t->paths, cap * sizeof *a);
        if (!a)
            return;
        t->paths = a;
        t->cap = cap;
    }
    t->paths[t->n++] = p;
}

static void add_string_path(touch *t, const char *text)
{
    size_t n = strlen(text);
    char *src = malloc(n + 32);
    if (!src)
        return;
    snprintf(src, n + 32, "version \"6.7\"\n- %s", text);
    anon_script *s = anon_script_compile(src, strlen(src), "path", NULL);
    free(src);
    if (!s)
        return;
    if (t->nh == t->caph) {
        size_t cap = t->caph ? t->caph * 2 : 8;
        anon_script **h = realloc(t->holders, cap * sizeof *h);
        if (!h) {
            anon_script_free(s);
            return;
        }
        t->holders = h;
        t->caph = cap;
    }
    t->holders[t->nh++] = s;
    add_path(t, s->top.stmts[s->top.n - 1]->path);
}

static bool edits(const char *fn)
{
    static const char *const EDITING[] = {
        "removeTags", "hashUIDList", "blankValues", "shiftDateTimeListByIncrement",
        "shiftDateTimeSequenceByIncrement", "set", "delete", "mapReferencedUIDs", NULL};
    for (int i = 0; EDITING[i]; i++)
        if (strcmp(fn, EDITING[i]) == 0)
            return true;
    return false;
}

static void scan_expr(touch *t, const expr *e, bool editing)
{
    if (!e)
        return;
    if (e->kind == X_PATH && editing)
        add_path(t, e->path);
    if (e->kind == X_STRING && editing && e->text[0] == '(')
        add_string_path(t, e->text);
    if (e->kind == X_CALL) {
        if (strcmp(e->text, "retainPrivateTags") == 0)
            t->private_removed = true;
        editing = edits(e->text);
    }
    for (size_t i = 0; i < e->nargs; i++)
        scan_expr(t, e->args[i], editing);
}

static void scan_block(touch *t, const block *b);

static void scan_stmt(touch *t, const stmt *s)
{
    if (!s)
        return;
    switch (s->kind) {
    case S_ASSIGN:
    case S_ASSIGN_IF:
    case S_DELETE:
        add_path(t, s->path);
        break;
    case S_RMPRIV:
        t->private_removed = true;
        break;
    case S_TERNARY:
        scan_stmt(t, s->then_stmt);
        scan_stmt(t, s->else_stmt);
        break;
    case S_IF:
        for (size_t i = 0; i < s->nconds; i++)
            scan_block(t, &s->blocks[i]);
        if (s->else_block)
            scan_block(t, s->else_block);
        break;
    default:
        break;
    }
    scan_expr(t, s->value, false);
}

static void scan_block(touch *t, const block *b)
{
    for (size_t i = 0; i < b->n; i++)
        scan_stmt(t, b->stmts[i]);
}

static bool nibble_fits(const nibble *n, unsigned v)
{
    switch (n->kind) {
    case 0: return n->value == v;
    case 1: return true;
    case 2: return !(v & 1);
    default: return v & 1;
    }
}

/* Can path p match the row's attribute in the top-level dataset? */
static bool covers(const tagpath *p, const anon_annex_e_row *row)
{
    for (size_t i = 0; i + 1 < p->n; i++)
        if (p->levels[i].kind != L_ANY_DEPTH)
            return false;
    const tp_level *l = &p->levels[p->n - 1];
    if (l->creator)
        return false;
    for (int i = 0; i < 4; i++) {
        unsigned g = (row->tag >> (28 - 4 * i)) & 0xF, e = (row->tag >> (12 - 4 * i)) & 0xF;
        bool gfree = !((row->mask >> (28 - 4 * i)) & 0xF), efree = !((row->mask >> (12 - 4 * i)) & 0xF);
        if ((!gfree && !nibble_fits(&l->group[i], g)) || (!efree && !nibble_fits(&l->elem[i], e)))
            return false;
    }
    return true;
}

size_t anon_lint_untouched(const anon_script *const *scripts, size_t n, anon_lint_fn fn, void *ctx)
{
    touch t = {0};
    for (size_t i = 0; i < n; i++)
        scan_block(&t, &scripts[i]->top);
    size_t count = 0;
    for (size_t r = 0; r < anon_annex_e_table_len; r++) {
        const anon_annex_e_row *row = &anon_annex_e_table[r];
        bool private_row = row->mask == 0x00010000u;
        bool touched = private_row && t.private_removed;
        for (size_t k = 0; k < t.n && !touched && !private_row; k++)
            touched = covers(t.paths[k], row);
        if (!touched) {
            count++;
            if (fn)
                fn(ctx, row);
        }
    }
    for (size_t i = 0; i < t.nh; i++)
        anon_script_free(t.holders[i]);
    free(t.holders);
    free(t.paths);
    return count;
}

/* ---- run-time findings --------------------------------------------------- */

/* Split "NAME:LINE:COL: what" (the interpreter's run-time message) into its
 * place and what; a message without the script's place keeps the statement
 * the session was at. */
static const char *split_place(const char *msg, const char *name, const anon_session *s, int *line, int *col)
{
    size_t n = strlen(name);
    int l, c, used = 0;
    if (strncmp(msg, name, n) == 0 && msg[n] == ':' && sscanf(msg + n + 1, "%d:%d: %n", &l, &c, &used) == 2 && used) {
        *line = l, *col = c;
        return msg + n + 1 + used;
    }
    *line = s->line, *col = s->col;
    return msg;
}

static void report(anon_session *s, size_t index, const char *step, const char *msg, bool rejected,
                   const char *sample, anon_lint_issue_fn fn, void *ctx)
{
    anon_lint_issue is = {.step = index, .script = step, .sample = sample, .rejected = rejected};
    /* reject[] only marks the instance and the script runs on: no one statement to name */
    is.what = rejected ? "reject[] drops this instance" : split_place(msg, step, s, &is.line, &is.column);
    char place[600], text[1200];
    if (is.line)
        snprintf(place, sizeof place, "%s:%d:%d", step, is.line, is.column);
    else
        snprintf(place, sizeof place, "%s", step);
    snprintf(text, sizeof text, "%s: %s: %s (on sample %s)", place, rejected ? "note" : "run-time", is.what, sample);
    is.text = text;
    if (fn)
        fn(ctx, &is);
}

size_t anon_lint_run(anon_session *s, const dcm_dataset *sample, const char *label, anon_lint_issue_fn fn, void *ctx)
{
    const anon_engine *e = s->eng;
    size_t failures = 0;
    dcm_dataset *work = dcm_dataset_copy(sample);
    if (!work && e->n) {
        report(s, 0, "lint", "out of memory copying the sample", false, label, fn, ctx);
        return 1;
    }
    for (size_t i = 0; work && i < e->n; i++) {
        dqr_error err = {0};
        dcm_dataset *before = dcm_dataset_copy(work);
        anon_result r;
        char profile[64];
        const char *step = profile;
        if (e->steps[i].script) {
            step = anon_script_name(e->steps[i].script);
            s->line = s->col = 0;
            r = anon_script_run(s, e->steps[i].script, work, &err);
        } else {
            snprintf(profile, sizeof profile, "profile %s", anon_profile_name(e->steps[i].profile));
            r = anon_profile_apply(e->steps[i].profile, e, work, &err) ? ANON_FAILED : ANON_OK;
        }
        if (r != ANON_OK) {
            failures += r == ANON_FAILED;
            report(s, i, step, err.message[0] ? err.message : "failed", r == ANON_REJECTED, label, fn, ctx);
        }
        if (r != ANON_OK && before) { /* the next step sees the instance as this one received it */
            dcm_dataset_free(work);
            work = before, before = NULL;
        }
        dcm_dataset_free(before);
    }
    dcm_dataset_free(work);
    return failures;
}

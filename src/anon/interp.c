/* interp.c — run a compiled DicomEdit 6 script over one dataset.
 *
 * Semantics follow docs/dicomedit.md: statements top to bottom; a null value
 * makes an assignment do nothing; conditions compare strings (a null left
 * side is unequal to everything, and fails every match); variables persist in
 * the session from one instance to the next. Runtime errors name the script,
 * line and column of the statement.
 */
#include "anon/interp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dqr_status rt_error(anon_session *s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dqr_error_set(s->err, DQR_E_USAGE, "%s:%d:%d: %s", anon_script_name(s->script), s->line,
                         s->col, msg);
}

aval val_str(anon_session *s, const char *str)
{
    const char *copy = str ? arena_strdup(&s->scratch, str) : NULL;
    return copy ? (aval){.kind = V_STR, .s = copy} : (aval){.kind = V_NULL};
}

aval val_bool(bool b)
{
    return (aval){.kind = V_STR, .s = b ? "true" : "false"};
}

bool value_true(const aval *v)
{
    return v->kind == V_STR && strcasecmp(v->s, "true") == 0;
}

const dcm_charset *charset_of(anon_session *s, const dcm_dataset *ds, dcm_charset **owned)
{
    *owned = NULL;
    if (ds == s->root)
        return s->cs;
    return dcm_dataset_charset(ds, s->cs, owned, NULL);
}

/* ---- variables --------------------------------------------------------- */

static var *find_var(anon_session *s, const char *name)
{
    for (size_t i = 0; i < s->nvars; i++)
        if (strcmp(s->vars[i].name, name) == 0)
            return &s->vars[i];
    return NULL;
}

/* Deep copy of v on the heap (variables outlive the scratch arena). */
static dqr_status heap_copy(const aval *v, aval *out)
{
    *out = *v;
    out->items = NULL;
    if (v->kind == V_STR && !(out->s = strdup(v->s)))
        return DQR_E_NOMEM;
    if (v->kind == V_LIST && v->n) {
        if (!(out->items = calloc(v->n, sizeof *out->items)))
            return DQR_E_NOMEM;
        for (size_t i = 0; i < v->n; i++)
            if (heap_copy(&v->items[i], &out->items[i]))
                return DQR_E_NOMEM;
    }
    return DQR_OK;
}

void anon_value_free(aval *v)
{
    if (v->kind == V_STR)
        free((char *)v->s);
    for (size_t i = 0; v->kind == V_LIST && i < v->n; i++)
        anon_value_free(&v->items[i]);
    if (v->kind == V_LIST)
        free(v->items);
    memset(v, 0, sizeof *v);
}

dqr_status anon_var_set(anon_session *s, const char *name, const aval *value)
{
    var *v = find_var(s, name);
    if (!v) {
        if (s->nvars == s->capvars) {
            size_t cap = s->capvars ? s->capvars * 2 : 8;
            var *nv = realloc(s->vars, cap * sizeof *nv);
            if (!nv)
                return DQR_E_NOMEM;
            s->vars = nv;
            s->capvars = cap;
        }
        v = &s->vars[s->nvars++];
        memset(v, 0, sizeof *v);
        if (!(v->name = strdup(name))) {
            s->nvars--;
            return DQR_E_NOMEM;
        }
    }
    anon_value_free(&v->value);
    v->set = true;
    return heap_copy(value, &v->value);
}

/* ---- values ------------------------------------------------------------ */

dqr_status read_path(anon_session *s, const tagpath *p, const char **out)
{
    *out = NULL;
    if (!tp_singular(p))
        return rt_error(s, "a tag path with wildcards cannot be read as a value");
    dcm_dataset *owner;
    dcm_element *el = tp_find(p, s->root, &owner);
    if (!el || dcm_element_is_sequence(el))
        return DQR_OK;
    dcm_charset *own;
    const dcm_charset *cs = charset_of(s, owner, &own);
    char *text = dcm_element_text(el, cs);
    dcm_charset_free(own);
    if (!text)
        return DQR_OK;
    *out = arena_strdup(&s->scratch, text);
    free(text);
    return *out ? DQR_OK : dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
}

static dqr_status join_list(anon_session *s, const aval *v, const char **out)
{
    size_t total = 1;
    const char **parts = arena_alloc(&s->scratch, (v->n + 1) * sizeof *parts);
    if (!parts)
        return DQR_E_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        dqr_status st = value_string(s, &v->items[i], &parts[i]);
        if (st)
            return st;
        total += (parts[i] ? strlen(parts[i]) : 0) + 1;
    }
    char *buf = arena_alloc(&s->scratch, total);
    if (!buf)
        return DQR_E_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        if (i)
            strcat(buf, "\\");
        strcat(buf, parts[i] ? parts[i] : "");
    }
    *out = buf;
    return DQR_OK;
}

dqr_status value_string(anon_session *s, const aval *v, const char **out)
{
    switch (v->kind) {
    case V_STR: *out = v->s; return DQR_OK;
    case V_PATH: return read_path(s, v->path, out);
    case V_LIST: return join_list(s, v, out);
    default: *out = NULL; return DQR_OK;
    }
}

/* Copy a heap value (a variable) into the scratch arena for this run. */
static dqr_status scratch_copy(anon_session *s, const aval *v, aval *out)
{
    *out = *v;
    if (v->kind == V_STR)
        return (out->s = arena_strdup(&s->scratch, v->s)) ? DQR_OK : DQR_E_NOMEM;
    if (v->kind == V_LIST) {
        out->items = arena_alloc(&s->scratch, (v->n + 1) * sizeof *out->items);
        if (!out->items)
            return DQR_E_NOMEM;
        for (size_t i = 0; i < v->n; i++)
            if (scratch_copy(s, &v->items[i], &out->items[i]))
                return DQR_E_NOMEM;
    }
    return DQR_OK;
}

/* Levels of lists in v: 0 for a single value, 1 for a flat list. */
static int list_depth(const aval *v)
{
    return v->kind != V_LIST ? 0 : v->depth > 0 ? v->depth : 1;
}

/* A list may hold a variable that holds a list, so "a := {a}" run 100,000
 * times would nest values deeper than any script text: refuse it at
 * ANON_MAX_DEPTH, since copying, joining and flattening values recurse. */
static dqr_status eval_list(anon_session *s, const expr *e, aval *out, bool as_args)
{
    out->kind = V_LIST;
    out->n = e->nargs;
    out->depth = 1;
    out->items = arena_alloc(&s->scratch, (e->nargs + 1) * sizeof *out->items);
    if (!out->items)
        return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    for (size_t i = 0; i < e->nargs; i++) {
        dqr_status st = as_args ? eval_arg(s, e->args[i], &out->items[i]) : eval(s, e->args[i], &out->items[i]);
        if (st)
            return st;
        int d = list_depth(&out->items[i]) + 1;
        out->depth = d > out->depth ? d : out->depth;
    }
    if (out->depth > ANON_MAX_DEPTH) {
        s->line = e->line;
        s->col = e->col;
        return rt_error(s, "nesting deeper than %d levels (a list holding lists)", ANON_MAX_DEPTH);
    }
    return DQR_OK;
}

static dqr_status eval_any(anon_session *s, const expr *e, aval *out, bool keep_paths)
{
    int line = s->line, col = s->col;
    memset(out, 0, sizeof *out);
    switch (e->kind) {
    case X_STRING:
    case X_NUMBER:
        out->kind = V_STR;
        out->s = e->text;
        return DQR_OK;
    case X_VAR: {
        const var *v = find_var(s, e->text);
        if (!v || !v->set) {
            s->line = e->line;
            s->col = e->col;
            dqr_status st = rt_error(s, "unknown variable '%s' (a host supplies it, e.g. --var %s=VALUE)",
                                     e->text, e->text);
            s->line = line;
            s->col = col;
            return st;
        }
        return scratch_copy(s, &v->value, out) ? dqr_error_set(s->err, DQR_E_NOMEM, "out of memory") : DQR_OK;
    }
    case X_PATH:
        if (keep_paths) {
            out->kind = V_PATH;
            out->path = e->path;
            return DQR_OK;
        }
        out->kind = V_STR;
        {
            dqr_status st = read_path(s, e->path, &out->s);
            if (!st && !out->s)
                out->kind = V_NULL;
            return st;
        }
    case X_LIST:
        return eval_list(s, e, out, keep_paths);
    case X_CALL: {
        anon_fn fn = anon_find_function(e->text);
        if (!fn) {
            s->line = e->line;
            s->col = e->col;
            return rt_error(s, "no function '%s' (names are case-sensitive)", e->text);
        }
        s->line = e->line;
        s->col = e->col;
        out->kind = V_VOID;
        dqr_status st = fn(s, e->args, e->nargs, out);
        s->line = line;
        s->col = col;
        return st;
    }
    }
    return DQR_OK;
}

dqr_status eval(anon_session *s, const expr *e, aval *out) { return eval_any(s, e, out, false); }
dqr_status eval_arg(anon_session *s, const expr *e, aval *out) { return eval_any(s, e, out, true); }

/* ---- writing the dataset ----------------------------------------------- */

dqr_status set_element_text(anon_session *s, dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *text)
{
    dcm_charset *own;
    const dcm_charset *cs = charset_of(s, ds, &own);
    dqr_error e = {0};
    dcm_element *el = dcm_dataset_set_text(ds, tag, vr, text, cs, &e);
    dcm_charset_free(own);
    return el ? DQR_OK : rt_error(s, "%s", e.message);
}

int collect(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    collected *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        dcm_dataset **d = realloc(c->ds, cap * sizeof *d);
        uint32_t *t = d ? realloc(c->tags, cap * sizeof *t) : NULL;
        dcm_vr *v = t ? realloc(c->vrs, cap * sizeof *v) : NULL;
        if (d)
            c->ds = d;
        if (t)
            c->tags = t;
        if (!v) {
            c->failed = true;
            return 1;
        }
        c->vrs = v;
        c->cap = cap;
    }
    c->ds[c->n] = ds;
    c->tags[c->n] = dcm_element_tag(el);
    c->vrs[c->n++] = dcm_element_vr(el);
    return 0;
}

void collected_free(collected *c)
{
    free(c->ds);
    free(c->tags);
    free(c->vrs);
}

/* VR for a new attribute: LO for a private creator (gggg,0010-00FF), else
 * the dictionary's first, else UN. */
static dcm_vr new_vr(uint32_t tag)
{
    if ((DCM_GROUP(tag) & 1) && DCM_ELEM(tag) >= 0x10 && DCM_ELEM(tag) <= 0xFF)
        return DCM_VR_LO;
    return dcm_dict_vr(tag);
}

/* Text assigned to a sequence makes it an empty sequence, as the reference's
 * putString of an SQ attribute does (its items, if any, are dropped). */
static dqr_status empty_sequence(anon_session *s, dcm_dataset *ds, uint32_t tag)
{
    dqr_error e = {0};
    dcm_dataset_remove(ds, tag);
    return dcm_dataset_set_sequence(ds, tag, &e) ? DQR_OK : rt_error(s, "%s", e.message);
}

dqr_status write_path(anon_session *s, const tagpath *p, const char *text, bool create)
{
    if (create) {
        uint32_t tag;
        dqr_error e = {0};
        dcm_dataset *ds = tp_create(p, s->root, &tag, &e);
        if (!ds)
            return rt_error(s, "%s", e.message);
        dcm_element *el = dcm_dataset_get(ds, tag);
        dcm_vr vr = el ? dcm_element_vr(el) : new_vr(tag);
        if (vr == DCM_VR_SQ || (el && dcm_element_is_sequence(el)))
            return empty_sequence(s, ds, tag);
        return set_element_text(s, ds, tag, vr, text);
    }
    collected c = {0};
    tp_walk(p, s->root, collect, &c);
    dqr_status st = c.failed ? dqr_error_set(s->err, DQR_E_NOMEM, "out of memory") : DQR_OK;
    for (size_t i = 0; i < c.n && !st; i++)
        st = c.vrs[i] == DCM_VR_SQ ? empty_sequence(s, c.ds[i], c.tags[i])
                                   : set_element_text(s, c.ds[i], c.tags[i], c.vrs[i], text);
    collected_free(&c);
    return st;
}

/* Remove every element of an item; the item itself stays. */
static void empty_item(dcm_dataset *item)
{
    while (dcm_dataset_count(item))
        dcm_dataset_remove(item, dcm_element_tag(dcm_dataset_at(item, dcm_dataset_count(item) - 1)));
}

/* "- seq[n]" (or "[%]") empties the item(s) and keeps them, as the
 * reference does: the items after it keep their numbers. */
static void delete_items(const tp_level *l, dcm_element *seq)
{
    for (size_t k = 0; k < dcm_element_item_count(seq); k++)
        if (l->item < 0 || (size_t)l->item == k)
            empty_item(dcm_element_item(seq, k));
}

dqr_status delete_path(anon_session *s, const tagpath *p)
{
    collected c = {0};
    bool items = p->levels[p->n - 1].item_given;
    tp_walk(p, s->root, collect, &c);
    /* Deleting a sequence frees what later matches point into: delete the
     * deepest matches first (they were collected after their ancestors). */
    for (size_t i = c.n; i-- > 0;) {
        dcm_element *el = items ? dcm_dataset_get(c.ds[i], c.tags[i]) : NULL;
        if (el && dcm_element_is_sequence(el))
            delete_items(&p->levels[p->n - 1], el);
        else
            dcm_dataset_remove(c.ds[i], c.tags[i]);
    }
    bool failed = c.failed;
    collected_free(&c);
    return failed ? dqr_error_set(s->err, DQR_E_NOMEM, "out of memory") : DQR_OK;
}

static void remove_private(dcm_dataset *ds)
{
    for (size_t i = dcm_dataset_count(ds); i-- > 0;) {
        dcm_element *el = dcm_dataset_at(ds, i);
        if (DCM_GROUP(dcm_element_tag(el)) & 1) {
            dcm_dataset_remove(ds, dcm_element_tag(el));
            continue;
        }
        for (size_t k = 0; k < dcm_element_item_count(el); k++)
            remove_private(dcm_element_item(el, k));
    }
}

dqr_status path_from_string(anon_session *s, const char *text, const tagpath **out)
{
    /* Direct notation first: it alone reads numeric odd groups, and a string
     * it accepts means the same in the DE6 grammar. */
    tagpath *p = NULL;
    if (tp_parse_direct(&s->scratch, text, &p)) {
        *out = p;
        return p ? DQR_OK : dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    }
    dqr_status st = parse_path_string(s, text, &p);
    *out = p;
    return st;
}

dqr_status for_each_path(anon_session *s, const aval *v, path_fn fn, void *ctx)
{
    if (v->kind == V_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            dqr_status st = for_each_path(s, &v->items[i], fn, ctx);
            if (st)
                return st;
        }
        return DQR_OK;
    }
    const tagpath *p = v->path;
    if (v->kind == V_STR) {
        dqr_status st = path_from_string(s, v->s, &p);
        if (st)
            return st;
    }
    if (v->kind != V_PATH && v->kind != V_STR)
        return rt_error(s, "expected a tag path");
    return fn(s, p, ctx);
}

/* ---- conditions -------------------------------------------------------- */

dqr_status anon_regex_match(anon_session *s, const char *subject, const char *pattern, bool full,
                            int group, const char **captured);

static dqr_status condition(anon_session *s, const cond *c, bool *out)
{
    aval l, r;
    dqr_status st = eval(s, c->left, &l);
    if (st)
        return st;
    if (c->op == C_CALL) {
        *out = value_true(&l);
        return DQR_OK;
    }
    if ((st = eval(s, c->right, &r)))
        return st;
    const char *ls, *rs;
    if ((st = value_string(s, &l, &ls)) || (st = value_string(s, &r, &rs)))
        return st;
    switch (c->op) {
    case C_EQ: *out = ls && rs && strcmp(ls, rs) == 0; return DQR_OK;
    case C_NE: *out = !ls || !rs || strcmp(ls, rs) != 0; return DQR_OK;
    case C_MATCH:
    case C_NMATCH: {
        bool m = false;
        if (ls && rs) {
            const char *cap;
            st = anon_regex_match(s, ls, rs, true, -1, &cap);
            if (st)
                return st;
            m = cap != NULL;
        }
        *out = c->op == C_MATCH ? m : !m;
        return DQR_OK;
    }
    default:
        return DQR_OK;
    }
}

/* ---- statements -------------------------------------------------------- */

static dqr_status run_block(anon_session *s, const block *b);

static dqr_status run_stmt(anon_session *s, const stmt *st)
{
    s->line = st->line;
    s->col = st->col;
    aval v;
    const char *text;
    dqr_status rc = DQR_OK;
    bool yes;
    switch (st->kind) {
    case S_ASSIGN:
    case S_ASSIGN_IF:
        if ((rc = eval(s, st->value, &v)) || (rc = value_string(s, &v, &text)))
            return rc;
        if (!text)
            return DQR_OK; /* a null value assigns nothing */
        return write_path(s, st->path, text, st->kind == S_ASSIGN);
    case S_INIT:
        /* A list keeps its tag paths (as the reference's list values do), so
         * "tags := {(0008,0020), (0008,0021)}" can be handed to removeTags,
         * hashUIDList or the shift functions later; a lone tag path is read. */
        if ((rc = st->value->kind == X_LIST ? eval_arg(s, st->value, &v) : eval(s, st->value, &v)))
            return rc;
        if (v.kind == V_VOID)
            return rt_error(s, "the function returns no value to assign");
        return anon_var_set(s, st->name, &v) ? dqr_error_set(s->err, DQR_E_NOMEM, "out of memory") : DQR_OK;
    case S_DELETE:
        return delete_path(s, st->path);
    case S_CALL:
        return eval(s, st->value, &v);
    case S_ECHO:
        if (!st->value) {
            text = "";
        } else {
            if ((rc = eval(s, st->value, &v)))
                return rc;
            if (v.kind == V_VOID)
                return rt_error(s, "echo of a function that returns no value");
            if ((rc = value_string(s, &v, &text)))
                return rc;
        }
        if (s->echo)
            s->echo(s->echo_ctx, text ? text : "null");
        return DQR_OK;
    case S_TERNARY:
        if ((rc = condition(s, st->conds[0], &yes)))
            return rc;
        if (yes)
            return run_stmt(s, st->then_stmt);
        return st->else_stmt ? run_stmt(s, st->else_stmt) : DQR_OK;
    case S_IF:
        for (size_t i = 0; i < st->nconds; i++) {
            if ((rc = condition(s, st->conds[i], &yes)))
                return rc;
            if (yes)
                return run_block(s, &st->blocks[i]);
        }
        return st->else_block ? run_block(s, st->else_block) : DQR_OK;
    case S_RMPRIV:
        remove_private(s->root);
        return DQR_OK;
    case S_DESCRIBE: {
        var *vr = find_var(s, st->name);
        if (vr && strcmp(st->text, "hidden") == 0)
            vr->hidden = true;
        return DQR_OK;
    }
    case S_EXPORT:
    case S_VERSION:
        return DQR_OK;
    }
    return DQR_OK;
}

static dqr_status run_block(anon_session *s, const block *b)
{
    for (size_t i = 0; i < b->n && !s->rejected; i++) {
        dqr_status rc = run_stmt(s, b->stmts[i]);
        if (rc)
            return rc;
    }
    return DQR_OK;
}

anon_result anon_script_run(anon_session *s, const anon_script *sc, dcm_dataset *ds, dqr_error *err)
{
    s->script = sc;
    s->root = ds;
    s->err = err;
    s->rejected = false;
    s->cs = dcm_dataset_charset(ds, NULL, &s->cs_owned, err);
    if (!s->cs)
        return ANON_FAILED;
    dqr_status rc = run_block(s, &sc->top);
    dcm_charset_free(s->cs_owned);
    s->cs_owned = NULL;
    s->cs = NULL;
    arena_reset(&s->scratch);
    if (rc)
        return ANON_FAILED;
    return s->rejected ? ANON_REJECTED : ANON_OK;
}

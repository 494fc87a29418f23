/* fn_tags.c — functions that edit the dataset: set, delete, removeTags,
 * retainPrivateTags, blankValues, collectValues, reject (alterPixels: fn_pixels.c). */
#include "anon/interp.h"

#include <stdlib.h>
#include <string.h>

/* A DE6 tag path from a path argument or a string holding one. */
static dqr_status path_of(anon_session *s, const aval *v, const tagpath **out)
{
    if (v->kind == V_PATH) {
        *out = v->path;
        return DQR_OK;
    }
    if (v->kind != V_STR)
        return rt_error(s, "expected a tag path");
    return path_from_string(s, v->s, out);
}

static dqr_status fn_set(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *where, *value;
    const tagpath *p = NULL;
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "set", n, 2, 2);
    if (st || (st = arg_string(s, args, n, 0, &where)) || (st = arg_string(s, args, n, 1, &value)))
        return st;
    if (!where)
        return rt_error(s, "set: no tag path");
    aval pv = {.kind = V_STR, .s = where};
    if ((st = path_of(s, &pv, &p)))
        return st;
    if (!tp_singular(p))
        return rt_error(s, "set: \"%s\" must name one attribute", where);
    return value ? write_path(s, p, value, true) : DQR_OK;
}

static dqr_status fn_delete(anon_session *s, expr *const *args, size_t n, aval *out)
{
    const char *where;
    const tagpath *p = NULL;
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "delete", n, 1, 1);
    if (st || (st = arg_string(s, args, n, 0, &where)))
        return st;
    aval pv = {.kind = V_STR, .s = where ? where : ""};
    return (st = path_of(s, &pv, &p)) ? st : delete_path(s, p);
}

static dqr_status remove_path(anon_session *s, const tagpath *p, void *ctx)
{
    (void)ctx;
    return delete_path(s, p);
}

static dqr_status fn_remove_tags(anon_session *s, expr *const *args, size_t n, aval *out)
{
    *out = (aval){.kind = V_VOID};
    for (size_t i = 0; i < n; i++) {
        aval v;
        dqr_status st = eval_arg(s, args[i], &v);
        if (st || (st = for_each_path(s, &v, remove_path, NULL)))
            return st;
    }
    return DQR_OK;
}

/* ---- retainPrivateTags ------------------------------------------------- */

static bool kept(const collected *k, const dcm_dataset *ds, uint32_t tag)
{
    for (size_t i = 0; i < k->n; i++) {
        if (k->ds[i] != ds)
            continue;
        uint32_t t = k->tags[i];
        /* the element itself, or the creator its block needs */
        if (t == tag || (DCM_GROUP(t) == DCM_GROUP(tag) && DCM_ELEM(tag) == DCM_ELEM(t) >> 8))
            return true;
    }
    return false;
}

/* Drop every private element not kept; keep a private sequence that holds
 * something kept deeper (with its creator). Returns true if ds keeps any. */
static bool prune_private(const collected *k, dcm_dataset *ds)
{
    bool any = false;
    for (size_t i = dcm_dataset_count(ds); i-- > 0;) {
        dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        bool private = DCM_GROUP(tag) & 1;
        if (private && kept(k, ds, tag)) {
            any = true;
            continue;
        }
        bool inner = false;
        for (size_t j = 0; j < dcm_element_item_count(el); j++)
            inner |= prune_private(k, dcm_element_item(el, j));
        if (private && !inner)
            dcm_dataset_remove(ds, tag);
        else if (private)
            any = true;
    }
    /* creators whose blocks are now empty go too */
    for (size_t i = dcm_dataset_count(ds); i-- > 0;) {
        dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        if (!(DCM_GROUP(tag) & 1) || DCM_ELEM(tag) < 0x10 || DCM_ELEM(tag) > 0xFF)
            continue;
        bool used = false;
        for (size_t j = 0; j < dcm_dataset_count(ds) && !used; j++) {
            uint32_t t = dcm_element_tag(dcm_dataset_at(ds, j));
            used = DCM_GROUP(t) == DCM_GROUP(tag) && DCM_ELEM(t) >> 8 == DCM_ELEM(tag);
        }
        if (!used)
            dcm_dataset_remove(ds, tag);
    }
    return any;
}

static dqr_status keep_path(anon_session *s, const tagpath *p, void *ctx)
{
    if (!p->levels[p->n - 1].creator)
        return rt_error(s, "retainPrivateTags: every tag path must end in a private tag (gggg,{creator}ee)");
    tp_walk(p, s->root, collect, ctx);
    return ((collected *)ctx)->failed ? dqr_error_set(s->err, DQR_E_NOMEM, "out of memory") : DQR_OK;
}

static dqr_status fn_retain_private(anon_session *s, expr *const *args, size_t n, aval *out)
{
    collected k = {0};
    dqr_status st = DQR_OK;
    *out = (aval){.kind = V_VOID};
    for (size_t i = 0; i < n && !st; i++) {
        aval v;
        if (!(st = eval_arg(s, args[i], &v)))
            st = for_each_path(s, &v, keep_path, &k);
    }
    if (!st)
        prune_private(&k, s->root);
    collected_free(&k);
    return st;
}

/* ---- blankValues / collectValues ---------------------------------------- */

typedef struct strings {
    const char **v;
    size_t n, cap;
} strings;

static dqr_status push_string(anon_session *s, strings *out, const char *text);

typedef struct gather_job {
    anon_session *s;
    strings *out;
    dqr_status st;
} gather_job;

static int gather_match(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    gather_job *j = ctx;
    if (dcm_element_is_sequence(el))
        return 0;
    dcm_charset *own;
    const dcm_charset *cs = charset_of(j->s, ds, &own);
    char *text = dcm_element_text(el, cs);
    dcm_charset_free(own);
    const char *copy = text ? arena_strdup(&j->s->scratch, text) : NULL;
    free(text);
    if (copy)
        j->st = push_string(j->s, j->out, copy);
    return j->st != DQR_OK;
}

/* The values of every match of a wildcard path (blankValues[(0008,920X)]). */
static dqr_status gather_matches(anon_session *s, const tagpath *p, strings *out)
{
    gather_job job = {s, out, DQR_OK};
    tp_walk(p, s->root, gather_match, &job);
    return job.st;
}

static dqr_status gather(anon_session *s, const aval *v, strings *out)
{
    if (v->kind == V_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            dqr_status st = gather(s, &v->items[i], out);
            if (st)
                return st;
        }
        return DQR_OK;
    }
    if (v->kind == V_PATH && !tp_singular(v->path))
        return gather_matches(s, v->path, out);
    const char *text;
    dqr_status st = value_string(s, v, &text);
    return st || !text ? st : push_string(s, out, text);
}

static dqr_status push_string(anon_session *s, strings *out, const char *text)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        const char **a = arena_alloc(&s->scratch, cap * sizeof *a);
        if (!a)
            return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
        if (out->n)
            memcpy(a, out->v, out->n * sizeof *a);
        out->v = a;
        out->cap = cap;
    }
    out->v[out->n++] = text;
    return DQR_OK;
}

static dqr_status gather_args(anon_session *s, expr *const *args, size_t n, strings *out)
{
    for (size_t i = 0; i < n; i++) {
        aval v;
        dqr_status st = eval_arg(s, args[i], &v);
        if (st || (st = gather(s, &v, out)))
            return st;
    }
    return DQR_OK;
}

static dqr_status blank_in(anon_session *s, dcm_dataset *ds, const strings *vals)
{
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        dcm_element *el = dcm_dataset_at(ds, i);
        if (dcm_element_is_sequence(el)) {
            for (size_t k = 0; k < dcm_element_item_count(el); k++) {
                dqr_status st = blank_in(s, dcm_element_item(el, k), vals);
                if (st)
                    return st;
            }
            continue;
        }
        if (dcm_element_length(el) == 0 || dcm_element_is_encapsulated(el) ||
            dcm_element_tag(el) == DCM_TAG_PIXEL_DATA)
            continue;
        dcm_charset *own;
        const dcm_charset *cs = charset_of(s, ds, &own);
        char *text = dcm_element_text(el, cs);
        dcm_charset_free(own);
        bool hit = false;
        for (size_t k = 0; text && k < vals->n && !hit; k++)
            hit = strcmp(text, vals->v[k]) == 0;
        free(text);
        if (hit && !dcm_dataset_set_bytes(ds, dcm_element_tag(el), dcm_element_vr(el), "", 0, s->err))
            return s->err ? s->err->code : DQR_E_NOMEM;
    }
    return DQR_OK;
}

static dqr_status fn_blank_values(anon_session *s, expr *const *args, size_t n, aval *out)
{
    strings vals = {0};
    *out = (aval){.kind = V_VOID};
    dqr_status st = gather_args(s, args, n, &vals);
    return st ? st : blank_in(s, s->root, &vals);
}

static dqr_status fn_collect_values(anon_session *s, expr *const *args, size_t n, aval *out)
{
    strings vals = {0};
    dqr_status st = gather_args(s, args, n, &vals);
    if (st)
        return st;
    *out = (aval){.kind = V_LIST, .n = vals.n};
    out->items = arena_alloc(&s->scratch, (vals.n + 1) * sizeof *out->items);
    for (size_t i = 0; i < vals.n; i++)
        out->items[i] = (aval){.kind = V_STR, .s = vals.v[i]};
    return DQR_OK;
}

static dqr_status fn_reject(anon_session *s, expr *const *args, size_t n, aval *out)
{
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "reject", n, 0, 1);
    aval v = val_bool(true);
    if (st || (n && (st = eval(s, args[0], &v))))
        return st;
    if (n == 0 || value_true(&v))
        s->rejected = true;
    return DQR_OK;
}

const fn_entry anon_fn_tags[] = {
    {"set", fn_set}, {"delete", fn_delete}, {"removeTags", fn_remove_tags},
    {"retainPrivateTags", fn_retain_private}, {"blankValues", fn_blank_values},
    {"collectValues", fn_collect_values}, {"reject", fn_reject},
    {NULL, NULL},
};

anon_fn anon_find_function(const char *name)
{
    const fn_entry *tables[] = {anon_fn_string, anon_fn_uid, anon_fn_date, anon_fn_tags, anon_fn_de4, anon_fn_pixels};
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const fn_entry *e = tables[t]; e->name; e++)
            if (strcmp(e->name, name) == 0)
                return e->fn;
    return NULL;
}

/* tagpath.c — DicomEdit tag paths against a dataset tree: matching with
 * wildcards (X @ # digits, * + . levels, [%] items, {creator} blocks),
 * finding the one attribute a singular path names, and creating it.
 *
 * A path with k '*' or '+' levels can reach one dataset in as many ways as
 * there are splits of its depth among them: exponential (a 40-deep dataset
 * and "* / * / ... (0010,0010)" with 12 stars ran for minutes). The walk
 * therefore visits each (dataset, path level, any-depth) state once, which
 * bounds it by datasets x levels and reports each matching element once.
 * Recursion is bounded by DCM_MAX_DEPTH datasets and ANON_MAX_DEPTH levels. */
#include "anon/tagpath.h"

#include <stdlib.h>
#include <string.h>

static bool nibble_ok(const nibble *n, unsigned v)
{
    switch (n->kind) {
    case 0: return n->value == v;
    case 1: return true;
    case 2: return (v & 1) == 0;
    default: return (v & 1) == 1;
    }
}

static bool nibbles_ok(const nibble n[4], uint16_t v, int from)
{
    for (int i = from; i < 4; i++)
        if (!nibble_ok(&n[i], (v >> (12 - 4 * i)) & 0xF))
            return false;
    return true;
}

bool tp_level_matches(const tp_level *l, const dcm_dataset *ds, uint32_t tag)
{
    if (l->kind != L_TAG || !nibbles_ok(l->group, DCM_GROUP(tag), 0))
        return false;
    if (!l->creator)
        return nibbles_ok(l->elem, DCM_ELEM(tag), 0);
    char creator[80];
    return DCM_ELEM(tag) >= 0x1000 && nibbles_ok(l->elem, DCM_ELEM(tag), 2) &&
           dcm_private_creator(ds, tag, creator, sizeof creator) && strcmp(creator, l->creator) == 0;
}

static bool level_exact(const tp_level *l)
{
    if (l->kind != L_TAG || (l->item_given && l->item < 0))
        return false;
    for (int i = 0; i < 4; i++)
        if (l->group[i].kind || ((!l->creator || i >= 2) && l->elem[i].kind))
            return false;
    return true;
}

bool tp_singular(const tagpath *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (!level_exact(&p->levels[i]))
            return false;
    return true;
}

static uint16_t nibble_value(const nibble n[4])
{
    return (uint16_t)(n[0].value << 12 | n[1].value << 8 | n[2].value << 4 | n[3].value);
}

uint32_t tp_level_tag(const tp_level *l)
{
    return DCM_TAG(nibble_value(l->group), nibble_value(l->elem));
}

/* ---- matching ---------------------------------------------------------- */

/* The states a walk has been in: an open-addressing hash set of keys. */
typedef struct seen_set {
    uint64_t *keys; /* 0: empty */
    size_t n, cap;
} seen_set;

typedef struct walk {
    const tagpath *p;
    tp_visit fn;
    void *ctx;
    int stop;
    seen_set seen;
} walk;

static size_t slot(const seen_set *set, uint64_t key)
{
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (set->cap - 1);
    while (set->keys[h] && set->keys[h] != key)
        h = (h + 1) & (set->cap - 1);
    return h;
}

static bool grow(seen_set *set)
{
    seen_set bigger = {calloc(set->cap ? set->cap * 2 : 64, sizeof *bigger.keys), set->n,
                       set->cap ? set->cap * 2 : 64};
    if (!bigger.keys)
        return false;
    for (size_t i = 0; i < set->cap; i++)
        if (set->keys[i])
            bigger.keys[slot(&bigger, set->keys[i])] = set->keys[i];
    free(set->keys);
    *set = bigger;
    return true;
}

/* True the first time (ds, level, any_depth) is met. Without memory the walk
 * goes on unmemoized: slower, still correct. */
static bool first_visit(walk *w, const dcm_dataset *ds, size_t level, bool any_depth)
{
    /* the state in the top 16 bits (never 0), the address below them */
    uint64_t key = (uint64_t)(uintptr_t)ds ^ ((uint64_t)(level * 2 + any_depth + 1) << 48);
    seen_set *set = &w->seen;
    if (2 * (set->n + 1) > set->cap && !grow(set))
        return true;
    size_t h = slot(set, key);
    if (set->keys[h] == key)
        return false;
    set->keys[h] = key;
    set->n++;
    return true;
}

static void match(walk *w, dcm_dataset *ds, size_t i, bool any_depth);

/* Descend one level: every item of every sequence in ds (or of those whose
 * tag matches l, when l is given). */
static void each_item(walk *w, dcm_dataset *ds, const tp_level *l, size_t next, bool any_depth)
{
    for (size_t k = 0; k < dcm_dataset_count(ds) && !w->stop; k++) {
        dcm_element *el = dcm_dataset_at(ds, k);
        if (!dcm_element_is_sequence(el) || (l && !tp_level_matches(l, ds, dcm_element_tag(el))))
            continue;
        for (size_t j = 0; j < dcm_element_item_count(el) && !w->stop; j++) {
            if (l && l->item_given && l->item >= 0 && (size_t)l->item != j)
                continue;
            match(w, dcm_element_item(el, j), next, any_depth);
        }
    }
}

static void match(walk *w, dcm_dataset *ds, size_t i, bool any_depth)
{
    const tp_level *l = &w->p->levels[i];
    if (!first_visit(w, ds, i, any_depth))
        return;
    if (any_depth) { /* inside a * (or the rest of a +): here, or deeper */
        match(w, ds, i, false);
        each_item(w, ds, NULL, i, true);
        return;
    }
    switch (l->kind) {
    case L_ANY_DEPTH:
        match(w, ds, i + 1, true);
        return;
    case L_SOME_DEPTH:
        each_item(w, ds, NULL, i + 1, true);
        return;
    case L_ONE:
        each_item(w, ds, NULL, i + 1, false);
        return;
    case L_TAG:
        break;
    }
    if (i + 1 < w->p->n) {
        each_item(w, ds, l, i + 1, false);
        return;
    }
    for (size_t k = 0; k < dcm_dataset_count(ds) && !w->stop; k++) {
        dcm_element *el = dcm_dataset_at(ds, k);
        if (tp_level_matches(l, ds, dcm_element_tag(el)))
            w->stop = w->fn(w->ctx, ds, el);
    }
}

void tp_walk(const tagpath *p, dcm_dataset *root, tp_visit fn, void *ctx)
{
    walk w = {p, fn, ctx, 0, {NULL, 0, 0}};
    match(&w, root, 0, false);
    free(w.seen.keys);
}

/* ---- singular paths ---------------------------------------------------- */

/* The concrete tag of level l in ds: public as written, private through the
 * creator's block (0 if ds has no such block). */
static uint32_t concrete_tag(const tp_level *l, const dcm_dataset *ds)
{
    if (!l->creator)
        return tp_level_tag(l);
    uint8_t offset = (uint8_t)(l->elem[2].value << 4 | l->elem[3].value);
    return dcm_private_tag(ds, nibble_value(l->group), l->creator, offset);
}

dcm_element *tp_find(const tagpath *p, dcm_dataset *root, dcm_dataset **owner)
{
    dcm_dataset *ds = root;
    for (size_t i = 0; i < p->n; i++) {
        const tp_level *l = &p->levels[i];
        uint32_t tag = concrete_tag(l, ds);
        dcm_element *el = tag ? dcm_dataset_get(ds, tag) : NULL;
        if (!el)
            return NULL;
        if (i + 1 == p->n) {
            if (owner)
                *owner = ds;
            return el;
        }
        size_t item = l->item < 0 ? 0 : (size_t)l->item;
        if (!dcm_element_is_sequence(el) || item >= dcm_element_item_count(el))
            return NULL;
        ds = dcm_element_item(el, item);
    }
    return NULL;
}

dcm_dataset *tp_create(const tagpath *p, dcm_dataset *root, uint32_t *tag, dqr_error *err)
{
    dcm_dataset *ds = root;
    char t[12];
    for (size_t i = 0; i < p->n; i++) {
        const tp_level *l = &p->levels[i];
        uint32_t tg = concrete_tag(l, ds);
        if (!tg) { /* a new private block: first free (gggg,00xx) */
            uint8_t offset = (uint8_t)(l->elem[2].value << 4 | l->elem[3].value);
            if (!(tg = dcm_private_reserve(ds, nibble_value(l->group), l->creator, offset, err)))
                return NULL;
        }
        if (i + 1 == p->n) {
            *tag = tg;
            return ds;
        }
        dcm_element *el = dcm_dataset_get(ds, tg);
        if (!el && !(el = dcm_dataset_set_sequence(ds, tg, err)))
            return NULL;
        if (!dcm_element_is_sequence(el)) {
            dqr_error_set(err, DQR_E_USAGE, "%s is not a sequence", dcm_tag_str(tg, t));
            return NULL;
        }
        size_t item = l->item < 0 ? 0 : (size_t)l->item;
        while (dcm_element_item_count(el) <= item)
            if (!dcm_element_append_item(el, err))
                return NULL;
        ds = dcm_element_item(el, item);
    }
    return NULL;
}

/* ---- direct notation ----------------------------------------------------- */

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Four hex digits into n[]; returns the text after them, or NULL. */
static const char *hex4(const char *s, nibble n[4])
{
    for (int i = 0; i < 4; i++, s++) {
        s = skip_spaces(s);
        char c = (char)(*s | 0x20);
        if (!((*s >= '0' && *s <= '9') || (c >= 'a' && c <= 'f')))
            return NULL;
        n[i] = (nibble){(uint8_t)(*s <= '9' ? *s - '0' : c - 'a' + 10), 0};
    }
    return s;
}

/* One level "(gggg,eeee)" with an optional "[n]"; NULL if not that. */
static const char *direct_level(const char *s, tp_level *l)
{
    memset(l, 0, sizeof *l);
    l->kind = L_TAG;
    l->item = -1;
    s = skip_spaces(s);
    if (*s++ != '(' || !(s = hex4(s, l->group)))
        return NULL;
    s = skip_spaces(s);
    if (*s++ != ',' || !(s = hex4(s, l->elem)))
        return NULL;
    s = skip_spaces(s);
    if (*s++ != ')')
        return NULL;
    s = skip_spaces(s);
    if (*s != '[')
        return s;
    s = skip_spaces(s + 1);
    long item = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
        item = item * 10 + (*s - '0');
    s = skip_spaces(s);
    if (!digits || item > 65535 || *s++ != ']')
        return NULL;
    l->item = (int)item;
    l->item_given = true;
    return skip_spaces(s);
}

bool tp_parse_direct(arena *a, const char *text, tagpath **out)
{
    tp_level levels[ANON_MAX_DEPTH];
    size_t n = 0;
    const char *s = text;
    *out = NULL;
    for (;;) {
        if (n == ANON_MAX_DEPTH || !(s = direct_level(s, &levels[n])))
            return false;
        n++;
        if (*s != '/')
            break;
        s++;
    }
    if (*s || levels[n - 1].item_given)
        return false;
    tagpath *p = arena_alloc(a, sizeof *p);
    tp_level *copy = p ? arena_alloc(a, n * sizeof *copy) : NULL;
    if (!copy)
        return true;
    memcpy(copy, levels, n * sizeof *copy);
    *p = (tagpath){copy, n, 1, 1};
    *out = p;
    return true;
}

/* safe_private.c — the Retain Safe Private Option (PS3.15 E.3.10): which
 * private data elements are safe to keep, from Table E.3.10-1 (generated
 * into anon_safe_private_table) and a site file of extra ones, and the
 * report `dqr lint` prints of what a file keeps and why.
 *
 * A private data element (gggg,xxEE) is named by its group, its low byte EE
 * and the Private Creator at (gggg,00xx) of the same dataset: the block a
 * creator gets differs from file to file, so xx never matters.
 *
 * The site file is text, one attribute a line, "#" starting a comment line:
 *     (0019,xx0C) SIEMENS MR HEADER
 * the tag in the table's block-relative form, then the creator's exact
 * value up to the end of the line. */
#include "anon/profile.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct site_row {
    uint16_t group;
    uint8_t element;
    char *creator;
    int line;
} site_row;

struct anon_safe_list {
    char *path;
    site_row *rows;
    size_t n, cap;
};

void anon_safe_list_free(anon_safe_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->rows[i].creator);
    free(l->rows);
    free(l->path);
    free(l);
}

static int hex_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)s[i]))
            return -1;
        v = v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10);
    }
    *out = v;
    return 0;
}

/* "(gggg,xxEE) CREATOR" (parentheses optional) into row; -1 if malformed. */
static int parse_line(char *s, site_row *row)
{
    unsigned group, element;
    if (*s == '(')
        s++;
    if (hex_digits(s, 4, &group) || s[4] != ',' || tolower((unsigned char)s[5]) != 'x' ||
        tolower((unsigned char)s[6]) != 'x' || hex_digits(s + 7, 2, &element) || !(group & 1))
        return -1;
    s += 9;
    if (*s == ')')
        s++;
    if (*s != ' ' && *s != '\t')
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, "\r\n");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (!n)
        return -1;
    row->group = (uint16_t)group;
    row->element = (uint8_t)element;
    row->creator = strndup(s, n);
    return row->creator ? 0 : -1;
}

static dqr_status add_row(anon_safe_list *l, const site_row *row, dqr_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        site_row *r = realloc(l->rows, cap * sizeof *r);
        if (!r)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        l->rows = r;
        l->cap = cap;
    }
    l->rows[l->n++] = *row;
    return DQR_OK;
}

anon_safe_list *anon_safe_list_load(const char *path, dqr_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    anon_safe_list *l = calloc(1, sizeof *l);
    dqr_status st = l && (l->path = strdup(path)) ? DQR_OK : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    char line[1024];
    for (int lineno = 1; !st && fgets(line, sizeof line, f); lineno++) {
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#' || *s == '\n' || *s == '\r')
            continue;
        site_row row = {.line = lineno};
        if (parse_line(s, &row))
            st = dqr_error_set(err, DQR_E_PARSE, "%s:%d: expected '(gggg,xxEE) PRIVATE CREATOR' with an odd group", path,
                               lineno);
        else if ((st = add_row(l, &row, err)))
            free(row.creator);
    }
    fclose(f);
    if (st) {
        anon_safe_list_free(l);
        return NULL;
    }
    return l;
}

/* The Table E.3.10-1 row for (group, element, creator), or NULL. */
static const anon_safe_private_row *table_find(uint16_t group, uint8_t element, const char *creator)
{
    size_t lo = 0, hi = anon_safe_private_table_len;
    while (lo < hi) { /* the first row at (group, element) */
        size_t mid = lo + (hi - lo) / 2;
        const anon_safe_private_row *r = &anon_safe_private_table[mid];
        if (r->group < group || (r->group == group && r->element < element))
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < anon_safe_private_table_len; lo++) {
        const anon_safe_private_row *r = &anon_safe_private_table[lo];
        if (r->group != group || r->element != element)
            break;
        if (strcmp(r->creator, creator) == 0)
            return r;
    }
    return NULL;
}

const char *anon_safe_private_why(const anon_safe_list *site, const dcm_dataset *ds, uint32_t tag, char *buf,
                                  size_t cap)
{
    char creator[80];
    if (!dcm_private_creator(ds, tag, creator, sizeof creator))
        return NULL;
    uint16_t group = DCM_GROUP(tag);
    uint8_t element = (uint8_t)(DCM_ELEM(tag) & 0xFF);
    const anon_safe_private_row *r = table_find(group, element, creator);
    if (r) {
        snprintf(buf, cap, "PS3.15 Table E.3.10-1%s%s", r->meaning[0] ? ": " : "", r->meaning);
        return buf;
    }
    for (size_t i = 0; site && i < site->n; i++) {
        const site_row *s = &site->rows[i];
        if (s->group == group && s->element == element && strcmp(s->creator, creator) == 0) {
            snprintf(buf, cap, "site file %s:%d", site->path, s->line);
            return buf;
        }
    }
    return NULL;
}

/* ---- the report --------------------------------------------------------- */

typedef struct report {
    const anon_safe_list *site;
    anon_private_fn fn;
    void *ctx;
    size_t count;
    char path[512];
} report;

static void report_ds(report *r, const dcm_dataset *ds)
{
    size_t base = strlen(r->path);
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        const dcm_element *el = dcm_dataset_at(ds, i);
        uint32_t tag = dcm_element_tag(el);
        char t[12];
        snprintf(r->path + base, sizeof r->path - base, "%s%s", base ? "/" : "", dcm_tag_str(tag, t));
        bool data = (DCM_GROUP(tag) & 1) && DCM_ELEM(tag) >= 0x1000;
        bool kept = !data;
        if (data) {
            char why[300], creator[80];
            const char *because = anon_safe_private_why(r->site, ds, tag, why, sizeof why);
            kept = because != NULL;
            if (!dcm_private_creator(ds, tag, creator, sizeof creator))
                snprintf(creator, sizeof creator, "(no creator)");
            r->fn(r->ctx, r->path, creator, kept, because ? because : "in neither Table E.3.10-1 nor the site file");
            r->count++;
        }
        for (size_t k = 0; kept && k < dcm_element_item_count(el); k++) {
            size_t b2 = strlen(r->path);
            snprintf(r->path + b2, sizeof r->path - b2, "[%zu]", k);
            report_ds(r, dcm_element_item(el, k));
            r->path[b2] = '\0';
        }
    }
    r->path[base] = '\0';
}

size_t anon_private_report(const anon_profile *p, const dcm_dataset *ds, anon_private_fn fn, void *ctx)
{
    report r = {.site = p ? anon_profile_safe_list(p) : NULL, .fn = fn, .ctx = ctx};
    report_ds(&r, ds);
    return r.count;
}

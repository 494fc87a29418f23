/* fn_pixels.c — DicomEdit 6.3's alterPixels:
 *
 *   alterPixels["rectangle", "l=10, t=10, r=60, b=60", "solid", "v=0"]
 *
 * exactly as DicomEdit takes it: the shape "rectangle" with l/left, t/top,
 * r/right, b/bottom; the fill "solid" with v=N, or r=,g=,b= on colour
 * images. Anything else is a run-time error naming the statement's
 * line:column. The statement does not touch the dataset: it records the
 * region on the session, and the writer fills it in every frame when the
 * file is written (anon_clean_pixels, px_edit_attach).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "anon/interp.h"

typedef struct key {
    const char *names[2]; /* short and long spelling */
    long value;
    bool set;
} key;

/* "l=0, t=0, r=20, b=20": comma-separated name=integer pairs, each name one
 * of keys (either spelling), none twice. what names the argument in errors. */
static dqr_status parse_pairs(anon_session *s, const char *text, key *keys, size_t nkeys, const char *what)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, "= \t,");
        size_t k = 0;
        while (k < nkeys && !((strlen(keys[k].names[0]) == n && strncmp(p, keys[k].names[0], n) == 0) ||
                              (strlen(keys[k].names[1]) == n && strncmp(p, keys[k].names[1], n) == 0)))
            k++;
        if (k == nkeys)
            return rt_error(s, "alterPixels: unknown %s parameter '%.*s' in \"%s\"", what, (int)n, p, text);
        if (keys[k].set)
            return rt_error(s, "alterPixels: %s parameter '%s' given twice", what, keys[k].names[1]);
        p += n;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            return rt_error(s, "alterPixels: %s parameter '%s' needs '=' and a number", what, keys[k].names[1]);
        char *end;
        errno = 0;
        keys[k].value = strtol(p + 1, &end, 10);
        if (end == p + 1 || errno || keys[k].value < 0 || keys[k].value > 0x7FFFFFFF)
            return rt_error(s, "alterPixels: %s parameter '%s' is not a non-negative integer", what,
                            keys[k].names[1]);
        keys[k].set = true;
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return rt_error(s, "alterPixels: unexpected '%c' after %s parameter '%s'", *p, what, keys[k].names[1]);
    }
    return DQR_OK;
}

static dqr_status arg_text(anon_session *s, expr *const *args, size_t i, const char **out)
{
    dqr_status st = arg_string(s, args, 4, i, out);
    return !st && !*out ? rt_error(s, "alterPixels: argument %zu has no value", i + 1) : st;
}

static dqr_status rectangle(anon_session *s, const char *text, px_region *r)
{
    key k[4] = {{{"l", "left"}, 0, false}, {{"t", "top"}, 0, false}, {{"r", "right"}, 0, false},
                {{"b", "bottom"}, 0, false}};
    dqr_status st = parse_pairs(s, text, k, 4, "rectangle");
    for (size_t i = 0; !st && i < 4; i++)
        if (!k[i].set)
            st = rt_error(s, "alterPixels: the rectangle needs %s= (l, t, r, b)", k[i].names[0]);
    if (!st && (k[2].value < k[0].value || k[3].value < k[1].value))
        st = rt_error(s, "alterPixels: the rectangle's r is left of its l or its b above its t");
    r->left = k[0].value, r->top = k[1].value, r->right = k[2].value, r->bottom = k[3].value;
    return st;
}

static dqr_status solid(anon_session *s, const char *text, px_region *r)
{
    key k[4] = {{{"v", "value"}, 0, false}, {{"r", "red"}, 0, false}, {{"g", "green"}, 0, false},
                {{"b", "blue"}, 0, false}};
    dqr_status st = parse_pairs(s, text, k, 4, "fill");
    if (st)
        return st;
    bool grey = k[0].set, rgb = k[1].set || k[2].set || k[3].set;
    if (grey == rgb || (rgb && !(k[1].set && k[2].set && k[3].set)))
        return rt_error(s, "alterPixels: the solid fill needs \"v=N\" or \"r=R, g=G, b=B\"");
    r->rgb = rgb;
    for (int i = 0; i < 3; i++)
        r->value[i] = (int32_t)(rgb ? k[i + 1].value : k[0].value);
    return DQR_OK;
}

static dqr_status fn_alter_pixels(anon_session *s, expr *const *args, size_t n, aval *out)
{
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "alterPixels", n, 4, 4);
    const char *shape = NULL, *shape_args = NULL, *fill = NULL, *fill_args = NULL;
    if (st || (st = arg_text(s, args, 0, &shape)) || (st = arg_text(s, args, 1, &shape_args)) ||
        (st = arg_text(s, args, 2, &fill)) || (st = arg_text(s, args, 3, &fill_args)))
        return st;
    if (strcmp(shape, "rectangle") != 0)
        return rt_error(s, "alterPixels: unknown shape \"%s\" (DicomEdit has \"rectangle\")", shape);
    if (strcmp(fill, "solid") != 0)
        return rt_error(s, "alterPixels: unknown fill \"%s\" (DicomEdit has \"solid\")", fill);
    px_region r = {.frame = PX_ALL_FRAMES};
    if ((st = rectangle(s, shape_args, &r)) || (st = solid(s, fill_args, &r)))
        return st;
    if (!s->pixels && !(s->pixels = px_edit_new()))
        return rt_error(s, "alterPixels: out of memory");
    return px_edit_add(s->pixels, &r, s->err) ? rt_error(s, "alterPixels: %s", s->err->message) : DQR_OK;
}

const fn_entry anon_fn_pixels[] = {
    {"alterPixels", fn_alter_pixels},
    {NULL, NULL},
};

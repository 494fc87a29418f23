/* ocr_ink.c — keep only the ink that can be text, before OCR.
 *
 * After thresholding, a frame's bright parts are text strokes and also
 * anatomy: bone and soft tissue of a CT window, the bright bands of a
 * screenshot's image. Tesseract reads junk words out of those ("ae", "oe",
 * "Ss"), which would refuse clean frames, and spends time on them. A
 * character is a small, thin connected component, so each 8-connected
 * component is measured and cleared when it is taller than max_h, a blob
 * (more than 85 % of its box filled while thicker than 4 pixels), or a
 * speck of fewer than 3 pixels.
 *
 * One threshold does not fit text drawn over a bright textured area: at the
 * low level (half the brightest) the area's texture is ink too, and the
 * letters touching it become part of a tall component (dropped with it) or
 * of a speckled one Tesseract cannot read. So each component is also looked
 * at a higher level (t2, between the low one and the brightest): when it is
 * not a character, or its pixels at t2 cover much less than its own extent
 * (letters inside texture), its pixels at t2 are measured again as
 * components of their own and the text-like ones are kept at that level.
 * A plain letter keeps its low-level ink (its anti-aliased edges).
 *
 * Two more tests keep clean CT frames clean: a component whose brightest
 * pixel stays under halfway between the two levels is faint (the noise of
 * soft tissue a window puts right at the low level, in small clusters that
 * Tesseract reads as "md"; text is drawn at its screen's brightest level),
 * and a solid one (thick for its size) is a bone, not a letter made of
 * strokes.
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_internal.h"

/* mask values while a frame is sorted */
enum { INK = 1, SEEN = 2, KEPT = 3, HIGH = 4, HIGH_SEEN = 5, HIGH_KEPT = 6 };

typedef struct comp {
    uint32_t x0, y0, x1, y1;
    size_t count;
    uint8_t max; /* its brightest pixel */
    /* pixels at or above t2, and their extent */
    size_t count2;
    uint32_t hx0, hy0, hx1, hy1;
} comp;

static void extend(uint32_t *lo, uint32_t *hi, uint32_t v)
{
    *lo = v < *lo ? v : *lo;
    *hi = v > *hi ? v : *hi;
}

/* Flood the component of mask value from at start, marking it to; stack
 * holds w*h entries. Returns its extent, and that of its pixels >= t2. */
static comp flood(uint8_t *mask, const uint8_t *bright, unsigned t2, uint32_t w, uint32_t h, size_t start,
                  uint8_t from, uint8_t to, uint32_t *stack)
{
    comp c = {(uint32_t)(start % w), (uint32_t)(start / w), (uint32_t)(start % w), (uint32_t)(start / w), 0,
              0, 0, UINT32_MAX, UINT32_MAX, 0, 0};
    size_t top = 0;
    stack[top++] = (uint32_t)start;
    mask[start] = to;
    while (top) {
        uint32_t i = stack[--top], x = i % w, y = i / w;
        c.count++;
        extend(&c.x0, &c.x1, x);
        extend(&c.y0, &c.y1, y);
        c.max = bright[i] > c.max ? bright[i] : c.max;
        if (bright[i] >= t2) {
            c.count2++;
            extend(&c.hx0, &c.hx1, x);
            extend(&c.hy0, &c.hy1, y);
        }
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int64_t nx = (int64_t)x + dx, ny = (int64_t)y + dy;
                if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                    continue;
                size_t j = (size_t)ny * w + (size_t)nx;
                if (mask[j] == from) {
                    mask[j] = to;
                    stack[top++] = (uint32_t)j;
                }
            }
    }
    return c;
}

/* fill: the percentage of its box above which a thick component is a blob */
static bool text_like(const comp *c, uint32_t max_h, unsigned fill)
{
    uint32_t cw = c->x1 - c->x0 + 1, ch = c->y1 - c->y0 + 1;
    if (c->count < 3 || ch > max_h)
        return false;
    bool thick = cw > 4 && ch > 4;
    return !(thick && c->count * 100 > (size_t)cw * ch * fill);
}

/* Letters inside texture: the component's bright core spans less than half
 * its box, or is under a fifth of its pixels. */
static bool mixed(const comp *c)
{
    if (!c->count2)
        return false;
    size_t box = (size_t)(c->x1 - c->x0 + 1) * (c->y1 - c->y0 + 1);
    size_t core = (size_t)(c->hx1 - c->hx0 + 1) * (c->hy1 - c->hy0 + 1);
    return core * 2 < box || c->count2 * 5 < c->count;
}

/* In c's box, turn mask value from into to. */
static void relabel(uint8_t *mask, uint32_t w, const comp *c, uint8_t from, uint8_t to)
{
    for (uint32_t y = c->y0; y <= c->y1; y++)
        for (uint32_t x = c->x0; x <= c->x1; x++)
            if (mask[(size_t)y * w + x] == from)
                mask[(size_t)y * w + x] = to;
}

static uint32_t min4(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    a = a < b ? a : b;
    c = c < d ? c : d;
    return a < c ? a : c;
}

/* The depth of c (marked m): the largest distance from one of its pixels to
 * the outside, in thirds of a pixel (chamfer 3-4, close to the Euclidean
 * distance: a disc of radius r is 3r deep), two passes over its box with d
 * (box-sized). */
static uint32_t depth(const uint8_t *mask, uint32_t w, const comp *c, uint8_t m, uint32_t *d)
{
    uint32_t bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1, deepest = 0;
#define D(x, y) ((x) < bw && (y) < bh ? d[(size_t)(y) * bw + (x)] : 0u)
    for (uint32_t y = 0; y < bh; y++)
        for (uint32_t x = 0; x < bw; x++)
            d[(size_t)y * bw + x] = mask[(size_t)(c->y0 + y) * w + c->x0 + x] != m ? 0
                                    : min4(D(x - 1, y) + 3, D(x - 1, y - 1) + 4, D(x, y - 1) + 3, D(x + 1, y - 1) + 4);
    for (uint32_t y = bh; y-- > 0;)
        for (uint32_t x = bw; x-- > 0;) {
            uint32_t *v = &d[(size_t)y * bw + x];
            if (!*v)
                continue;
            uint32_t n = min4(D(x + 1, y) + 3, D(x + 1, y + 1) + 4, D(x, y + 1) + 3, D(x - 1, y + 1) + 4);
            *v = n < *v ? n : *v;
            deepest = *v > deepest ? *v : deepest;
        }
#undef D
    return deepest;
}

/* Solid: c is deeper than 0.4 of its smaller side. A letter is made of
 * strokes at most about a fifth of its height wide (deep half that, a bit
 * more at a junction), whatever its size; a bone of a CT window is a disc
 * (or overlapping discs), deep half its side. Small components (under 6
 * pixels a side: a dot, a dash) are not judged. stack: scratch, free here. */
static bool solid(const uint8_t *mask, uint32_t w, const comp *c, uint8_t m, uint32_t *stack)
{
    uint32_t cw = c->x1 - c->x0 + 1, ch = c->y1 - c->y0 + 1, side = cw < ch ? cw : ch;
    return side >= 6 && 5 * depth(mask, w, c, m, stack) > 6 * side; /* depth/3 > 0.4 side */
}

/* c (marked SEEN) is not kept at the low level: keep the text-like
 * components of its pixels >= t2. What appears at t2 inside a dropped area
 * is what a window saturates (bone inside soft tissue) as often as letters,
 * so a filled disc (79 % of its box) or a solid shape is no letter here, nor
 * one faint at t2 (under halfway from t2 to the brightest: a bone whose
 * level the window puts at t2, its noise a speckled disc). */
static void keep_high(uint8_t *mask, const uint8_t *bright, unsigned t2, unsigned faint, unsigned ceiling,
                      uint32_t w, uint32_t h, uint32_t max_h, const comp *c, uint32_t *stack)
{
    for (uint32_t y = c->y0; y <= c->y1; y++)
        for (uint32_t x = c->x0; x <= c->x1; x++) {
            size_t i = (size_t)y * w + x;
            if (mask[i] == SEEN)
                mask[i] = bright[i] >= t2 ? HIGH : 0;
        }
    for (uint32_t y = c->y0; y <= c->y1; y++)
        for (uint32_t x = c->x0; x <= c->x1; x++) {
            size_t i = (size_t)y * w + x;
            if (mask[i] != HIGH)
                continue;
            comp s = flood(mask, bright, t2, w, h, i, HIGH, HIGH_SEEN, stack);
            bool letter = text_like(&s, max_h, 70) && s.max >= faint && s.max <= ceiling &&
                          !solid(mask, w, &s, HIGH_SEEN, stack);
            relabel(mask, w, &s, HIGH_SEEN, letter ? HIGH_KEPT : 0);
        }
}

void px_ink_keep_text(uint8_t *mask, const uint8_t *bright, unsigned t1, unsigned t2, uint32_t w, uint32_t h,
                      uint32_t max_h, uint32_t *stack)
{
    px_ink_keep_text_under(mask, bright, t1, t2, 255, w, h, max_h, stack);
}

void px_ink_keep_text_under(uint8_t *mask, const uint8_t *bright, unsigned t1, unsigned t2, unsigned ceiling,
                            uint32_t w, uint32_t h, uint32_t max_h, uint32_t *stack)
{
    unsigned faint = (t1 + t2) / 2;
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] != INK)
            continue;
        comp c = flood(mask, bright, t2, w, h, i, INK, SEEN, stack);
        bool letter = text_like(&c, max_h, 85) && c.max >= faint && c.max <= ceiling &&
                      !solid(mask, w, &c, SEEN, stack);
        if (letter && !mixed(&c))
            relabel(mask, w, &c, SEEN, KEPT); /* marks of a neighbour already kept are untouched */
        else if (c.count2)
            keep_high(mask, bright, t2, t2 + (t2 - t1) / 2, ceiling, w, h, max_h, &c, stack);
        else
            relabel(mask, w, &c, SEEN, 0);
    }
    for (size_t i = 0; i < n; i++)
        mask[i] = mask[i] == KEPT ? 1 : mask[i] == HIGH_KEPT ? 2 : 0;
}

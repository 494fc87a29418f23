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
 */
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel_internal.h"

typedef struct comp {
    uint32_t x0, y0, x1, y1;
    size_t count;
} comp;

/* Flood the component of mask value 1 at start, marking it 2; stack holds
 * w*h entries. Returns its extent. */
static comp flood(uint8_t *mask, uint32_t w, uint32_t h, size_t start, uint32_t *stack)
{
    comp c = {(uint32_t)(start % w), (uint32_t)(start / w), (uint32_t)(start % w), (uint32_t)(start / w), 0};
    size_t top = 0;
    stack[top++] = (uint32_t)start;
    mask[start] = 2;
    while (top) {
        uint32_t i = stack[--top], x = i % w, y = i / w;
        c.count++;
        c.x0 = x < c.x0 ? x : c.x0;
        c.x1 = x > c.x1 ? x : c.x1;
        c.y0 = y < c.y0 ? y : c.y0;
        c.y1 = y > c.y1 ? y : c.y1;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int64_t nx = (int64_t)x + dx, ny = (int64_t)y + dy;
                if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                    continue;
                size_t j = (size_t)ny * w + (size_t)nx;
                if (mask[j] == 1) {
                    mask[j] = 2;
                    stack[top++] = (uint32_t)j;
                }
            }
    }
    return c;
}

static bool text_like(const comp *c, uint32_t max_h)
{
    uint32_t cw = c->x1 - c->x0 + 1, ch = c->y1 - c->y0 + 1;
    if (c->count < 3 || ch > max_h)
        return false;
    bool thick = cw > 4 && ch > 4;
    return !(thick && c->count * 100 > (size_t)cw * ch * 85);
}

/* Clear the component marked 2 starting at start (mark 0). */
static void clear(uint8_t *mask, uint32_t w, const comp *c)
{
    for (uint32_t y = c->y0; y <= c->y1; y++)
        for (uint32_t x = c->x0; x <= c->x1; x++)
            if (mask[(size_t)y * w + x] == 2)
                mask[(size_t)y * w + x] = 0;
}

void px_ink_keep_text(uint8_t *mask, uint32_t w, uint32_t h, uint32_t max_h, uint32_t *stack)
{
    size_t n = (size_t)w * h;
    for (size_t i = 0; i < n; i++) {
        if (mask[i] != 1)
            continue;
        comp c = flood(mask, w, h, i, stack);
        if (!text_like(&c, max_h))
            clear(mask, w, &c); /* marks of a neighbour already kept are 3, untouched */
        else
            for (uint32_t y = c.y0; y <= c.y1; y++)
                for (uint32_t x = c.x0; x <= c.x1; x++)
                    if (mask[(size_t)y * w + x] == 2)
                        mask[(size_t)y * w + x] = 3;
    }
    for (size_t i = 0; i < n; i++)
        mask[i] = mask[i] == 3;
}

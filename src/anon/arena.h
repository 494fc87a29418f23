/* arena.h — a bump allocator: many small allocations freed at once. Used for
 * a compiled script's syntax tree and for the values of one instance's run. */
#ifndef DQR_ANON_ARENA_H
#define DQR_ANON_ARENA_H

#include <stddef.h>

typedef struct arena_block arena_block;
typedef struct arena {
    arena_block *head;
} arena;

/* Zeroed memory valid until arena_reset/arena_free; NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);
/* A copy of s[0..n) plus a NUL, in the arena. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
/* Free everything allocated so far; the arena stays usable. */
void arena_reset(arena *a);
void arena_free(arena *a);

#endif

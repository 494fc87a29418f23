/* valuemap.c — map an attribute's values one by one. */
#include "anon/valuemap.h"

#include <stdlib.h>
#include <string.h>

char *anon_map_values(char *text, anon_value_fn fn, void *ctx, const char **refused)
{
    *refused = NULL;
    size_t values = strlen(text) / 2 + 1; /* at most this many: each takes a char and a '\\' */
    char *out = malloc(values * ANON_VALUE_MAX + 1), *save = NULL;
    if (!out)
        return NULL;
    size_t o = 0;
    for (char *tok = strtok_r(text, "\\", &save); tok; tok = strtok_r(NULL, "\\", &save)) {
        char mapped[ANON_VALUE_MAX];
        if (fn(ctx, tok, mapped)) {
            *refused = tok;
            free(out);
            return NULL;
        }
        size_t n = strnlen(mapped, ANON_VALUE_MAX - 1);
        if (o)
            out[o++] = '\\';
        memcpy(out + o, mapped, n);
        o += n;
    }
    out[o] = '\0';
    return out;
}

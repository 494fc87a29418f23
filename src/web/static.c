/* static.c — looking up embedded UI files. */
#include "web/static.h"

#include <string.h>

const http_asset *http_asset_find(const char *path)
{
    for (size_t i = 0; i < http_assets_len; i++)
        if (strcmp(http_assets[i].path, path) == 0)
            return &http_assets[i];
    return NULL;
}

/* static.h — the web UI's files, embedded in the binary at build time
 * (tools/embed_ui.py from ui/), served at /ui/NAME. */
#ifndef DQR_WEB_STATIC_H
#define DQR_WEB_STATIC_H

#include <stddef.h>

typedef struct http_asset {
    const char *path; /* "/ui/app.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} http_asset;

extern const http_asset http_assets[];
extern const size_t http_assets_len;

/* The asset at path, or NULL. */
const http_asset *http_asset_find(const char *path);

#endif

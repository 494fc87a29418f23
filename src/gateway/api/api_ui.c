/* api_ui.c — the web UI: GET / answers the page, GET /ui/NAME its files,
 * all embedded in the binary. The page's policy allows scripts and styles
 * only from dqr itself (no inline script, no outside source). */
#include "gateway/internal.h"
#include "gateway/api/routes.h"
#include "web/static.h"

#include <stdlib.h>
#include <string.h>

static void send_asset(gw_req *r, const char *path)
{
    const http_asset *a = http_asset_find(path);
    char *copy = a ? malloc(a->len ? a->len : 1) : NULL;
    if (!a || !copy) {
        free(copy);
        gw_fail(r, 404, "no such file: %s", path);
        return;
    }
    memcpy(copy, a->data, a->len);
    http_respond(r->http, 200, a->type, copy, a->len);
}

static void page(gw_req *r)
{
    send_asset(r, "/ui/index.html");
}

static void asset(gw_req *r)
{
    char path[160];
    snprintf(path, sizeof path, "/ui/%s", r->arg[0]);
    send_asset(r, path);
}

const gw_route gw_routes_ui[] = {
    {"GET", "/", GW_PUBLIC, page},
    {"GET", "/ui/{}", GW_PUBLIC, asset},
    {NULL, NULL, GW_PUBLIC, NULL},
};

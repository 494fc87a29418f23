/* api_quarantine.c — GET /api/v1/quarantine: the frames the burned-in text
 * check refused (import/pixel_verify.c), for an admin to review; one entry
 * per frame with words, with the boxes of those words (frame pixels) but
 * never the words, which are PHI. The instance itself stays sealed in
 * DATA_DIR/quarantine/FILE.sealed; showing, releasing and deleting it are
 * the review page's (docs/api.md, "Quarantine"). */
#include <stdlib.h>

#include "gateway/internal.h"
#include "gateway/api/routes.h"

#define QUARANTINE_COLUMNS                                                                                     \
    "q.id, q.session_id AS session, q.project, s.subject, s.session AS session_label, q.file, q.frame, "      \
    "q.reason, q.created, q.boxes "                                                                            \
    "FROM pixel_quarantine q LEFT JOIN import_sessions s ON s.id = q.session_id "

/* boxes is stored as JSON text: give it back as JSON. */
static void parse_boxes(json_t *row)
{
    const char *text = json_string_value(json_object_get(row, "boxes"));
    json_t *boxes = text ? json_loads(text, 0, NULL) : NULL;
    json_object_set_new(row, "boxes", boxes ? boxes : json_array());
}

static void quarantine_list(gw_req *r)
{
    const char *session = http_query(r->http, "session"), *lim = http_query(r->http, "limit");
    long long limit = lim ? atoll(lim) : 100, sid = session ? atoll(session) : 0;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT " QUARANTINE_COLUMNS "WHERE (? = 0 OR q.session_id = ?) ORDER BY q.id DESC LIMIT ?",
                        (store_val[]){STORE_I(sid), STORE_I(sid), STORE_I(limit < 1 || limit > 10000 ? 100 : limit)},
                        3, &err);
    if (!a) {
        gw_fail_err(r, &err);
        return;
    }
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) parse_boxes(x);
    gw_reply(r, 200, json_pack("{s:o}", "quarantine", a));
}

static void quarantine_get(gw_req *r)
{
    char *end;
    long long id = strtoll(r->arg[0], &end, 10);
    if (*end || id <= 0) {
        gw_fail(r, 400, "quarantine id must be a positive integer");
        return;
    }
    dqr_error err = {0};
    json_t *o = gw_row(r->g, "SELECT " QUARANTINE_COLUMNS "WHERE q.id = ?", (store_val[]){STORE_I(id)}, 1, &err);
    if (!o) {
        err.code ? gw_fail_err(r, &err) : (void)gw_fail(r, 404, "no quarantined frame %lld", id);
        return;
    }
    parse_boxes(o);
    gw_reply(r, 200, o);
}

const gw_route gw_routes_quarantine[] = {
    {"GET", "/api/v1/quarantine", GW_ADMIN, quarantine_list},
    {"GET", "/api/v1/quarantine/{}", GW_ADMIN, quarantine_get},
    {NULL, NULL, GW_PUBLIC, NULL},
};

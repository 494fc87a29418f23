/* wado.c — retrieving a study from a DICOMweb PACS (WADO-RS, PS3.18 10.4):
 * GET {url}/studies/{uid} (or .../series/{uid} per chosen series) as
 * multipart/related; type="application/dicom". The answer is cut into its
 * parts as it arrives (web/multipart.h); each part, a Part 10 instance,
 * goes to the instance pool like one received by C-MOVE. */
#include "gateway/import/pool.h"
#include "gateway/import/wado.h"
#include "web/client.h"
#include "web/multipart.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct parts {
    gw *g;
    gw_job *j;
    bool failed;
    int count;
} parts;

/* Each instance of the answer goes to the pool, like one from C-MOVE. */
static int take_part(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len)
{
    parts *p = ctx;
    char head[1024];
    snprintf(head, sizeof head, "%.*s", (int)(hlen < sizeof head - 1 ? hlen : sizeof head - 1), headers);
    if (strcasestr(head, "content-type") && !strcasestr(head, "application/dicom"))
        return 0; /* not an instance (a PACS may add others): skip */
    p->count++;
    if (!gw_pool_submit(p->g->pool, p->j, body, len))
        p->failed = true;
    return p->failed;
}

static int on_data(void *ctx, const uint8_t *data, size_t n)
{
    return http_multipart_feed(ctx, data, n);
}

static char *wado_url(const gw_pacs *p, const gw_job *j, size_t i)
{
    size_t bl = strlen(p->url);
    while (bl && p->url[bl - 1] == '/')
        bl--;
    char *url = NULL;
    const char *series = j->series ? json_string_value(json_array_get(j->series, i)) : NULL;
    int n = series ? asprintf(&url, "%.*s/studies/%s/series/%s", (int)bl, p->url, j->study_uid, series)
                   : asprintf(&url, "%.*s/studies/%s", (int)bl, p->url, j->study_uid);
    return n < 0 ? NULL : url;
}

dqr_status gw_wado_retrieve(gw *g, gw_job *j, const gw_pacs *p, int *expected, dqr_error *err)
{
    char *pw = *p->username ? gw_pacs_password(g, p->id) : NULL;
    size_t n = j->series ? json_array_size(j->series) : 1;
    dqr_status st = DQR_OK;
    for (size_t i = 0; i < n && st == DQR_OK && !atomic_load(&j->cancel) && !g->stopping; i++) {
        char *url = wado_url(p, j, i), ct[512] = "";
        parts pt = {.g = g, .j = j};
        http_multipart mp;
        http_multipart_init(&mp, take_part, &pt);
        http_get req = {.url = url, .accept = "multipart/related; type=\"application/dicom\"",
                        .user = *p->username ? p->username : NULL, .password = pw, .timeout_s = g->cfg.query_timeout};
        http_answer ans;
        st = url ? http_get_stream(&req, on_data, &mp, &ans, ct, sizeof ct, err)
                 : dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        bool multipart = http_multipart_finish(&mp);
        if (st == DQR_OK && !multipart && ans.status != 204)
            st = dqr_error_set(err, DQR_E_PARSE, "the answer is not multipart/related (Content-Type %.300s)", ct);
        if (st == DQR_OK && pt.failed)
            st = dqr_error_set(err, DQR_E_NOMEM, "out of memory holding an instance");
        *expected += pt.count;
        free(url);
    }
    gw_wipe(pw);
    if (st != DQR_OK)
        dqr_error_prefix(err, "PACS %s (WADO-RS): ", p->label);
    return st;
}

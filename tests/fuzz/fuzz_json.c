/* fuzz_json.c — libFuzzer target for the text formats the gateway reads
 * from outside: REST request bodies (whatever jansson accepts goes through
 * the validators the handlers call: PACS description, availability
 * schedule, query identifier), the CSV of the bulk import, and multipart
 * WADO-RS answers (fed in pieces whose size the first byte sets). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/api/imports.h"
#include "gateway/pacs/pacs.h"
#include "gateway/pacs/query.h"
#include "gateway/pacs/schedule.h"
#include "web/multipart.h"

static int count_part(void *ctx, const char *headers, size_t hlen, const uint8_t *body, size_t len)
{
    size_t *total = ctx;
    *total += hlen + len + (size_t)(headers[0] == 0) + (len ? body[0] : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
        json_decref(gw_csv_records(text));
        free(text);
    }
    http_multipart mp;
    size_t total = 0, step = size ? (size_t)data[0] % 64 + 1 : 1;
    http_multipart_init(&mp, count_part, &total);
    mp.max_part = 1 << 16;
    for (size_t at = 0; at < size && http_multipart_feed(&mp, data + at, at + step > size ? size - at : step) == 0;)
        at += step;
    http_multipart_finish(&mp);
    json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!v)
        return 0;
    char msg[256];
    gw_pacs_check(v, msg, sizeof msg);
    gw_schedule s;
    json_t *sched = json_object_get(v, "schedule");
    if (gw_schedule_parse(sched ? sched : v, &s, msg, sizeof msg)) {
        json_t *out = gw_schedule_json(&s);
        for (int d = 0; d < 7; d++)
            gw_schedule_at(&s, d, 600);
        json_decref(out);
    }
    const char *level = json_string_value(json_object_get(v, "level"));
    dqr_error err = {0};
    dcm_dataset *id = gw_query_identifier(level ? level : "STUDY", json_object_get(v, "keys"), &err);
    dcm_dataset_free(id);
    json_decref(v);
    return 0;
}

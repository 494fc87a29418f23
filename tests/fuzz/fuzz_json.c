/* fuzz_json.c — libFuzzer target for the request bodies of the REST API:
 * whatever jansson accepts goes through the validators the handlers call
 * (PACS description, availability schedule, query identifier); the raw
 * bytes also go through the CSV reader of the bulk import. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/imports.h"
#include "gateway/pacs.h"
#include "gateway/query.h"
#include "gateway/schedule.h"

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

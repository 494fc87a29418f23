/* fuzz_csv.c — libFuzzer target for the CSV of the bulk import
 * (src/gateway/csv.c): RFC 4180 quoting, CRLF or LF, ragged rows, then the
 * repeated-session check over what was read as if each record were a
 * study. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/api/imports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *rows = gw_csv_records(text);
    free(text);
    if (json_is_array(rows)) {
        json_t *studies = json_array();
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) /* a record's cells as a study's subject and session */
        {
            json_t *cells = json_object_get(row, "fields"), *s = json_object();
            json_object_set(s, "subject", json_array_get(cells, 0));
            json_object_set(s, "session", json_array_get(cells, 1));
            json_object_set(s, "StudyInstanceUID", json_array_get(cells, 2));
            json_array_append_new(studies, s);
        }
        json_decref(gw_csv_repeated_sessions(studies));
        json_decref(studies);
    }
    json_decref(rows);
    return 0;
}

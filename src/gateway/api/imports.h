/* imports.h — what the import endpoints share with the CSV bulk import. */
#ifndef DQR_GW_IMPORTS_H
#define DQR_GW_IMPORTS_H

#include "gateway/internal.h"

/* The caller may import from pacs into project (granted, DQR-enabled);
 * false after answering. */
bool gw_import_target_ok(gw_req *r, int64_t pacs, const char *project);
/* Check studies and queue them as one request; answers 201 or an error. */
bool gw_import_queue(gw_req *r, int64_t pacs, const char *project, const json_t *studies, bool bulk);
/* A request with its sessions and summed counts (new reference), or NULL. */
json_t *gw_import_json(gw *g, int64_t id);

/* csv.c: the records of a CSV text (RFC 4180 quoting, CRLF or LF), as
 * [{"line": N, "fields": [text, ...]}] (new reference). Pure. */
json_t *gw_csv_records(const char *text);
/* csv.c: the session labels of studies that an earlier study has already,
 * once per repeat, in order (new reference). O(n): a hash set. */
json_t *gw_csv_repeated_sessions(const json_t *studies);
/* csv.c: the session label of match i of n for subject and session: the
 * session, with _1, _2 ... when a search found several studies; without a
 * session, SUBJECT_STUDYDATE (and _1, _2 ...). Into out (cap bytes). */
void gw_match_session(const char *subject, const char *session, const json_t *match, size_t i, size_t n, char *out,
                      size_t cap);
/* csv.c: studies (of an import request) where each one naming an
 * AccessionNumber instead of a StudyInstanceUID is replaced by the studies
 * of that accession the PACS finds, labelled as a CSV row's (new
 * reference); NULL after answering an error. */
json_t *gw_studies_by_accession(gw_req *r, int64_t pacs, const json_t *studies);
/* csv.c: POST /imports/csv/preview and POST /imports/csv. */
void gw_csv_preview(gw_req *r);
void gw_csv_import(gw_req *r);

#endif

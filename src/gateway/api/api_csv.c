/* csv.c — bulk import from the CSV XNAT DQR users already have. The header
 * names search columns (Accession Number, Study Date, Patient ID, Last Name,
 * First Name, DOB, Modality: any subset, any order, at least one) and
 * relabel columns (Subject, Session). Each row is resolved by a STUDY-level
 * query (the rows' queries asked at once, over several associations each
 * asking many: gw_query_batch); a row matching several studies gets sessions LABEL_1, LABEL_2, ...;
 * a row matching none, or malformed, is reported with its line number.
 * Nothing is queued while any row has an error.
 *
 * Linear in the size of the file: one scan, one field buffer for all
 * records, and repeated session labels found with a hash set rather than by
 * comparing each study with all the earlier ones. */
#include "gateway/import/archive.h"
#include "gateway/import/sessions.h"
#include "gateway/api/imports.h"
#include "gateway/pacs/query.h"
#include "gateway/import/job.h"
#include "gateway/import/registry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum col { C_ACC, C_DATE, C_PID, C_LAST, C_FIRST, C_DOB, C_MOD, C_SUBJECT, C_SESSION, C_COUNT };
static const char *const COLS[C_COUNT] = {"Accession Number", "Study Date", "Patient ID", "Last Name", "First Name",
                                          "DOB", "Modality", "Subject", "Session"};

/* One CSV record from *p (quotes, doubled quotes, CRLF); fields into a JSON
 * array of strings. buf holds the longest field (the caller sizes it to the
 * whole text). *line counts newlines. NULL at the end. */
static json_t *record(const char **p, char *buf, int *line)
{
    const char *s = *p;
    if (!*s)
        return NULL;
    json_t *fields = json_array();
    size_t n = 0;
    bool quoted = false, done = false;
    while (!done) {
        char c = *s;
        if (!c) {
            done = true;
        } else if (quoted) {
            s++;
            if (c == '"' && *s == '"')
                buf[n++] = '"', s++;
            else if (c == '"')
                quoted = false;
            else {
                if (c == '\n')
                    ++*line;
                buf[n++] = c;
            }
            continue;
        } else if (c == '"') {
            quoted = true, s++;
            continue;
        } else if (c == ',' || c == '\n' || (c == '\r' && s[1] == '\n')) {
            s += c == '\r' ? 2 : 1;
            done = c != ',';
            if (c != ',')
                ++*line;
        } else {
            buf[n++] = c, s++;
            continue;
        }
        while (n && buf[n - 1] == ' ')
            n--;
        size_t lead = 0;
        while (lead < n && buf[lead] == ' ')
            lead++;
        json_array_append_new(fields, json_stringn(buf + lead, n - lead));
        n = 0;
    }
    *p = s;
    return fields;
}

json_t *gw_csv_records(const char *text)
{
    json_t *out = json_array();
    char *buf = malloc(strlen(text) + 1);
    int line = 1;
    for (int at = line; buf; at = line) {
        json_t *rec = record(&text, buf, &line);
        if (!rec)
            break;
        json_array_append_new(out, json_pack("{s:i,s:o}", "line", at, "fields", rec));
    }
    free(buf);
    return out;
}

json_t *gw_csv_repeated_sessions(const json_t *studies)
{
    json_t *seen = json_object(), *repeated = json_array();
    size_t i;
    const json_t *study;
    json_array_foreach(studies, i, study)
    {
        const char *label = json_string_value(json_object_get(study, "session"));
        if (!label)
            continue;
        if (json_object_get(seen, label))
            json_array_append_new(repeated, json_string(label));
        else
            json_object_set_new(seen, label, json_true());
    }
    json_decref(seen);
    return repeated;
}

static int column_of(const char *name)
{
    for (int i = 0; i < C_COUNT; i++)
        if (strcasecmp(COLS[i], name) == 0)
            return i;
    return -1;
}

static bool date_ok(const char *d, bool range)
{
    size_t n = strlen(d);
    if (range && n == 17 && d[8] == '-')
        return strspn(d, "0123456789") == 8 && strspn(d + 9, "0123456789") == 8;
    return n == 8 && strspn(d, "0123456789") == 8;
}

/* The query keys of one row, or NULL with msg. */
static json_t *row_keys(const char *const *v, char *msg, size_t len)
{
    json_t *k = json_object();
    if (*v[C_ACC])
        json_object_set_new(k, "AccessionNumber", json_string(v[C_ACC]));
    if (*v[C_DATE] && !date_ok(v[C_DATE], true)) {
        snprintf(msg, len, "Study Date '%s' is not YYYYMMDD or YYYYMMDD-YYYYMMDD", v[C_DATE]);
        json_decref(k);
        return NULL;
    }
    if (*v[C_DATE])
        json_object_set_new(k, "StudyDate", json_string(v[C_DATE]));
    if (*v[C_PID])
        json_object_set_new(k, "PatientID", json_string(v[C_PID]));
    if (*v[C_LAST] || *v[C_FIRST]) {
        char name[256];
        snprintf(name, sizeof name, "%s%s%s", *v[C_LAST] ? v[C_LAST] : "*", *v[C_FIRST] ? "^" : "*",
                 *v[C_FIRST] ? v[C_FIRST] : "");
        json_object_set_new(k, "PatientName", json_string(name));
    }
    if (*v[C_DOB] && !date_ok(v[C_DOB], false)) {
        snprintf(msg, len, "DOB '%s' is not YYYYMMDD", v[C_DOB]);
        json_decref(k);
        return NULL;
    }
    if (*v[C_DOB])
        json_object_set_new(k, "PatientBirthDate", json_string(v[C_DOB]));
    if (*v[C_MOD])
        json_object_set_new(k, "Modality", json_string(v[C_MOD]));
    if (json_object_size(k) == 0) {
        snprintf(msg, len, "no search value in this row");
        json_decref(k);
        return NULL;
    }
    return k;
}

typedef struct resolved {
    json_t *rows, *studies;
    int errors;
} resolved;

static void row_error(resolved *out, int line, const char *msg)
{
    json_array_append_new(out->rows, json_pack("{s:i,s:s,s:[]}", "line", line, "error", msg, "matches"));
    out->errors++;
}

/* One data row between reading and resolving: its values, and its query
 * keys or why it has none. */
typedef struct pending {
    int line;
    const char *v[C_COUNT];
    json_t *keys; /* NULL: msg says what is wrong with the row */
    char msg[300];
} pending;

static void row_check(pending *row)
{
    const char *const *v = row->v;
    if (!gw_label_ok(v[C_SUBJECT]))
        snprintf(row->msg, sizeof row->msg, "Subject '%.64s' must be 1 to 64 letters, digits, _ or -", v[C_SUBJECT]);
    else
        row->keys = row_keys(v, row->msg, sizeof row->msg);
}

/* Labels for each match of one row's query (and what the registry of
 * returning patients says of them). */
static void resolve_row(gw_req *r, const char *project, const pending *row, gw_query_job *job, resolved *out)
{
    char msg[300];
    const char *const *v = row->v;
    gw_query_result qr = job->result;
    if (job->status != DQR_OK || json_array_size(qr.results) == 0) {
        snprintf(msg, sizeof msg, "%.299s", job->status ? job->err.message : "no study matches this row");
        row_error(out, row->line, msg);
        json_decref(qr.results);
        return;
    }
    size_t n = json_array_size(qr.results), i;
    json_t *m, *matches = json_array();
    bool force = json_is_true(json_object_get(r->body, "force"));
    const char *conflict = NULL;
    json_array_foreach(qr.results, i, m)
    {
        char session[80];
        gw_match_session(v[C_SUBJECT], v[C_SESSION], m, i, n, session, sizeof session);
        json_t *study = json_pack("{s:O,s:s,s:s}", "StudyInstanceUID", json_object_get(m, "StudyInstanceUID"),
                                  "subject", v[C_SUBJECT], "session", session);
        json_t *shown = json_deep_copy(m);
        json_object_set_new(shown, "subject", json_string(v[C_SUBJECT]));
        json_object_set_new(shown, "session", json_string(session));
        if (gw_registry_csv_match(r->g, project, m, v[C_SUBJECT], study, shown, force) && !conflict)
            conflict = json_string_value(json_object_get(shown, "conflict"));
        json_array_append_new(matches, shown);
        json_array_append_new(out->studies, study);
    }
    json_decref(qr.results);
    json_t *row_out = json_pack("{s:i,s:o}", "line", row->line, "matches", matches);
    if (qr.truncated)
        json_object_set_new(row_out, "warning", json_string(qr.message));
    if (conflict)
        json_object_set_new(row_out, "error", json_string(conflict)), out->errors++;
    json_array_append_new(out->rows, row_out);
}

/* The data rows of records (blank ones left out) under the header's map. */
static pending *read_rows(const json_t *records, const int *map, size_t ncol, size_t *count)
{
    size_t total = json_array_size(records), k = 0;
    pending *rows = calloc(total ? total : 1, sizeof *rows);
    for (size_t n = 1; rows && n < total; n++) {
        json_t *rec = json_array_get(records, n), *fields = json_object_get(rec, "fields");
        pending *row = &rows[k];
        row->line = (int)json_integer_value(json_object_get(rec, "line"));
        for (int c = 0; c < C_COUNT; c++)
            row->v[c] = "";
        bool blank = true;
        for (size_t i = 0; i < json_array_size(fields) && i < ncol; i++) {
            row->v[map[i]] = json_string_value(json_array_get(fields, i));
            blank = blank && !*row->v[map[i]];
        }
        if (blank)
            continue;
        k++;
        if (json_array_size(fields) != ncol)
            snprintf(row->msg, sizeof row->msg, "this row has a different number of columns than the header");
        else
            row_check(row);
    }
    *count = k;
    return rows;
}

/* Every row with keys asked at once (gw_query_batch), then each resolved
 * in the file's order. */
static void resolve_rows(gw_req *r, const gw_pacs *p, const char *project, pending *rows, size_t n, resolved *out)
{
    gw_query_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    size_t q = 0;
    for (size_t i = 0; jobs && i < n; i++)
        if (rows[i].keys)
            jobs[q++].keys = rows[i].keys;
    if (jobs)
        gw_query_batch(r->g, r->user.id, p, "STUDY", jobs, q, 100);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!rows[i].keys || !jobs)
            row_error(out, rows[i].line, rows[i].keys ? "out of memory" : rows[i].msg);
        else
            resolve_row(r, project, &rows[i], &jobs[k++], out);
        json_decref(rows[i].keys);
    }
    free(jobs);
}

/* Parse and resolve the body's CSV; false after answering an error. */
static bool resolve(gw_req *r, int64_t *pacs_id, const char **project, resolved *out)
{
    const char *text = json_string_value(json_object_get(r->body, "csv"));
    json_t *pacs = json_object_get(r->body, "pacs");
    *project = json_string_value(json_object_get(r->body, "project"));
    if (!text || !json_is_integer(pacs) || !*project)
        return gw_fail(r, 400, "send {\"pacs\": ID, \"project\": \"P1\", \"csv\": \"Patient ID,Subject,Session\\n...\"}");
    *pacs_id = json_integer_value(pacs);
    gw_pacs p;
    dqr_error err;
    if (!gw_import_target_ok(r, *pacs_id, *project) || gw_pacs_load(r->g, *pacs_id, &p, &err) != DQR_OK)
        return http_status(r->http) ? false : gw_fail(r, 404, "no PACS %lld", (long long)*pacs_id);
    json_t *records = gw_csv_records(text);
    json_t *head = json_object_get(json_array_get(records, 0), "fields");
    size_t ncol = json_array_size(head);
    int map[16];
    bool search = false, subject = false;
    for (size_t i = 0; i < ncol && i < 16; i++) {
        map[i] = column_of(json_string_value(json_array_get(head, i)));
        if (map[i] < 0) {
            bool r_ok = gw_fail(r, 400, "line 1: unknown column '%s' (the DQR columns are Accession Number, Study "
                                        "Date, Patient ID, Last Name, First Name, DOB, Modality, Subject, Session)",
                                json_string_value(json_array_get(head, i)));
            json_decref(records);
            return r_ok;
        }
        search = search || map[i] < C_SUBJECT;
        subject = subject || map[i] == C_SUBJECT;
    }
    if (!search || !subject || ncol > 16) {
        json_decref(records);
        return gw_fail(r, 400, "line 1: the header needs a Subject column and at least one search column");
    }
    *out = (resolved){json_array(), json_array(), 0};
    size_t nrows = 0;
    pending *rows = read_rows(records, map, ncol, &nrows);
    if (rows)
        resolve_rows(r, &p, *project, rows, nrows, out);
    else
        row_error(out, 0, "out of memory");
    free(rows);
    json_decref(records);
    /* session labels must be unique in the whole file, and not another
     * subject's already (one query per row; repeats found by hashing) */
    json_t *study, *repeated = gw_csv_repeated_sessions(out->studies), *label;
    size_t i;
    json_array_foreach(out->studies, i, study)
    {
        char msg[300];
        if (gw_session_taken(r->g, *project, study, msg, sizeof msg))
            row_error(out, 0, msg);
    }
    json_array_foreach(repeated, i, label)
    {
        char msg[200];
        snprintf(msg, sizeof msg, "session label '%s' comes out twice: give the rows distinct Session values",
                 json_string_value(label));
        row_error(out, 0, msg);
    }
    json_decref(repeated);
    return true;
}

static json_t *report(resolved *out)
{
    return json_pack("{s:o,s:o,s:i,s:I}", "rows", out->rows, "studies", out->studies, "errors", out->errors, "sessions",
                     (json_int_t)json_array_size(out->studies));
}

void gw_csv_preview(gw_req *r)
{
    int64_t pacs;
    const char *project;
    resolved out;
    if (resolve(r, &pacs, &project, &out))
        gw_reply(r, 200, report(&out));
}

void gw_csv_import(gw_req *r)
{
    int64_t pacs;
    const char *project;
    resolved out;
    if (!resolve(r, &pacs, &project, &out))
        return;
    if (out.errors || json_array_size(out.studies) == 0) {
        json_t *o = report(&out);
        json_object_set_new(o, "error", json_string(out.errors ? "some rows could not be resolved: nothing was queued"
                                                               : "no row resolved to a study: nothing was queued"));
        gw_reply(r, 400, o);
        return;
    }
    gw_import_queue(r, pacs, project, out.studies, true);
    json_decref(out.rows), json_decref(out.studies);
}

/* api_registry.c — the REST side of the pseudonym registry (registry.h):
 * a project's settings (returning-patient policy, per-patient date shift), and the re-identification key
 * export (subject label -> original PatientID and issuer), which only
 * admins with the phi permission may take, each export audited before a
 * value is shown. */
#include "gateway/import/registry.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"

#include <stdlib.h>
#include <string.h>

enum { SHIFT_LIMIT = 36500 }; /* a century either way */

static bool project_exists(gw *g, const char *project)
{
    int64_t n = 0;
    return store_int(g->db, "SELECT COUNT(*) FROM projects WHERE id = ?", (store_val[]){STORE_S(project)}, 1, &n,
                     NULL) == DQR_OK &&
           n > 0;
}

/* The project's registry settings, or NULL when there is no such project. */
static json_t *settings_json(gw *g, const char *project)
{
    json_t *o = gw_row(g,
                       "SELECT id AS project, returning_patients, date_shift_min AS min_days, date_shift_max AS max_days "
                       "FROM projects WHERE id = ?",
                       (store_val[]){STORE_S(project)}, 1, NULL);
    if (!o)
        return NULL;
    bool on = json_is_integer(json_object_get(o, "min_days")) && json_is_integer(json_object_get(o, "max_days"));
    json_object_set_new(o, "date_shift", json_string(on ? "per_patient" : "none"));
    if (!on)
        json_object_del(o, "min_days"), json_object_del(o, "max_days");
    int64_t n = 0;
    store_int(g->db, "SELECT COUNT(*) FROM subject_registry WHERE project = ?", (store_val[]){STORE_S(project)}, 1, &n,
              NULL);
    json_object_set_new(o, "known_patients", json_integer((json_int_t)n));
    return o;
}

static void settings_get(gw_req *r)
{
    json_t *o = gw_may_use(r, "project", r->arg[0]) ? settings_json(r->g, r->arg[0]) : NULL;
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
}

/* What the body changes, checked: false after answering 400. *policy NULL
 * and *shift -1 when absent; *shift 1 with *lo..*hi, 0 for none. */
static bool settings_of(gw_req *r, const char **policy, int *shift, int64_t *lo, int64_t *hi)
{
    json_t *p = json_object_get(r->body, "returning_patients"), *d = json_object_get(r->body, "date_shift");
    json_t *a = json_object_get(r->body, "min_days"), *b = json_object_get(r->body, "max_days");
    *policy = json_string_value(p), *shift = -1;
    if ((!p && !d) || (p && (!*policy || (strcmp(*policy, "propose") && strcmp(*policy, "enforce")))))
        return gw_fail(r, 400, "send {\"returning_patients\": \"propose\" or \"enforce\"} and/or {\"date_shift\": "
                               "\"per_patient\", \"min_days\": -365, \"max_days\": -1} (or \"date_shift\": \"none\")");
    if (!d)
        return true;
    const char *mode = json_string_value(d);
    if (!mode || (strcmp(mode, "per_patient") && strcmp(mode, "none")))
        return gw_fail(r, 400, "'date_shift' is \"per_patient\" or \"none\"");
    *shift = strcmp(mode, "per_patient") == 0;
    *lo = json_integer_value(a), *hi = json_integer_value(b);
    if (*shift && (!json_is_integer(a) || !json_is_integer(b) || *lo > *hi || *lo < -SHIFT_LIMIT || *hi > SHIFT_LIMIT))
        return gw_fail(r, 400, "min_days and max_days are whole days, min_days <= max_days, within %d days of 0",
                       SHIFT_LIMIT);
    return true;
}

static void settings_put(gw_req *r)
{
    const char *policy;
    int shift;
    int64_t lo = 0, hi = 0, n = 0;
    if (!settings_of(r, &policy, &shift, &lo, &hi))
        return;
    dqr_error err;
    if (store_exec(r->g->db,
                   "UPDATE projects SET returning_patients = COALESCE(?, returning_patients), "
                   "date_shift_min = CASE WHEN ? < 0 THEN date_shift_min ELSE ? END, "
                   "date_shift_max = CASE WHEN ? < 0 THEN date_shift_max ELSE ? END, updated = ? WHERE id = ?",
                   (store_val[]){STORE_S(policy), STORE_I(shift), shift == 1 ? STORE_I(lo) : STORE_S(NULL),
                                 STORE_I(shift), shift == 1 ? STORE_I(hi) : STORE_S(NULL), STORE_I(time(NULL)),
                                 STORE_S(r->arg[0])},
                   7, NULL, NULL, &n, &err) != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    if (!n) {
        gw_fail(r, 404, "no project %s", r->arg[0]);
        return;
    }
    gw_audit(r->g, r->user.id, "project_update", r->arg[0]);
    gw_reply(r, 200, settings_json(r->g, r->arg[0]));
}

/* For the import form: which of the patients (query answers) the project
 * knows, and under which label. */
static void lookup(gw_req *r)
{
    json_t *list = json_object_get(r->body, "patients");
    if (!gw_may_use(r, "project", r->arg[0]) || !project_exists(r->g, r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    if (!json_is_array(list) || json_array_size(list) > 10000) {
        gw_fail(r, 400, "send {\"patients\": [{\"PatientID\", \"IssuerOfPatientID\"?}, ...]} (at most 10000)");
        return;
    }
    json_t *known = json_array(), *p;
    size_t i;
    char msg[8];
    json_array_foreach(list, i, p)
    {
        json_t *row = json_is_object(p) ? json_deep_copy(p) : json_object();
        gw_registry_annotate(r->g, r->arg[0], row, NULL, msg, sizeof msg);
        json_t *k = json_object_get(row, "known_subject");
        json_array_append_new(known, k ? json_incref(k) : json_null());
        json_decref(row);
    }
    gw_reply(r, 200, json_pack("{s:s,s:o,s:b}", "project", r->arg[0], "known_subjects", known, "enforced",
                               gw_registry_enforced(r->g, r->arg[0])));
}

/* ---- the re-identification key ---- */

/* The registry of project opened: [{"subject","PatientID","IssuerOfPatientID","date_shift"?}]. */
static json_t *opened(gw *g, const char *project, dqr_error *err)
{
    json_t *rows = gw_rows(g, "SELECT subject, orig_enc FROM subject_registry WHERE project = ? ORDER BY subject, created",
                           (store_val[]){STORE_S(project)}, 1, err);
    json_t *out = rows ? json_array() : NULL, *row;
    size_t i;
    json_array_foreach(rows, i, row)
    {
        char *plain = NULL;
        json_t *o = NULL;
        if (store_vault_unseal(g->vault, json_string_value(json_object_get(row, "orig_enc")), &plain, NULL, err) ==
            DQR_OK)
            o = json_loads(plain, 0, NULL);
        gw_wipe(plain);
        if (!o) {
            json_decref(rows), json_decref(out);
            return NULL;
        }
        json_object_set(o, "subject", json_object_get(row, "subject"));
        json_array_append_new(out, o);
    }
    json_decref(rows);
    return out;
}

/* One CSV field, quoted when it needs to be (and a leading = + - @ made
 * text, so that a spreadsheet does not run it as a formula). */
static void csv_field(FILE *f, const char *s, bool last)
{
    bool formula = s && strchr("=+-@", *s) && *s;
    bool quote = formula || (s && strpbrk(s, ",\"\r\n"));
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
    fputc(last ? '\n' : ',', f);
}

static void reply_csv(gw_req *r, json_t *list)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        gw_fail(r, 500, "out of memory");
        return;
    }
    fputs("subject,PatientID,IssuerOfPatientID,date_shift\n", f);
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        char shift[24] = "";
        json_t *s = json_object_get(o, "date_shift");
        if (json_is_integer(s))
            snprintf(shift, sizeof shift, "%lld", (long long)json_integer_value(s));
        csv_field(f, json_string_value(json_object_get(o, "subject")), false);
        csv_field(f, json_string_value(json_object_get(o, "PatientID")), false);
        csv_field(f, json_string_value(json_object_get(o, "IssuerOfPatientID")), false);
        fprintf(f, "%s\n", shift); /* a number: no formula guard */
    }
    fclose(f);
    http_add_header(r->http, "Content-Disposition", "attachment; filename=\"reidentification.csv\"");
    http_respond(r->http, 200, "text/csv; charset=utf-8", text, len);
}

static void reidentification(gw_req *r)
{
    const char *project = r->arg[0], *format = http_query(r->http, "format");
    if (!r->user.phi) {
        gw_audit_ev e = gw_audit_of(r, "phi_export_reidentification", project);
        e.outcome = 4;
        gw_audit_event(r->g, &e);
        gw_fail(r, 403, "the re-identification key needs the phi permission");
        return;
    }
    if (!project_exists(r->g, project)) {
        gw_fail(r, 404, "no project %s", project);
        return;
    }
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        gw_fail(r, 400, "format is csv or json");
        return;
    }
    dqr_error err = {0};
    json_t *list = opened(r->g, project, &err);
    if (!list) {
        gw_fail(r, 500, "the registry of project %s cannot be opened: %s", project, err.message);
        return;
    }
    char count[24];
    snprintf(count, sizeof count, "%zu", json_array_size(list));
    gw_audit_ev e = gw_audit_of(r, "phi_export_reidentification", project);
    e.detail[0][0] = "subjects", e.detail[0][1] = count;
    if (gw_audit_event(r->g, &e) != DQR_OK) { /* no original is shown that the audit trail does not record */
        json_decref(list);
        gw_fail(r, 500, "the audit trail cannot be written: the re-identification key is not shown");
        return;
    }
    if (format && strcmp(format, "csv") == 0) {
        reply_csv(r, list);
        json_decref(list);
    } else {
        gw_reply(r, 200, json_pack("{s:s,s:o}", "project", project, "subjects", list));
    }
}

const gw_route gw_routes_registry[] = {
    {"GET", "/api/v1/projects/{}/registry", GW_USER, settings_get},
    {"PUT", "/api/v1/projects/{}/registry", GW_ADMIN, settings_put},
    {"POST", "/api/v1/projects/{}/registry/lookup", GW_USER, lookup},
    {"GET", "/api/v1/projects/{}/reidentification", GW_ADMIN, reidentification},
    {NULL, NULL, GW_PUBLIC, NULL},
};

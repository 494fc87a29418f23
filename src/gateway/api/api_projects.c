/* api_projects.c — projects (DQR enabled, their DicomEdit script and pixel
 * rules), the
 * site-wide script, and script linting. Every script is compiled before it
 * is stored: a script that would fail at import time is refused at upload,
 * with its line:column. Lint also runs the script over the built-in sample,
 * as an import would (after the site step with "with_site"), and lists its
 * run-time errors. Pixel rules (CTP DicomPixelAnonymizer format) are
 * compiled on save the same way: a 400 with line and column. */
#include "anon/anon.h"
#include "anon/annex_e_table.h"
#include "gateway/import/deid.h"
#include "gateway/internal.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"

#include <stdio.h>
#include <string.h>

#define PROJECT_COLS                                                                                       \
    "id, name, description, dqr_enabled, script IS NOT NULL AS has_script, "                               \
    "pixel_rules IS NOT NULL AS has_pixel_rules, created, updated"

static void add_untouched(void *ctx, const struct anon_annex_e_row *row)
{
    char tag[12];
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s}", "tag", dcm_tag_str(row->tag, tag), "name", row->name,
                                         "action", row->basic));
}

/* Compile text: NULL when fine, else answers 400 with line and column and
 * returns false. With lint, *report gets {"version", "untouched": [...]}. */
static bool check_script(gw_req *r, const char *text, json_t **report)
{
    dqr_error err = {0};
    anon_script *s = anon_script_compile(text, strlen(text), "script", &err);
    if (!s) {
        gw_fail_script(r, err.message);
        return false;
    }
    if (report) {
        json_t *list = json_array();
        const anon_script *one[1] = {s};
        anon_lint_untouched(one, 1, add_untouched, list);
        *report = json_pack("{s:b,s:s,s:o}", "ok", 1, "version", anon_script_version(s), "untouched", list);
    }
    anon_script_free(s);
    return true;
}

static bool script_ok(gw_req *r, const char *text)
{
    return check_script(r, text, NULL);
}

/* Compile pixel rules: true when fine, else answers 400 with line and column. */
static bool pixel_rules_ok(gw_req *r, const char *text)
{
    dqr_error err = {0};
    anon_pixel_rules *p = anon_pixel_rules_parse(text, strlen(text), "pixel_rules", &err);
    if (!p) {
        gw_fail_script(r, err.message);
        return false;
    }
    anon_pixel_rules_free(p);
    return true;
}

/* A text member of the body (key, described as what): a string, or null to
 * remove; *present says whether it was sent; check compiles it. False
 * after answering 400. */
static bool body_text(gw_req *r, const char *key, const char *what, bool (*check)(gw_req *, const char *),
                      const char **text, bool *present)
{
    json_t *v = r->body ? json_object_get(r->body, key) : NULL;
    *present = v != NULL;
    *text = json_string_value(v);
    if (v && !json_is_null(v) && !json_is_string(v))
        return gw_fail(r, 400, "'%s' must be %s, or null", key, what);
    return !*text || check(r, *text);
}

static bool body_script(gw_req *r, const char **text, bool *present)
{
    return body_text(r, "script", "the DicomEdit script text", script_ok, text, present);
}

static bool body_pixel_rules(gw_req *r, const char **text, bool *present)
{
    return body_text(r, "pixel_rules", "the pixel rules text (CTP DicomPixelAnonymizer format)", pixel_rules_ok,
                     text, present);
}

static bool project_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n <= 64 &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static void project_show(gw_req *r, const char *id, int status)
{
    dqr_error err;
    json_t *o = gw_row(r->g, "SELECT " PROJECT_COLS " FROM projects WHERE id = ?", (store_val[]){STORE_S(id)}, 1, &err);
    o ? gw_reply(r, status, o) : (void)gw_fail(r, 404, "no project %s", id);
}

static void project_list(gw_req *r)
{
    dqr_error err;
    json_t *a = r->user.admin ? gw_rows(r->g, "SELECT " PROJECT_COLS " FROM projects ORDER BY id", NULL, 0, &err)
                              : gw_rows(r->g,
                                        "SELECT " PROJECT_COLS " FROM projects WHERE id IN (SELECT target FROM grants "
                                        "WHERE user_id = ? AND kind = 'project') ORDER BY id",
                                        (store_val[]){STORE_I(r->user.id)}, 1, &err);
    a ? gw_reply(r, 200, json_pack("{s:o}", "projects", a)) : gw_fail_err(r, &err);
}

/* *out: 1 true, 0 false, -1 absent; set on every return, errors included. */
static bool bool_member(gw_req *r, const char *key, int *out)
{
    json_t *v = r->body ? json_object_get(r->body, key) : NULL;
    *out = -1;
    if (v && !json_is_boolean(v))
        return gw_fail(r, 400, "'%s' must be true or false", key);
    if (v)
        *out = json_is_true(v);
    return true;
}

static void project_create(gw_req *r)
{
    bool bad = false, has_script, has_rules;
    const char *id = gw_body_str(r, "id", &bad), *name = gw_body_str(r, "name", &bad),
               *desc = gw_body_str(r, "description", &bad), *script, *rules;
    int enabled;
    if (bad || !bool_member(r, "dqr_enabled", &enabled))
        return;
    if (!project_id_ok(id)) {
        gw_fail(r, 400, "'id' is required: 1 to 64 letters, digits, _ or -");
        return;
    }
    if (!body_script(r, &script, &has_script) || !body_pixel_rules(r, &rules, &has_rules))
        return;
    dqr_error err;
    int64_t now = time(NULL);
    dqr_status st = store_exec(r->g->db,
                               "INSERT INTO projects(id, name, description, dqr_enabled, script, pixel_rules, "
                               "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (store_val[]){STORE_S(id), STORE_S(name && *name ? name : id), STORE_S(desc),
                                             STORE_I(enabled > 0), STORE_S(script), STORE_S(rules), STORE_I(now),
                                             STORE_I(now)},
                               8, NULL, NULL, NULL, &err);
    if (st == DQR_E_CONFLICT) {
        gw_fail(r, 409, "project '%s' exists already", id);
        return;
    }
    if (st != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, "project_create", id);
    project_show(r, id, 201);
}

static void project_get(gw_req *r)
{
    if (!gw_may_use(r, "project", r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    project_show(r, r->arg[0], 200);
}

static void project_update(gw_req *r)
{
    bool bad = false, has_script, has_rules;
    const char *name = gw_body_str(r, "name", &bad), *desc = gw_body_str(r, "description", &bad), *script, *rules;
    int enabled;
    if (bad || !bool_member(r, "dqr_enabled", &enabled) || !body_script(r, &script, &has_script) ||
        !body_pixel_rules(r, &rules, &has_rules))
        return;
    int64_t n = 0;
    dqr_error err;
    if (store_exec(r->g->db,
                   "UPDATE projects SET name = COALESCE(?, name), description = COALESCE(?, description), "
                   "dqr_enabled = CASE WHEN ? < 0 THEN dqr_enabled ELSE ? END, "
                   "script = CASE WHEN ? = 1 THEN ? ELSE script END, "
                   "pixel_rules = CASE WHEN ? = 1 THEN ? ELSE pixel_rules END, updated = ? WHERE id = ?",
                   (store_val[]){STORE_S(name), STORE_S(desc), STORE_I(enabled), STORE_I(enabled), STORE_I(has_script),
                                 STORE_S(script), STORE_I(has_rules), STORE_S(rules), STORE_I(time(NULL)),
                                 STORE_S(r->arg[0])},
                   10, NULL, NULL, &n, &err) != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    if (!n) {
        gw_fail(r, 404, "no project %s", r->arg[0]);
        return;
    }
    gw_audit(r->g, r->user.id, has_script ? "project_script" : has_rules ? "project_pixel_rules" : "project_update",
             r->arg[0]);
    project_show(r, r->arg[0], 200);
}

static void project_delete(gw_req *r)
{
    int64_t n = 0;
    store_exec(r->g->db, "DELETE FROM projects WHERE id = ?", (store_val[]){STORE_S(r->arg[0])}, 1, NULL, NULL, &n,
               NULL);
    if (!n) {
        gw_fail(r, 404, "no project %s", r->arg[0]);
        return;
    }
    gw_grants_drop(r->g, "project", r->arg[0]); /* the id the DELETE above matched exactly */
    gw_audit(r->g, r->user.id, "project_delete", r->arg[0]);
    gw_reply(r, 200, json_pack("{s:b}", "ok", 1));
}

static void project_script_get(gw_req *r)
{
    if (!gw_may_use(r, "project", r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    dqr_error err;
    json_t *o = gw_row(r->g, "SELECT id AS project, script FROM projects WHERE id = ?", (store_val[]){STORE_S(r->arg[0])},
                       1, &err);
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no project %s", r->arg[0]);
}

static void project_pixel_rules_get(gw_req *r)
{
    if (!gw_may_use(r, "project", r->arg[0])) {
        gw_fail(r, 404, "no project %s that you may use", r->arg[0]);
        return;
    }
    dqr_error err;
    json_t *o = gw_row(r->g, "SELECT id AS project, pixel_rules FROM projects WHERE id = ?",
                       (store_val[]){STORE_S(r->arg[0])}, 1, &err);
    o ? gw_reply(r, 200, o) : (void)gw_fail(r, 404, "no project %s", r->arg[0]);
}

static void project_pixel_rules_put(gw_req *r)
{
    if (!r->body || !json_object_get(r->body, "pixel_rules")) {
        gw_fail(r, 400, "send {\"pixel_rules\": \"{ Modality.equals(\\\"US\\\") } (0,0,640,40)\"} (null removes them)");
        return;
    }
    project_update(r);
}

static void project_script_put(gw_req *r)
{
    if (!r->body || !json_object_get(r->body, "script")) {
        gw_fail(r, 400, "send {\"script\": \"version \\\"6.3\\\"\\n...\"} (null removes the script)");
        return;
    }
    project_update(r);
}

static const char SITE_DEFAULT[] = "built-in PS3.15 Annex E Basic profile, then XNAT's labels "
                                   "(StudyDescription := project, PatientName := subject, PatientID := session)";

static void site_script_get(gw_req *r)
{
    dqr_error err;
    json_t *o = gw_row(r->g, "SELECT value AS script FROM settings WHERE key = 'site_script'", NULL, 0, &err);
    if (!o)
        o = json_pack("{s:n}", "script");
    json_object_set_new(o, "default", json_string(SITE_DEFAULT));
    json_object_set_new(o, "uses_default", json_boolean(json_is_null(json_object_get(o, "script"))));
    gw_reply(r, 200, o);
}

static void site_script_put(gw_req *r)
{
    const char *script;
    bool present;
    if (!body_script(r, &script, &present))
        return;
    if (!present) {
        gw_fail(r, 400, "send {\"script\": TEXT}, or {\"script\": null} to go back to the default");
        return;
    }
    dqr_error err;
    dqr_status st = script ? store_exec(r->g->db,
                                        "INSERT INTO settings(key, value) VALUES ('site_script', ?) "
                                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                        (store_val[]){STORE_S(script)}, 1, NULL, NULL, NULL, &err)
                           : store_exec(r->g->db, "DELETE FROM settings WHERE key = 'site_script'", NULL, 0, NULL, NULL,
                                        NULL, &err);
    if (st != DQR_OK) {
        gw_fail_err(r, &err);
        return;
    }
    gw_audit(r->g, r->user.id, "site_script", script ? "set" : "default");
    site_script_get(r);
}

/* With "with_site": what the site step and this script together leave
 * untouched. The default site step (the Basic profile) handles every
 * Annex E attribute; a site script is linted with the project's. */
static void lint_with_site(gw_req *r, const char *text, json_t *report)
{
    json_t *row = gw_row(r->g, "SELECT value FROM settings WHERE key = 'site_script'", NULL, 0, NULL);
    const char *site = json_string_value(json_object_get(row, "value"));
    dqr_error err = {0};
    anon_script *a = site ? anon_script_compile(site, strlen(site), "site script", &err) : NULL;
    anon_script *b = anon_script_compile(text, strlen(text), "script", &err);
    json_t *list = json_array();
    if (a && b) {
        const anon_script *both[2] = {a, b};
        anon_lint_untouched(both, 2, add_untouched, list);
    }
    json_object_set_new(report, "untouched", list);
    json_object_set_new(report, "site", json_string(site ? "site script" : "default: the Basic profile handles every Annex E attribute"));
    anon_script_free(a), anon_script_free(b);
    json_decref(row);
}

static void add_issue(void *ctx, const anon_lint_issue *is)
{
    json_array_append_new(ctx, json_pack("{s:s,s:i,s:i,s:s,s:s,s:s,s:s}", "script", is->script, "line", is->line,
                                         "column", is->column, "message", is->what, "sample", is->sample, "kind",
                                         is->rejected ? "rejected" : "run-time", "text", is->text));
}

/* The script alone, as an engine of one step with the import's variables. */
static dqr_status script_alone(gw *g, const char *text, const char *project, anon_script **sc, anon_engine **e,
                               anon_session **as, dqr_error *err)
{
    anon_settings set = {.lookup_path = NULL};
    memcpy(set.uid_secret, g->uid_secret, sizeof set.uid_secret);
    dqr_status st = (*sc = anon_script_compile(text, strlen(text), "script", err)) ? DQR_OK : err->code;
    if (st == DQR_OK)
        st = (*e = anon_engine_new(&set, err)) ? anon_engine_add_script(*e, *sc, err) : err->code;
    if (st == DQR_OK)
        st = (*as = anon_session_new(*e, err)) ? DQR_OK : err->code;
    const char *vars[3][2] = {{"project", project}, {"subject", "SUBJECT"}, {"session", "SESSION"}};
    for (int i = 0; i < 3 && st == DQR_OK; i++)
        st = anon_session_set_var(*as, vars[i][0], vars[i][1], err);
    return st;
}

/* report["runtime"]: what running the script over the built-in sample
 * finds; "ok" is false when a step fails there. */
static void lint_run(gw_req *r, const char *text, bool with_site, json_t *report)
{
    const char *project = json_string_value(json_object_get(r->body, "project"));
    project = project && *project ? project : "PROJECT";
    gw_deid d = {0};
    anon_script *sc = NULL;
    anon_engine *e = NULL;
    anon_session *as = NULL;
    dqr_error err = {0};
    dqr_status st = with_site ? gw_deid_build(r->g, project, text, "SUBJECT", "SESSION", &d, &err)
                              : script_alone(r->g, text, project, &sc, &e, &as, &err);
    json_t *list = json_array();
    dcm_dataset *sample = anon_sample_dataset();
    size_t failed = 0;
    if (st == DQR_OK && sample)
        failed = anon_lint_run(with_site ? d.as : as, sample, "built-in", add_issue, list);
    else /* a site script that no longer compiles, or no memory */
        failed = 1, json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "kind", "run-time", "message",
                                                          err.message[0] ? err.message : "out of memory", "text",
                                                          err.message[0] ? err.message : "out of memory"));
    json_object_set_new(report, "runtime", list);
    json_object_set_new(report, "ok", json_boolean(failed == 0));
    dcm_dataset_free(sample);
    anon_session_free(as), anon_engine_free(e), anon_script_free(sc);
    gw_deid_free(&d);
}

static void lint(gw_req *r)
{
    const char *text = r->body ? json_string_value(json_object_get(r->body, "script")) : NULL;
    json_t *report = NULL;
    if (!text)
        gw_fail(r, 400, "send {\"script\": TEXT}");
    else if (check_script(r, text, &report)) {
        bool with_site = json_is_true(json_object_get(r->body, "with_site"));
        if (with_site)
            lint_with_site(r, text, report);
        lint_run(r, text, with_site, report);
        gw_reply(r, 200, report);
    }
}

const gw_route gw_routes_projects[] = {
    {"GET", "/api/v1/projects", GW_USER, project_list},
    {"POST", "/api/v1/projects", GW_ADMIN, project_create},
    {"GET", "/api/v1/projects/{}", GW_USER, project_get},
    {"PUT", "/api/v1/projects/{}", GW_ADMIN, project_update},
    {"DELETE", "/api/v1/projects/{}", GW_ADMIN, project_delete},
    {"GET", "/api/v1/projects/{}/script", GW_USER, project_script_get},
    {"PUT", "/api/v1/projects/{}/script", GW_ADMIN, project_script_put},
    {"GET", "/api/v1/projects/{}/pixel-rules", GW_USER, project_pixel_rules_get},
    {"PUT", "/api/v1/projects/{}/pixel-rules", GW_ADMIN, project_pixel_rules_put},
    {"GET", "/api/v1/settings/site-script", GW_USER, site_script_get},
    {"PUT", "/api/v1/settings/site-script", GW_ADMIN, site_script_put},
    {"POST", "/api/v1/scripts/lint", GW_USER, lint},
    {NULL, NULL, GW_PUBLIC, NULL},
};

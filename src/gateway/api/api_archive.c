/* api_archive.c — browsing the de-identified archive (projects → subjects →
 * sessions → series), downloading a session as a zip, deleting one. Every
 * value shown comes from the index of de-identified instances. */
#include "dicom/fs.h"
#include "gateway/import/job.h"
#include "gateway/accounts/accounts.h"
#include "gateway/accounts/audit.h"
#include "gateway/api/routes.h"
#include "gateway/api/pixels.h"
#include "gateway/import/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* From the per-session summary (migration 18): one row per session, not
 * per instance, so the list does not grow with the archive's size. */
static void subjects(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT subject AS label, COUNT(*) AS sessions, SUM(instances) AS instances, "
                        "SUM(bytes) AS bytes, MAX(updated) AS updated FROM archive_sessions WHERE project = ? "
                        "GROUP BY subject ORDER BY subject",
                        (store_val[]){STORE_S(r->arg[0])}, 1, &err);
    a ? gw_reply(r, 200, json_pack("{s:s,s:o}", "project", r->arg[0], "subjects", a)) : gw_fail_err(r, &err);
}

static void sessions(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    dqr_error err;
    json_t *a = gw_rows(r->g,
                        "SELECT session AS label, subject, MIN(study_date) AS date, MIN(modality) AS modality, "
                        "COUNT(DISTINCT series_uid) AS series, COUNT(*) AS instances, SUM(bytes) AS bytes, "
                        "MAX(updated) AS updated FROM archive_instances WHERE project = ? AND subject = ? "
                        "GROUP BY session, subject ORDER BY session",
                        (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1])}, 2, &err);
    if (a && json_array_size(a) == 0) {
        json_decref(a);
        gw_fail(r, 404, "no subject %s in project %s", r->arg[1], r->arg[0]);
        return;
    }
    a ? gw_reply(r, 200, json_pack("{s:s,s:s,s:o}", "project", r->arg[0], "subject", r->arg[1], "sessions", a))
      : gw_fail_err(r, &err);
}

/* Each series row gets the URL of its WADO-RS thumbnail (api_pixels.c). */
static json_t *with_thumbnails(json_t *series, const char *project)
{
    size_t i;
    json_t *s;
    json_array_foreach (series, i, s) {
        char *url = gw_thumbnail_url(project, json_string_value(json_object_get(s, "study_uid")),
                                     json_string_value(json_object_get(s, "uid")));
        json_object_set_new(s, "thumbnail", url ? json_string(url) : json_null());
        free(url);
    }
    return series;
}

/* The session named by the last path argument, with its series. */
static void session(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    const char *label = r->arg[2] ? r->arg[2] : r->arg[1];
    dqr_error err;
    /* no GROUP BY (a session has one subject): SQLite then takes the
     * primary key (project, session) instead of reading the whole project
     * through the subject index to save a sort */
    json_t *o = gw_row(r->g,
                       "SELECT MIN(session) AS label, MIN(subject) AS subject, MIN(study_date) AS date, "
                       "MIN(modality) AS modality, COUNT(*) AS instances, SUM(bytes) AS bytes, MAX(updated) AS updated "
                       "FROM archive_instances WHERE project = ? AND session = ?",
                       (store_val[]){STORE_S(r->arg[0]), STORE_S(label)}, 2, &err);
    const char *subject = json_string_value(json_object_get(o, "subject"));
    if (!o || !subject || (r->arg[2] && strcmp(subject, r->arg[1]) != 0)) {
        json_decref(o);
        gw_fail(r, 404, "no session %s in project %s", label, r->arg[0]);
        return;
    }
    json_t *series = gw_rows(r->g,
                             "SELECT series_uid AS uid, MAX(study_uid) AS study_uid, series_number AS number, "
                             "series_description AS description, modality, COUNT(*) AS instances, SUM(bytes) AS bytes FROM archive_instances "
                             "WHERE project = ? AND session = ? GROUP BY series_uid, series_number, series_description, "
                             "modality ORDER BY series_number, series_uid",
                             (store_val[]){STORE_S(r->arg[0]), STORE_S(label)}, 2, &err);
    json_object_set_new(o, "project", json_string(r->arg[0]));
    json_object_set_new(o, "series", series ? with_thumbnails(series, r->arg[0]) : json_array());
    gw_reply(r, 200, o);
}

typedef struct zipctx {
    zip_t *z;
    const char *root;
    size_t n;
    bool failed;
} zipctx;

static int add_file(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    zipctx *z = ctx;
    if (n < 2 || !c[0].s || !c[1].s)
        return 0;
    char full[4096], inzip[512];
    snprintf(full, sizeof full, "%s/%s", z->root, c[0].s);
    /* inside the zip: session/series/instance.dcm */
    const char *p = c[0].s;
    for (int skip = 0; skip < 3 && p; skip++) /* archive/project/subject/ */
        p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL;
    snprintf(inzip, sizeof inzip, "%s", p ? p : c[1].s);
    zip_source_t *src = zip_source_file(z->z, full, 0, 0);
    zip_int64_t idx = src ? zip_file_add(z->z, inzip, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) : -1;
    if (idx < 0) {
        zip_source_free(src);
        z->failed = true;
        return 1;
    }
    zip_set_file_compression(z->z, (zip_uint64_t)idx, ZIP_CM_STORE, 0); /* pixel data does not shrink much */
    z->n++;
    return 0;
}

static void download(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    const char *label = r->arg[1];
    unsigned char rnd[8];
    char tmp[4096], name[17];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(name, sizeof name, rnd, sizeof rnd);
    snprintf(tmp, sizeof tmp, "%s/tmp/%s.zip", r->g->cfg.data_dir, name);
    dqr_make_parent_dirs(tmp, 0700);
    int ze = 0;
    zipctx z = {zip_open(tmp, ZIP_CREATE | ZIP_EXCL, &ze), r->g->cfg.data_dir, 0, false};
    if (!z.z) {
        gw_fail(r, 500, "cannot build the zip (in %s/tmp)", r->g->cfg.data_dir);
        return;
    }
    store_exec(r->g->db, "SELECT path, sop_uid FROM archive_instances WHERE project = ? AND session = ? ORDER BY path",
               (store_val[]){STORE_S(r->arg[0]), STORE_S(label)}, 2, add_file, &z, NULL, NULL);
    if (z.failed || z.n == 0 || zip_close(z.z) != 0) {
        if (z.failed || z.n == 0)
            zip_discard(z.z);
        unlink(tmp);
        gw_fail(r, z.n ? 500 : 404, z.n ? "cannot build the zip of session %s" : "no session %s in this project",
                label);
        return;
    }
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    struct stat st;
    unlink(tmp); /* the open descriptor keeps it until sent */
    char target[200];
    snprintf(target, sizeof target, "%s/%s", r->arg[0], label);
    bool readable = fd >= 0 && fstat(fd, &st) == 0;
    if (!readable || gw_audit_req(r, "session_download", target) != DQR_OK) {
        if (fd >= 0)
            close(fd);
        gw_fail(r, 500, readable ? "the audit log cannot be written, so no download" : "cannot read the zip back");
        return;
    }
    char disp[200];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s_%s.zip\"", r->arg[0], label);
    http_add_header(r->http, "Content-Disposition", disp);
    http_respond_file(r->http, 200, "application/zip", fd, (uint64_t)st.st_size);
    gw_log(r->g, "info", "download", "project=%s session=%s instances=%zu bytes=%lld user=%s", r->arg[0], label, z.n,
           (long long)st.st_size, r->user.name);
}

static void remove_session(gw_req *r)
{
    if (!gw_archive_project_visible(r))
        return;
    int64_t n = 0;
    store_exec(r->g->db, "SELECT path FROM archive_instances WHERE project = ? AND session = ?",
               (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1])}, 2, gw_archive_remove_row, r->g->cfg.data_dir,
               NULL, NULL);
    store_exec(r->g->db, "DELETE FROM archive_instances WHERE project = ? AND session = ?",
               (store_val[]){STORE_S(r->arg[0]), STORE_S(r->arg[1])}, 2, NULL, NULL, &n, NULL);
    if (!n) {
        gw_fail(r, 404, "no session %s in project %s", r->arg[1], r->arg[0]);
        return;
    }
    char target[200];
    snprintf(target, sizeof target, "%s/%s", r->arg[0], r->arg[1]);
    gw_audit(r->g, r->user.id, "session_delete", target);
    gw_reply(r, 200, json_pack("{s:b,s:I}", "ok", 1, "instances", (json_int_t)n));
}

const gw_route gw_routes_archive[] = {
    {"GET", "/api/v1/projects/{}/subjects", GW_USER, subjects},
    {"GET", "/api/v1/projects/{}/subjects/{}/sessions", GW_USER, sessions},
    {"GET", "/api/v1/projects/{}/subjects/{}/sessions/{}", GW_USER, session},
    {"GET", "/api/v1/projects/{}/sessions/{}", GW_USER, session},
    {"GET", "/api/v1/projects/{}/sessions/{}/download", GW_USER, download},
    {"DELETE", "/api/v1/projects/{}/sessions/{}", GW_ADMIN, remove_session},
    {NULL, NULL, GW_PUBLIC, NULL},
};

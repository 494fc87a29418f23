/* fsck.c — the archive against its catalog, one session folder at a time
 * (data_dir/archive/<project>/<subject>/<session>/<series>/<SOP>.dcm), so
 * memory stays that of the largest session whatever the archive's size:
 * the session's rows are read (by the catalog's primary key prefix), its
 * files listed, the two compared. Sessions the catalog holds with no folder
 * on disk are checked afterwards. Repairs (fsck_repair.c) follow each
 * finding. */
#include "gateway/import/fsck.h"
#include "gateway/import/fsck_int.h"
#include "gateway/import/job.h"
#include "gateway/import/archive.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *gw_fsck_kind_name(gw_fsck_kind k)
{
    static const char *const names[GW_FSCK_KINDS] = {"temp", "orphan", "missing", "size", "mismatch", "duplicate"};
    return k < GW_FSCK_KINDS ? names[k] : "?";
}

void fsck_report(fsck_run *r, gw_fsck_kind kind, const char *path, const char *detail, bool repaired)
{
    gw_fsck_finding f = {kind, path, detail, r->in_flight, repaired && !r->in_flight};
    if (r->in_flight) {
        r->rep->in_flight++;
    } else {
        r->rep->found[kind]++;
        r->rep->problems++;
        r->rep->repaired += f.repaired;
    }
    if (r->fn)
        r->fn(r->ctx, &f);
}

static bool is_temp(const char *name)
{
    return strstr(name, ".dcm.tmp.") != NULL;
}

static int by_rel(const void *a, const void *b)
{
    return strcmp(((const fsck_row *)a)->rel, ((const fsck_row *)b)->rel);
}

static int add_row(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    fsck_rows *rs = ctx;
    if (n < 4 || !c[0].s || !c[2].s)
        return 0;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        fsck_row *v = realloc(rs->v, cap * sizeof *v);
        if (!v)
            return 1;
        rs->v = v, rs->cap = cap;
    }
    fsck_row *r = &rs->v[rs->n];
    *r = (fsck_row){.rel = strdup(c[0].s), .bytes = c[1].i, .import_session = c[3].type == STORE_INT ? c[3].i : 0};
    if (!r->rel)
        return 1;
    snprintf(r->sop, sizeof r->sop, "%s", c[2].s);
    rs->n++;
    return 0;
}

static void rows_free(fsck_rows *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].rel);
    free(rs->v);
    *rs = (fsck_rows){0};
}

/* The rows of one session folder, sorted by path (in C: no collation of
 * any backend decides the order). */
static dqr_status load_rows(fsck_run *r, const char *project, const char *subject, const char *session,
                            fsck_rows *rs, dqr_error *err)
{
    *rs = (fsck_rows){0};
    dqr_status st = store_exec(r->db,
                               "SELECT path, bytes, sop_uid, import_session FROM archive_instances "
                               "WHERE project = ? AND session = ? AND subject = ?",
                               (store_val[]){STORE_S(project), STORE_S(session), STORE_S(subject)}, 3, add_row, rs,
                               NULL, err);
    if (st == DQR_OK && rs->n)
        qsort(rs->v, rs->n, sizeof *rs->v, by_rel);
    r->rep->rows += (int64_t)rs->n;
    return st;
}

static fsck_row *find_row(fsck_rows *rs, const char *rel)
{
    fsck_row key = {.rel = (char *)rel};
    return rs->n ? bsearch(&key, rs->v, rs->n, sizeof *rs->v, by_rel) : NULL;
}

static bool session_running(fsck_run *r, const char *project, const char *session)
{
    int64_t one = 0;
    return store_int(r->db, "SELECT 1 FROM import_sessions WHERE project = ? AND session = ? AND state = 'running'",
                     (store_val[]){STORE_S(project), STORE_S(session)}, 2, &one, NULL) == DQR_OK;
}

/* One file of a series folder: temp, orphan, or its row's (size, deep). */
static void check_file(fsck_run *r, fsck_session *s, const char *rel, const char *name)
{
    char full[4096], detail[256];
    snprintf(full, sizeof full, "%s/%s", r->data_dir, rel);
    if (is_temp(name)) {
        fsck_report(r, GW_FSCK_TEMP, rel, "a partial write left behind", r->o.repair && fsck_remove(r, rel));
        return;
    }
    r->rep->files++;
    fsck_row *row = find_row(&s->rows, rel);
    if (!row) {
        fsck_orphan(r, rel);
        return;
    }
    row->seen = true;
    s->present++;
    struct stat st = {0};
    bool readable = stat(full, &st) == 0;
    /* deep: a file holding another instance says so whatever its size (the
     * sizes of two instances differ with their UIDs' lengths) */
    if (readable && r->o.deep && !fsck_matches(full, row->sop, detail, sizeof detail)) {
        fsck_mismatch(r, s, row, detail);
    } else if (!readable || (int64_t)st.st_size != row->bytes) {
        snprintf(detail, sizeof detail, "the file has %lld bytes, the catalog says %lld",
                 (long long)st.st_size, (long long)row->bytes);
        fsck_bad_size(r, s, row, (int64_t)st.st_size, detail);
    }
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One SOPInstanceUID in two series folders of the session. */
static void check_duplicates(fsck_run *r, fsck_session *s)
{
    qsort(s->names, s->nnames, sizeof *s->names, by_str);
    for (size_t i = 1; i < s->nnames; i++)
        if (strcmp(s->names[i - 1], s->names[i]) == 0) {
            char rel[600];
            snprintf(rel, sizeof rel, "archive/%s/%s/%s/*/%s", s->project, s->subject, s->session, s->names[i]);
            fsck_report(r, GW_FSCK_DUPLICATE, rel, "one instance in two series folders of the session", false);
        }
    for (size_t i = 1; i < s->rows.n; i++)
        if (strcmp(s->rows.v[i - 1].rel, s->rows.v[i].rel) == 0)
            fsck_report(r, GW_FSCK_DUPLICATE, s->rows.v[i].rel, "two catalog rows name this file", false);
}

static void keep_name(fsck_session *s, const char *name)
{
    if (s->nnames == s->names_cap) {
        size_t cap = s->names_cap ? s->names_cap * 2 : 64;
        char **v = realloc(s->names, cap * sizeof *v);
        if (!v)
            return;
        s->names = v, s->names_cap = cap;
    }
    if ((s->names[s->nnames] = strdup(name)))
        s->nnames++;
}

/* Calls each(r, ctx, rel, name, is_dir) for the entries of folder rel. */
typedef void (*entry_fn)(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir);

static void list_dir(fsck_run *r, const char *rel, entry_fn each, void *ctx)
{
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", r->data_dir, rel);
    DIR *d = opendir(full);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[4096], path[8192];
        struct stat st;
        if (snprintf(child, sizeof child, "%s/%s", rel, e->d_name) >= (int)sizeof child)
            continue; /* longer than any name dqr makes */
        snprintf(path, sizeof path, "%s/%s", r->data_dir, child);
        if (lstat(path, &st) == 0)
            each(r, ctx, child, e->d_name, S_ISDIR(st.st_mode));
    }
    closedir(d);
}

static void series_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    fsck_session *s = ctx;
    if (is_dir) {
        fsck_orphan(r, rel); /* nothing is made below a series folder */
        return;
    }
    check_file(r, s, rel, name);
    char full[8192];
    snprintf(full, sizeof full, "%s/%s", r->data_dir, rel);
    if (!is_temp(name) && access(full, F_OK) == 0) /* a repaired orphan is no duplicate any more */
        keep_name(s, name);
}

static void session_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    if (is_dir)
        list_dir(r, rel, series_entry, ctx);
    else if (is_temp(name))
        fsck_report(r, GW_FSCK_TEMP, rel, "a partial write left behind", r->o.repair && fsck_remove(r, rel));
    else
        fsck_orphan(r, rel);
}

/* A session folder: its files against its rows. */
static void check_session(fsck_run *r, const char *project, const char *subject, const char *session)
{
    fsck_session s = {.project = project, .subject = subject, .session = session};
    if (load_rows(r, project, subject, session, &s.rows, &r->err) != DQR_OK) {
        r->failed = true;
        return;
    }
    r->rep->sessions++;
    r->in_flight = session_running(r, project, session);
    char rel[4096];
    snprintf(rel, sizeof rel, "archive/%s/%s/%s", project, subject, session);
    list_dir(r, rel, session_entry, &s);
    for (size_t i = 0; i < s.rows.n; i++)
        if (!s.rows.v[i].seen)
            fsck_missing(r, &s, &s.rows.v[i]);
    check_duplicates(r, &s);
    fsck_requeue(r, &s);
    r->in_flight = false;
    rows_free(&s.rows);
    for (size_t i = 0; i < s.nnames; i++)
        free(s.names[i]);
    free(s.names);
}

typedef struct level {
    const char *project, *subject;
} level;

static void subject_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    level *l = ctx;
    if (is_dir && gw_label_ok(name))
        check_session(r, l->project, l->subject, name);
    else
        fsck_orphan(r, rel);
}

static void project_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    level l = {((level *)ctx)->project, name};
    if (is_dir && gw_label_ok(name))
        list_dir(r, rel, subject_entry, &l);
    else
        fsck_orphan(r, rel);
}

static void archive_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    (void)ctx;
    level l = {name, NULL};
    if (is_dir && gw_label_ok(name))
        list_dir(r, rel, project_entry, &l);
    else
        fsck_orphan(r, rel);
}

/* The catalog's sessions with no folder: every row's file is gone. Read a
 * page at a time after the last one seen (rows a repair deletes meanwhile
 * do not shift the pages). */
static int catalog_session(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    fsck_run *r = ctx;
    if (n < 3 || !c[0].s || !c[1].s || !c[2].s)
        return 0;
    r->page++;
    snprintf(r->last.project, sizeof r->last.project, "%s", c[0].s);
    snprintf(r->last.subject, sizeof r->last.subject, "%s", c[1].s);
    snprintf(r->last.session, sizeof r->last.session, "%s", c[2].s);
    char full[4096];
    struct stat st;
    snprintf(full, sizeof full, "%s/archive/%s/%s/%s", r->data_dir, c[0].s, c[1].s, c[2].s);
    if (stat(full, &st) != 0)
        r->lost[r->nlost++] = r->last;
    return 0;
}

static void check_lost_sessions(fsck_run *r)
{
    r->last = (fsck_lost){0};
    do {
        r->nlost = 0, r->page = 0;
        const char *p = r->last.project, *sj = r->last.subject, *ss = r->last.session;
        if (store_exec(r->db,
                       "SELECT DISTINCT project, subject, session FROM archive_instances WHERE project > ? OR "
                       "(project = ? AND (subject > ? OR (subject = ? AND session > ?))) "
                       "ORDER BY project, subject, session LIMIT " FSCK_STR(FSCK_PAGE),
                       (store_val[]){STORE_S(p), STORE_S(p), STORE_S(sj), STORE_S(sj), STORE_S(ss)}, 5,
                       catalog_session, r, NULL, &r->err) != DQR_OK) {
            r->failed = true;
            return;
        }
        for (size_t i = 0; i < r->nlost; i++)
            check_session(r, r->lost[i].project, r->lost[i].subject, r->lost[i].session);
    } while (r->page == FSCK_PAGE);
}

/* data_dir/tmp: zips being built; anything there once dqr serve stopped is
 * a leftover. */
static void tmp_entry(fsck_run *r, void *ctx, const char *rel, const char *name, bool is_dir)
{
    (void)ctx, (void)name;
    if (!is_dir)
        fsck_report(r, GW_FSCK_TEMP, rel, "a temporary file left behind", r->o.repair && fsck_remove(r, rel));
}

dqr_status gw_fsck(const char *data_dir, store *db, const gw_fsck_opts *o, gw_fsck_fn fn, void *ctx,
                   gw_fsck_report *rep, dqr_error *err)
{
    *rep = (gw_fsck_report){0};
    fsck_run r = {.data_dir = data_dir, .db = db, .o = o ? *o : (gw_fsck_opts){0}, .fn = fn, .ctx = ctx, .rep = rep};
    list_dir(&r, "archive", archive_entry, NULL);
    if (!r.failed)
        check_lost_sessions(&r);
    if (!r.failed)
        list_dir(&r, "tmp", tmp_entry, NULL);
    if (r.failed) {
        *err = r.err;
        return err->code ? err->code : DQR_E_IO;
    }
    return DQR_OK;
}

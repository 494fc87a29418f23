/* script.c — compile DicomEdit scripts: a script without a version line goes
 * to the DicomEdit 4 front end (de4.c); the others pre-process, lex, parse, and the
 * checks that refuse a script before any file is touched (version line,
 * wildcard assignment targets). Also compiles tag paths given as strings. */
#include "anon/interp.h"
#include "anon/de4.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const VERSIONS[] = {"6.0", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7"};

const char *anon_script_name(const anon_script *s) { return s->name; }
const char *anon_script_version(const anon_script *s) { return s->version; }

void anon_script_free(anon_script *s)
{
    if (!s)
        return;
    arena_free(&s->mem);
    free(s->text);
    free(s->name);
    free(s);
}

static dqr_status stmt_error(const anon_script *s, const stmt *st, dqr_error *err, const char *msg)
{
    return dqr_error_set(err, DQR_E_PARSE, "%s:%d:%d: %s", s->name, st->line, st->col, msg);
}

/* Checks over the whole tree that need no dataset. */
static dqr_status check_block(anon_script *s, const block *b, dqr_error *err)
{
    for (size_t i = 0; i < b->n; i++) {
        const stmt *st = b->stmts[i];
        dqr_status rc = DQR_OK;
        if (st->kind == S_ASSIGN && !tp_singular(st->path))
            return stmt_error(s, st, err, "':=' needs a tag path without wildcards (use '?=' to set every match)");
        if (st->kind == S_VERSION) {
            bool known = false;
            for (size_t v = 0; v < sizeof VERSIONS / sizeof VERSIONS[0]; v++)
                known |= strcmp(st->name, VERSIONS[v]) == 0;
            if (!known) {
                char msg[96];
                snprintf(msg, sizeof msg, "unknown DicomEdit version \"%.20s\" (6.0 to 6.7)", st->name);
                return stmt_error(s, st, err, msg);
            }
            snprintf(s->version, sizeof s->version, "%s", st->name);
        }
        if (st->kind == S_TERNARY) {
            block one = {(stmt **)&st->then_stmt, 1};
            if ((rc = check_block(s, &one, err)))
                return rc;
            if (st->else_stmt) {
                block other = {(stmt **)&st->else_stmt, 1};
                if ((rc = check_block(s, &other, err)))
                    return rc;
            }
        }
        for (size_t k = 0; st->kind == S_IF && k < st->nconds; k++)
            if ((rc = check_block(s, &st->blocks[k], err)))
                return rc;
        if (st->kind == S_IF && st->else_block && (rc = check_block(s, st->else_block, err)))
            return rc;
    }
    return DQR_OK;
}

static anon_script *compile(const char *text, size_t len, const char *name, bool need_version,
                            dqr_error *err)
{
    anon_script *s = calloc(1, sizeof *s);
    token *toks = NULL;
    size_t n = 0;
    if (!s || !(s->name = strdup(name ? name : "script"))) {
        free(s);
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dqr_status st;
    if (need_version && anon_de4_detect(text, len)) /* no version line: DicomEdit 4 (de4.c) */
        st = anon_de4_parse(s, text, len, err);
    else if (!(st = anon_lex(s, text, len, &toks, &n, err)))
        st = anon_parse(s, toks, n, err);
    free(toks);
    if (!st)
        st = check_block(s, &s->top, err);
    if (!st && need_version && !s->version[0])
        st = dqr_error_set(err, DQR_E_PARSE,
                           "%s:1:1: no version statement at the top of the script (DicomEdit 6 scripts "
                           "start with version \"6.x\"; a script without one is DicomEdit 4)", s->name);
    if (st) {
        anon_script_free(s);
        return NULL;
    }
    return s;
}

anon_script *anon_script_compile(const char *text, size_t len, const char *name, dqr_error *err)
{
    return compile(text, len, name, true, err);
}

anon_script *anon_script_load(const char *path, dqr_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (16u << 20)) {
                free(buf);
                fclose(f);
                dqr_error_set(err, DQR_E_LIMIT, "%s: script larger than 16 MiB", path);
                return NULL;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                dqr_error_set(err, DQR_E_NOMEM, "out of memory");
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        dqr_error_set(err, DQR_E_IO, "%s: read error", path);
        return NULL;
    }
    anon_script *s = compile(buf, len, path, true, err);
    free(buf);
    return s;
}

/* ---- tag paths given as strings ----------------------------------------- */

typedef struct path_cache_entry {
    char *text;
    anon_script *holder;
} path_cache_entry;

dqr_status parse_path_string(anon_session *s, const char *text, tagpath **out)
{
    /* A path string is compiled as the script "- PATH" and kept for the session. */
    size_t n = strlen(text);
    char *src = malloc(n + 4);
    if (!src)
        return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    snprintf(src, n + 4, "- %s", text);
    dqr_error e = {0};
    anon_script *holder = compile(src, n + 2, "tag path", false, &e);
    free(src);
    if (!holder || holder->top.n != 1 || holder->top.stmts[0]->kind != S_DELETE) {
        anon_script_free(holder);
        return rt_error(s, "\"%s\" is not a tag path%s%s", text, e.message[0] ? ": " : "", e.message);
    }
    if (anon_session_keep(s, holder)) {
        anon_script_free(holder);
        return dqr_error_set(s->err, DQR_E_NOMEM, "out of memory");
    }
    *out = holder->top.stmts[0]->path;
    return DQR_OK;
}

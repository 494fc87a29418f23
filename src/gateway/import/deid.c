/* deid.c — building the site + project de-identification engine. */
#include "gateway/import/deid.h"

#include <stdlib.h>
#include <string.h>

/* The site step when no site script is set: XNAT's labels written back
 * after the Basic profile. */
static const char LABELS[] = "version \"6.3\"\n"
                             "(0008,1030) := project\n"
                             "(0010,0010) := subject\n"
                             "(0010,0020) := session\n";

static char *text_of(gw *g, const char *sql, const char *arg)
{
    json_t *row = gw_row(g, sql, (store_val[]){STORE_S(arg)}, arg ? 1 : 0, NULL);
    const char *t = row ? json_string_value(json_object_get(row, "t")) : NULL;
    char *copy = t ? strdup(t) : NULL;
    json_decref(row);
    return copy;
}

static dqr_status add_script(gw_deid *d, anon_script **slot, const char *text, const char *name, dqr_error *err)
{
    *slot = anon_script_compile(text, strlen(text), name, err);
    return *slot ? anon_engine_add_script(d->engine, *slot, err) : err->code;
}

dqr_status gw_deid_build(gw *g, const char *project, const char *project_script, const char *subject,
                         const char *session, gw_deid *d, dqr_error *err)
{
    memset(d, 0, sizeof *d);
    anon_settings set = {.lookup_path = NULL};
    memcpy(set.uid_secret, g->uid_secret, sizeof set.uid_secret);
    char *site = text_of(g, "SELECT value AS t FROM settings WHERE key = 'site_script'", NULL);
    char *proj = project_script ? strdup(project_script)
                                : text_of(g, "SELECT script AS t FROM projects WHERE id = ?", project);
    dqr_status st = (d->engine = anon_engine_new(&set, err)) ? DQR_OK : err->code;
    if (st == DQR_OK && !site) {
        const char *safe = g->cfg.safe_private_file; /* Retain Safe Private, with the site's list */
        d->basic = anon_profile_parse(safe && *safe ? "basic,retain-safe-private" : "basic", err);
        st = d->basic ? DQR_OK : err->code;
        if (st == DQR_OK && safe && *safe)
            st = anon_profile_add_safe_private(d->basic, safe, err);
        if (st == DQR_OK)
            st = anon_engine_add_profile(d->engine, d->basic, err);
    }
    if (st == DQR_OK)
        st = add_script(d, &d->site, site ? site : LABELS, site ? "site script" : "XNAT labels", err);
    if (st == DQR_OK && proj && *proj)
        st = add_script(d, &d->project_script, proj, "project script", err);
    if (st == DQR_OK && !(d->as = anon_session_new(d->engine, err)))
        st = err->code;
    const char *vars[3][2] = {{"project", project}, {"subject", subject}, {"session", session}};
    for (int i = 0; i < 3 && st == DQR_OK; i++)
        st = anon_session_set_var(d->as, vars[i][0], vars[i][1], err);
    free(site), free(proj);
    if (st != DQR_OK)
        gw_deid_free(d);
    return st;
}

void gw_deid_free(gw_deid *d)
{
    anon_session_free(d->as);
    anon_engine_free(d->engine);
    anon_script_free(d->site);
    anon_script_free(d->project_script);
    anon_profile_free(d->basic);
    memset(d, 0, sizeof *d);
}

/* sessions.c — one subject per session label: whether a session label of
 * a project already belongs to another subject, in the archive or in an
 * import not yet done (asked by the import endpoints, the CSV import and
 * STOW-RS). */
#include "gateway/import/sessions.h"

#include <stdio.h>

static int copy_text(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].type == STORE_TEXT)
        snprintf(ctx, 65, "%s", c[0].s);
    return 1;
}

/* The subject other than subject that session already belongs to in
 * project, into owner[65]; false when none. */
bool gw_session_owner(store *s, const char *project, const char *session, const char *subject, char owner[65])
{
    *owner = '\0';
    store_exec(s,
               "SELECT subject FROM archive_instances WHERE project = ? AND session = ? AND subject <> ? UNION ALL "
               "SELECT subject FROM import_sessions WHERE project = ? AND session = ? AND subject <> ? "
               "AND state <> 'done' LIMIT 1",
               (store_val[]){STORE_S(project), STORE_S(session), STORE_S(subject), STORE_S(project), STORE_S(session),
                             STORE_S(subject)},
               6, copy_text, owner, NULL, NULL);
    return *owner != '\0';
}

bool gw_session_taken(gw *g, const char *project, const json_t *study, char *msg, size_t len)
{
    const char *session = json_string_value(json_object_get(study, "session"));
    const char *subject = json_string_value(json_object_get(study, "subject"));
    char owner[65];
    if (!session || !subject || !gw_session_owner(g->db, project, session, subject, owner))
        return false;
    snprintf(msg, len, "session %s already belongs to subject %s in project %s", session, owner, project);
    return true;
}

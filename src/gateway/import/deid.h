/* deid.h — the site's and a project's de-identification as one engine
 * (steps 4 and 5 of the pipeline): the site script, or by default the Basic
 * profile then XNAT's labels; then the project's script. Used by imports
 * and by the dry run. */
#ifndef DQR_GW_DEID_H
#define DQR_GW_DEID_H

#include "anon/anon.h"
#include "gateway/internal.h"

typedef struct gw_deid {
    anon_script *site, *project_script;
    anon_profile *basic;
    anon_engine *engine;
    anon_session *as; /* with project, subject and session set */
} gw_deid;

/* Build for project (its stored script, or project_script when not NULL)
 * with the variables subject and session. On failure err names the script
 * and line:column; d is left empty. */
dqr_status gw_deid_build(gw *g, const char *project, const char *project_script, const char *subject,
                         const char *session, gw_deid *d, dqr_error *err);
void gw_deid_free(gw_deid *d);

#endif

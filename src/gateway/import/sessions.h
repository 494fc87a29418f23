/* sessions.h — one subject per session label (sessions.c). */
#ifndef DQR_GW_SESSIONS_H
#define DQR_GW_SESSIONS_H

#include "gateway/internal.h"

/* The subject other than subject that session already belongs to in
 * project (archived, or in an import not yet done), into owner[65]; false
 * when none. */
bool gw_session_owner(store *s, const char *project, const char *session, const char *subject, char owner[65]);
/* study's session is taken by another subject in the archive of project,
 * or by an import of project not yet done. The sentence goes to msg
 * ("session S01_MR1 already belongs to subject S01 in project P1"). */
bool gw_session_taken(gw *g, const char *project, const json_t *study, char *msg, size_t len);

#endif

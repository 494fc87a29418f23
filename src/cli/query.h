/* query.h — the identifier of a C-FIND or C-MOVE from the command line:
 * --level and -k KEY[=VALUE] (KEY a keyword or gggg,eeee), and the
 * information model (--model study|patient). Shared by find and move. */
#ifndef DQR_CLI_QUERY_H
#define DQR_CLI_QUERY_H

#include "cli/netopts.h"

typedef struct query {
    const char *level;   /* PATIENT STUDY SERIES IMAGE */
    const char *keys[64];
    size_t nkeys;
    bool patient_root;
} query;

/* A query command's options: query ones, plus one command option named
 * value_opt (--dest, --out; NULL for none) whose value lands in value. */
typedef struct query_cmd {
    query q;
    const char *value_opt, *value;
} query_cmd;

/* A netopts_extra for query_cmd (ctx is the query_cmd). */
int query_take(void *ctx, const dqr_command *self, int argc, char **argv, int *i);
/* The identifier dataset (caller frees), or NULL after printing why. */
dcm_dataset *query_identifier(const dqr_command *self, const query *q);

/* Everything a query command sends: p gets the AE titles and the context for
 * the model (study_root or patient_root, as --model says) with Explicit and
 * Implicit VR LE, *model that SOP class; returns the identifier (caller
 * frees) or NULL after printing why. */
dcm_dataset *query_prepare(const dqr_command *self, const netopts *o, const query *q, const char *study_root,
                           const char *patient_root, net_params *p, const char **model);

/* Print "NAME: 0xSSSS Meaning: N completed, N failed, N warning" and return
 * the exit code of a retrieve: 0 only if every sub-operation succeeded. */
int query_report(const dqr_command *self, const net_move_result *r);

#endif

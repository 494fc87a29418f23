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

#endif

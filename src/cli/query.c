/* query.c — building a query identifier from options. */
#include "cli/query.h"

#include <stdio.h>
#include <string.h>

int query_take(void *ctx, const dqr_command *self, int argc, char **argv, int *i)
{
    query_cmd *c = ctx;
    query *q = &c->q;
    const char *a = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (c->value_opt && strcmp(a, c->value_opt) == 0) {
        if (!val)
            return cli_usage_error(self, "%s needs a value", a), -1;
        c->value = val;
    } else if (strcmp(a, "--level") == 0) {
        if (!val || (strcmp(val, "PATIENT") && strcmp(val, "STUDY") && strcmp(val, "SERIES") && strcmp(val, "IMAGE")))
            return cli_usage_error(self, "--level is PATIENT, STUDY, SERIES or IMAGE"), -1;
        q->level = val;
    } else if (strcmp(a, "-k") == 0 || strcmp(a, "--key") == 0) {
        if (!val || q->nkeys == sizeof q->keys / sizeof q->keys[0])
            return cli_usage_error(self, "-k needs KEY or KEY=VALUE"), -1;
        q->keys[q->nkeys++] = val;
    } else if (strcmp(a, "--model") == 0) {
        if (!val || (strcmp(val, "study") && strcmp(val, "patient")))
            return cli_usage_error(self, "--model is study or patient"), -1;
        q->patient_root = val[0] == 'p';
    } else {
        return 0;
    }
    ++*i;
    return 1;
}

dcm_dataset *query_identifier(const dqr_command *self, const query *q)
{
    dqr_error err = {0};
    dcm_dataset *id = dcm_dataset_new();
    if (!id)
        return NULL;
    if (q->level)
        dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, q->level, &err);
    for (size_t i = 0; i < q->nkeys; i++) {
        char name[128];
        const char *eq = strchr(q->keys[i], '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - q->keys[i]) : (int)strlen(q->keys[i]), q->keys[i]);
        if (!dcm_dataset_set_key(id, name, eq ? eq + 1 : "", &err)) {
            cli_usage_error(self, "-k %s: %s", q->keys[i], err.message);
            dcm_dataset_free(id);
            return NULL;
        }
    }
    return id;
}

dcm_dataset *query_prepare(const dqr_command *self, const netopts *o, const query *q, const char *study_root,
                           const char *patient_root, net_params *p, const char **model)
{
    dcm_dataset *id = query_identifier(self, q);
    if (!id)
        return NULL;
    netopts_params(self, o, p);
    static const char *const ts[] = {DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, NULL};
    *model = q->patient_root ? patient_root : study_root;
    net_params_add(p, *model, ts);
    return id;
}

int query_report(const dqr_command *self, const net_move_result *r)
{
    printf("%s: 0x%04X %s: %d completed, %d failed, %d warning\n", self->name, r->status, net_status_str(r->status),
           r->completed, r->failed, r->warning);
    if (r->status != 0 || r->failed > 0) {
        cli_error("%s: not every sub-operation succeeded (0x%04X %s)", self->name, r->status, net_status_str(r->status));
        return DQR_EXIT_FAIL;
    }
    return DQR_EXIT_OK;
}

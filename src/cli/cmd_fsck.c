/* cmd_fsck.c — `dqr fsck`: the archive of de-identified files against the
 * catalog (gateway/import/fsck.h), reported as text or JSON, repaired on
 * request. Reads the settings of dqr serve; opens the catalog at the version
 * it has, as dqr backup does, so it never migrates one a running serve uses. */
#include "cli/cli.h"
#include "gateway/import/fsck.h"
#include "gateway/gw.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct opts {
    const char *config;
    bool json;
    gw_fsck_opts fsck;
} opts;

static int parse(int argc, char **argv, opts *o)
{
    const dqr_command *self = cli_find("fsck");
    *o = (opts){0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            o->config = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp(argv[i], "--deep") == 0)
            o->fsck.deep = true;
        else if (strcmp(argv[i], "--repair") == 0)
            o->fsck.repair = true;
        else
            return cli_usage_error(self, "unexpected argument '%s'", argv[i]);
    }
    return DQR_EXIT_OK;
}

/* Text: one line per finding as it is found. JSON: kept for the end. */
static void on_finding(void *ctx, const gw_fsck_finding *f)
{
    json_t *list = ctx;
    if (list) {
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:b,s:b}", "kind", gw_fsck_kind_name(f->kind), "path",
                                              f->path, "detail", f->detail, "in_flight", f->in_flight, "repaired",
                                              f->repaired));
        return;
    }
    printf("%s %s: %s%s\n", gw_fsck_kind_name(f->kind), f->path, f->detail,
           f->in_flight ? " (session running: not a problem yet)" : "");
}

static void print_json(const gw_fsck_report *rep, json_t *list)
{
    json_t *counts = json_object();
    for (int k = 0; k < GW_FSCK_KINDS; k++)
        json_object_set_new(counts, gw_fsck_kind_name((gw_fsck_kind)k), json_integer(rep->found[k]));
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "rows", (json_int_t)rep->rows, "files",
                          (json_int_t)rep->files, "sessions", (json_int_t)rep->sessions, "problems",
                          (json_int_t)rep->problems, "repaired", (json_int_t)rep->repaired, "in_flight",
                          (json_int_t)rep->in_flight, "requeued", (json_int_t)rep->requeued, "counts", counts,
                          "findings", list);
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

static int check(const gw_config *cfg, const opts *o)
{
    dqr_error err = {0};
    int version = 0;
    store *s = NULL;
    if (store_check(cfg->catalog, &version, &err) == DQR_OK && version == 0)
        dqr_error_set(&err, DQR_E_NOTFOUND, "catalog %s has no tables yet: nothing to check", cfg->catalog);
    else if (version > 0)
        s = store_open_at_version(cfg->catalog, version, &err);
    if (!s) {
        cli_error("fsck: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    json_t *list = o->json ? json_array() : NULL;
    gw_fsck_report rep;
    dqr_status st = gw_fsck(cfg->data_dir, s, &o->fsck, on_finding, list, &rep, &err);
    store_close(s);
    if (st != DQR_OK) {
        json_decref(list);
        cli_error("fsck: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    if (list)
        print_json(&rep, list);
    else
        printf("fsck: %lld sessions, %lld catalog rows, %lld files: %lld problems, %lld repaired, %lld sessions "
               "queued again, %lld findings in running sessions\n",
               (long long)rep.sessions, (long long)rep.rows, (long long)rep.files, (long long)rep.problems,
               (long long)rep.repaired, (long long)rep.requeued, (long long)rep.in_flight);
    return rep.problems == rep.repaired ? DQR_EXIT_OK : DQR_EXIT_FAIL;
}

int cmd_fsck(int argc, char **argv)
{
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc != DQR_EXIT_OK)
        return rc;
    gw_config cfg;
    dqr_error err = {0};
    if (gw_config_load(&cfg, o.config, &err) != DQR_OK) {
        cli_error("%s", err.message);
        return DQR_EXIT_USAGE;
    }
    rc = check(&cfg, &o);
    gw_config_free(&cfg);
    return rc;
}

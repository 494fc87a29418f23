/* cmd_lint.c — `dqr lint [--sample FILE]... [--var NAME=VALUE]... [--safe-private FILE]
 * [--pixel-rules FILE]... [SCRIPT...]`:
 * refuse a script that does not parse (file:line:column); run the scripts,
 * in order and with the variables an import has (project, subject,
 * session), over the built-in sample and each --sample file, and report
 * every run-time error with its line:column, so that "ok" means the script
 * runs; then list the Annex E Basic attributes the scripts, taken together,
 * leave untouched. --pixel-rules files are checked by lint_pixel.c. */
#include "anon/anon.h"
#include "anon/annex_e_table.h"
#include "cli/cli.h"
#include "cli/lint_pixel.h"
#include "cli/lint_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINT_MAX_ITEMS 64

typedef struct lint_opts {
    const char *samples[LINT_MAX_ITEMS];
    size_t nsamples;
    const char *vars[LINT_MAX_ITEMS];
    size_t nvars;
    const char *lookup;
    const char *safe_private; /* --safe-private: the site's extra safe private attributes */
    const char *scripts[LINT_MAX_ITEMS];
    size_t nscripts;
    const char *pixel_rules[LINT_MAX_ITEMS]; /* --pixel-rules: CTP pixel-cleaning rule files */
    size_t npixel;
} lint_opts;

/* Per script: did a run fail? (indexed like the engine's steps) */
typedef struct run_state {
    size_t n;
    bool *failed;
} run_state;

static void print_row(void *ctx, const struct anon_annex_e_row *row)
{
    (void)ctx;
    char tag[16];
    if (row->mask == 0x00010000u)
        snprintf(tag, sizeof tag, "(odd groups)");
    else
        snprintf(tag, sizeof tag, "(%04X,%04X)", row->tag >> 16, row->tag & 0xFFFF);
    /* masked nibbles print as xx */
    for (int i = 0; i < 8 && row->mask != 0x00010000u; i++)
        if (!((row->mask >> (28 - 4 * i)) & 0xF))
            tag[1 + i + (i >= 4)] = 'x';
    char name[128];
    snprintf(name, sizeof name, "%s", row->name);
    for (char *p = name; *p; p++)
        if (*p == '\n')
            *p = ' ';
    printf("  %-12s %-5s %s\n", tag, row->basic, name);
}

/* Store val in list (at most LINT_MAX_ITEMS); 0, or a usage error. */
static int push(const dqr_command *self, const char **list, size_t *n, const char *opt, const char *val)
{
    if (*n == LINT_MAX_ITEMS)
        return cli_usage_error(self, "at most %d of %s", LINT_MAX_ITEMS, opt);
    list[(*n)++] = val;
    return 0;
}

static int parse_options(const dqr_command *self, int argc, char **argv, lint_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool sample = strcmp(a, "--sample") == 0, var = strcmp(a, "--var") == 0, lookup = strcmp(a, "--lookup") == 0;
        bool safe = strcmp(a, "--safe-private") == 0, pixel = strcmp(a, "--pixel-rules") == 0;
        int rc = 0;
        if ((sample || var || lookup || safe || pixel) && !val)
            return cli_usage_error(self, "%s needs a value", a);
        if (var && (!strchr(val, '=') || val[0] == '='))
            return cli_usage_error(self, "--var needs NAME=VALUE");
        if (sample)
            rc = push(self, o->samples, &o->nsamples, a, val);
        else if (var)
            rc = push(self, o->vars, &o->nvars, a, val);
        else if (lookup)
            o->lookup = val;
        else if (safe)
            o->safe_private = val;
        else if (pixel)
            rc = push(self, o->pixel_rules, &o->npixel, a, val);
        else if (a[0] == '-' && a[1])
            return cli_usage_error(self, "unknown option '%s'", a);
        else
            rc = push(self, o->scripts, &o->nscripts, "SCRIPT", a);
        if (rc)
            return rc;
        i += sample || var || lookup || safe || pixel;
    }
    if (!o->nscripts && !o->npixel)
        return cli_usage_error(self, "give at least one SCRIPT or --pixel-rules FILE");
    return 0;
}

static void on_issue(void *ctx, const anon_lint_issue *is)
{
    run_state *st = ctx;
    if (is->rejected) {
        printf("%s\n", is->text);
        return;
    }
    cli_error("%s", is->text);
    if (is->step < st->n) /* the engine holds the scripts alone, in order */
        st->failed[is->step] = true;
}

/* A session as an import has it: project, subject and session set (to
 * placeholders unless --var says otherwise). */
static anon_session *lint_session(const anon_engine *e, const lint_opts *o, dqr_error *err)
{
    anon_session *s = anon_session_new(e, err);
    static const char *const DEFAULTS[][2] = {{"project", "PROJECT"}, {"subject", "SUBJECT"}, {"session", "SESSION"}};
    for (size_t i = 0; s && i < sizeof DEFAULTS / sizeof DEFAULTS[0]; i++)
        anon_session_set_var(s, DEFAULTS[i][0], DEFAULTS[i][1], err);
    for (size_t i = 0; s && i < o->nvars; i++) {
        const char *eq = strchr(o->vars[i], '=');
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(eq - o->vars[i]), o->vars[i]);
        anon_session_set_var(s, name, eq + 1, err);
    }
    return s;
}

/* Run the scripts over the built-in sample, then each --sample file, each
 * in a fresh session (variables do not leak from one sample to the next).
 * Returns an exit code: 1 when a sample cannot be read. */
static int run_samples(const lint_opts *o, const anon_engine *e, run_state *st)
{
    int rc = DQR_EXIT_OK;
    for (size_t k = 0; k <= o->nsamples; k++) {
        dqr_error err = {0};
        dcm_file *f = k ? dcm_file_open(o->samples[k - 1], &err) : NULL;
        dcm_dataset *builtin = k ? NULL : anon_sample_dataset();
        const dcm_dataset *ds = k ? (f ? dcm_file_dataset(f) : NULL) : builtin;
        anon_session *s = ds ? lint_session(e, o, &err) : NULL;
        if (s)
            anon_lint_run(s, ds, k ? o->samples[k - 1] : "built-in", on_issue, st);
        else
            cli_error("%s", err.message[0] ? err.message : "out of memory"), rc = DQR_EXIT_FAIL;
        anon_session_free(s);
        dcm_dataset_free(builtin);
        dcm_file_close(f);
    }
    return rc;
}

static int run_all(const lint_opts *o, anon_script **scripts, size_t n)
{
    anon_settings set = {.lookup_path = o->lookup}; /* a zero UID secret: nothing is kept */
    dqr_error err = {0};
    anon_engine *e = anon_engine_new(&set, &err);
    for (size_t i = 0; e && i < n && !err.code; i++)
        anon_engine_add_script(e, scripts[i], &err);
    if (!e || err.code) {
        cli_error("%s", err.message);
        anon_engine_free(e);
        return DQR_EXIT_FAIL;
    }
    bool *failed = calloc(n ? n : 1, sizeof *failed);
    run_state st = {n, failed};
    int rc = failed ? run_samples(o, e, &st) : DQR_EXIT_FAIL;
    for (size_t i = 0; failed && i < n; i++) {
        if (failed[i])
            rc = rc == DQR_EXIT_OK ? DQR_EXIT_USAGE : rc;
        else
            printf("%s: ok (DicomEdit %s)\n", anon_script_name(scripts[i]), anon_script_version(scripts[i]));
    }
    free(failed);
    anon_engine_free(e);
    return rc;
}

int cmd_lint(int argc, char **argv)
{
    const dqr_command *self = cli_find("lint");
    lint_opts o = {0};
    int rc = parse_options(self, argc, argv, &o);
    if (rc)
        return rc;
    if (o.npixel) {
        rc = lint_pixel_rules(o.pixel_rules, o.npixel, o.samples, o.nsamples);
        if (!o.nscripts)
            return rc;
    }
    int pixel_rc = rc;
    rc = DQR_EXIT_OK;
    anon_script *scripts[LINT_MAX_ITEMS];
    size_t n = 0;
    for (size_t i = 0; i < o.nscripts; i++) {
        dqr_error err = {0};
        anon_script *s = anon_script_load(o.scripts[i], &err);
        if (!s) {
            cli_error("%s", err.message);
            rc = err.code == DQR_E_IO ? DQR_EXIT_FAIL : DQR_EXIT_USAGE;
            continue;
        }
        scripts[n++] = s;
    }
    /* the scripts run only as a whole: one that does not parse stops them all */
    if (rc == DQR_EXIT_OK) {
        rc = run_all(&o, scripts, n);
        printf("Annex E Basic attributes these scripts leave untouched (tag, Basic action, name):\n");
        size_t left = anon_lint_untouched((const anon_script *const *)scripts, n, print_row, NULL);
        printf("%zu untouched%s\n", left, left ? ": a site keeps these as they arrive" : "");
        int prc = lint_private(o.samples, o.nsamples, o.safe_private);
        if (rc == DQR_EXIT_OK)
            rc = prc;
    }
    for (size_t i = 0; i < n; i++)
        anon_script_free(scripts[i]);
    return pixel_rc > rc ? pixel_rc : rc;
}

/* cmd_lint.c — `dqr lint SCRIPT...`: refuse a script that does not parse
 * (file:line:column), then list the Annex E Basic attributes the scripts,
 * taken together, leave untouched. */
#include "anon/anon.h"
#include "anon/annex_e_table.h"
#include "cli/cli.h"
#include "cli/lint_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_lint(int argc, char **argv)
{
    const dqr_command *self = cli_find("lint");
    if (argc < 2)
        return cli_usage_error(self, "give at least one SCRIPT");
    anon_script **scripts = calloc((size_t)argc, sizeof *scripts);
    const char **samples = calloc((size_t)argc, sizeof *samples), *safe_private = NULL;
    int n = 0, rc = DQR_EXIT_OK;
    size_t nsamples = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--sample") == 0) {
            samples[nsamples++] = argv[++i];
            continue;
        }
        if (i + 1 < argc && strcmp(argv[i], "--safe-private") == 0) {
            safe_private = argv[++i];
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            return free(scripts), free(samples), cli_usage_error(self, "unknown option '%s'", argv[i]);
        dqr_error err = {0};
        anon_script *s = anon_script_load(argv[i], &err);
        if (!s) {
            cli_error("%s", err.message);
            rc = err.code == DQR_E_IO ? DQR_EXIT_FAIL : DQR_EXIT_USAGE;
            continue;
        }
        printf("%s: ok (DicomEdit %s)\n", argv[i], anon_script_version(s));
        scripts[n++] = s;
    }
    if (rc == DQR_EXIT_OK) {
        printf("Annex E Basic attributes these scripts leave untouched (tag, Basic action, name):\n");
        size_t left = anon_lint_untouched((const anon_script *const *)scripts, (size_t)n, print_row, NULL);
        printf("%zu untouched%s\n", left, left ? ": a site keeps these as they arrive" : "");
        rc = lint_private(samples, nsamples, safe_private);
    }
    free(samples);
    for (int i = 0; i < n; i++)
        anon_script_free(scripts[i]);
    free(scripts);
    return rc;
}

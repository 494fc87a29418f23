/* lint_private.c — `dqr lint --sample FILE [--safe-private FILE]`: which
 * private attributes of each sample the Retain Safe Private Option keeps
 * (PS3.15 Table E.3.10-1, the site file) and which it removes. The judgement
 * is anon_private_report's, the one the profile applies. */
#include "cli/lint_private.h"

#include "anon/anon.h"
#include "cli/cli.h"

#include <stdio.h>

static void print_private(void *ctx, const char *path, const char *creator, bool kept, const char *why)
{
    (void)ctx;
    printf("  %-7s %-28s %s: %s\n", kept ? "kept" : "removed", path, creator, why);
}

int lint_private(const char *const *samples, size_t n, const char *safe_file)
{
    if (!n)
        return DQR_EXIT_OK;
    dqr_error err = {0};
    anon_profile *p = anon_profile_parse("basic,retain-safe-private", &err);
    if (p && safe_file && anon_profile_add_safe_private(p, safe_file, &err)) {
        anon_profile_free(p);
        p = NULL;
    }
    if (!p) {
        cli_error("%s", err.message);
        return err.code == DQR_E_IO ? DQR_EXIT_FAIL : DQR_EXIT_USAGE;
    }
    int rc = DQR_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        dcm_file *f = dcm_file_open(samples[i], &err);
        if (!f) {
            cli_error("%s", err.message);
            rc = DQR_EXIT_FAIL;
            continue;
        }
        printf("%s: private attributes under retain-safe-private (kept or removed, tag path, creator, why):\n",
               samples[i]);
        size_t count = anon_private_report(p, dcm_file_dataset(f), print_private, NULL);
        printf("%zu private attribute%s\n", count, count == 1 ? "" : "s");
        dcm_file_close(f);
    }
    anon_profile_free(p);
    return rc;
}

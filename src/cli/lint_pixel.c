/* lint_pixel.c — `dqr lint --pixel-rules FILE [--sample FILE]...`: a rules
 * file that does not compile is named with file:line:column before a site
 * relies on it, and for each sample the user sees which signature matches
 * and the regions it would blank (as the file gives them, and cut to the
 * sample's Rows x Columns), which is the answer a CTP user asks of a script. */
#include "cli/lint_pixel.h"

#include "anon/anon.h"
#include "cli/cli.h"

#include <stdio.h>

/* The signature on one line: runs of blanks (newlines too) as one space. */
static void print_flat(const char *s)
{
    for (bool blank = false; *s; s++) {
        bool b = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
        if (!b)
            putchar(*s);
        else if (!blank)
            putchar(' ');
        blank = b;
    }
}

static void print_match(const char *rules, const char *sample, const dcm_dataset *ds, const anon_pixel_rules *r)
{
    anon_pixel_match m;
    if (!anon_pixel_rules_match(r, ds, &m)) {
        printf("%s: %s: no signature matches\n", sample, rules);
        return;
    }
    long rows = 0, cols = 0;
    bool sized = dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0010), &rows) &&
                 dcm_dataset_get_int(ds, DCM_TAG(0x0028, 0x0011), &cols);
    printf("%s: %s:%d:%d: signature %zu matches: { ", sample, rules, m.line, m.column, m.index + 1);
    print_flat(m.signature);
    printf(" }\n");
    if (!m.nregions)
        printf("  no regions\n");
    for (size_t i = 0; i < m.nregions; i++) {
        anon_pixel_region g = m.regions[i];
        printf("  region (%d,%d,%d,%d)", g.left, g.top, g.width, g.height);
        if (sized) {
            anon_pixel_region c = anon_pixel_region_clip(g, (int)rows, (int)cols);
            printf(" -> pixels x %d-%d, y %d-%d of %ldx%ld", c.left, c.left + c.width, c.top, c.top + c.height,
                   cols, rows);
        }
        printf("\n");
    }
}

/* Match each sample against r; returns 1 when a sample cannot be read. */
static int match_samples(const char *name, const anon_pixel_rules *r, const char *const *samples, size_t n)
{
    int rc = DQR_EXIT_OK;
    for (size_t k = 0; k < n; k++) {
        dqr_error err = {0};
        dcm_file *f = dcm_file_open(samples[k], &err);
        if (!f) {
            cli_error("%s", err.message);
            rc = DQR_EXIT_FAIL;
            continue;
        }
        print_match(name, samples[k], dcm_file_dataset(f), r);
        dcm_file_close(f);
    }
    return rc;
}

int lint_pixel_rules(const char *const *files, size_t nfiles, const char *const *samples, size_t nsamples)
{
    int rc = DQR_EXIT_OK;
    for (size_t i = 0; i < nfiles; i++) {
        dqr_error err = {0};
        anon_pixel_rules *r = anon_pixel_rules_load(files[i], &err);
        if (!r) {
            cli_error("%s", err.message);
            rc = err.code == DQR_E_PARSE ? DQR_EXIT_USAGE : (rc ? rc : DQR_EXIT_FAIL);
            continue;
        }
        for (size_t w = 0; w < anon_pixel_rules_warning_count(r); w++)
            printf("%s\n", anon_pixel_rules_warning(r, w));
        printf("%s: ok (%zu signatures)\n", files[i], anon_pixel_rules_count(r));
        int mrc = match_samples(files[i], r, samples, nsamples);
        rc = rc ? rc : mrc;
        anon_pixel_rules_free(r);
    }
    return rc;
}

/* cmd_dump.c — `dqr dump FILE [--json]`. */
#include "cli/cli.h"
#include "dicom/dicom.h"

#include <stdlib.h>
#include <string.h>

/* Print one file; returns an exit code. */
static int dump_one(const char *path, bool json, bool many, const dcm_dump_options *opts)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(path, &err);
    if (!f) {
        cli_error("%s", err.message);
        return DQR_EXIT_FAIL;
    }
    if (many && !json)
        printf("# File: %s\n", path);
    dqr_status s = json ? dcm_dump_json(dcm_file_dataset(f), stdout, 0, &err)
                        : dcm_dump_text(f, stdout, opts, &err);
    if (json && !s)
        fputc('\n', stdout); /* one JSON object per line */
    else if (many && !s)
        fputc('\n', stdout);
    dcm_file_close(f);
    if (s) {
        cli_error("%s: %s", path, err.message);
        return DQR_EXIT_FAIL;
    }
    return DQR_EXIT_OK;
}

int cmd_dump(int argc, char **argv)
{
    const dqr_command *self = cli_find("dump");
    bool json = false;
    int nfiles = 0;
    dcm_dump_options opts = {64, true};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--no-meta") == 0) {
            opts.show_meta = false;
        } else if (strcmp(argv[i], "--max-chars") == 0) {
            char *end;
            if (i + 1 >= argc || (opts.max_value_chars = strtoul(argv[++i], &end, 10)) == 0 || *end)
                return cli_usage_error(self, "--max-chars needs a positive number");
            argv[i] = NULL; /* not a file */
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(self, "unknown option '%s'", argv[i]);
        } else {
            nfiles++;
            continue;
        }
        argv[i] = NULL;
    }
    if (!nfiles)
        return cli_usage_error(self, "missing FILE");
    int rc = DQR_EXIT_OK;
    for (int i = 1; i < argc; i++)
        if (argv[i] && dump_one(argv[i], json, nfiles > 1, &opts) != DQR_EXIT_OK)
            rc = DQR_EXIT_FAIL;
    if (fflush(stdout) != 0) {
        cli_error("dump: writing output failed");
        rc = DQR_EXIT_FAIL;
    }
    return rc;
}

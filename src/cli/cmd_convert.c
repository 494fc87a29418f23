/* cmd_convert.c — `dqr convert IN OUT [--ts SYNTAX]`: rewrite a file. */
#include "cli/cli.h"
#include "dicom/dicom.h"

#include <string.h>

static const char *syntax_uid(const char *name)
{
    static const struct { const char *name, *uid; } ALIASES[] = {
        {"implicit", DCM_TS_IMPLICIT_LE},
        {"explicit", DCM_TS_EXPLICIT_LE},
        {"big", DCM_TS_EXPLICIT_BE},
        {"deflate", DCM_TS_DEFLATED_LE},
    };
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(name, ALIASES[i].name) == 0)
            return ALIASES[i].uid;
    return dcm_ts_lookup(name) ? name : NULL;
}

int cmd_convert(int argc, char **argv)
{
    const dqr_command *self = cli_find("convert");
    const char *in = NULL, *out = NULL, *ts = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ts") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(self, "--ts needs a value");
            if (!(ts = syntax_uid(argv[++i])))
                return cli_usage_error(self, "unknown transfer syntax '%s'", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(self, "unknown option '%s'", argv[i]);
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return cli_usage_error(self, "too many arguments");
        }
    }
    if (!in || !out)
        return cli_usage_error(self, "needs IN and OUT");
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(in, &err);
    if (!f) {
        cli_error("%s", err.message);
        return DQR_EXIT_FAIL;
    }
    dcm_write_options opts = {.transfer_syntax = ts, .keep_meta = true};
    dqr_status s = dcm_file_write(f, out, &opts, &err);
    dcm_file_close(f);
    if (s) {
        cli_error("%s", err.message);
        return DQR_EXIT_FAIL;
    }
    return DQR_EXIT_OK;
}

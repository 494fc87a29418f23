/* fuzz_config.c — libFuzzer target for the settings file of dqr serve
 * (src/gateway/config.c): the input is written to a private temporary file
 * and loaded as --config, then what was loaded is used as dqr serve uses
 * it: the receivers list parsed, the settings printed with their secrets
 * masked, and copied. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!*path) { /* one file, rewritten for every input */
        snprintf(path, sizeof path, "/tmp/dqr-fuzz-config-%ld.json", (long)getpid());
        unsetenv("DQR_CONFIG");
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    gw_config cfg, copy;
    dqr_error err = {0};
    if (gw_config_load(&cfg, path, &err) == DQR_OK) {
        gw_receiver rx[GW_MAX_RECEIVERS];
        char msg[256];
        gw_config_receivers(&cfg, rx, msg, sizeof msg);
        FILE *out = fopen("/dev/null", "w");
        if (out) {
            gw_config_print(&cfg, out);
            fclose(out);
        }
        gw_config_copy(&copy, &cfg, &err);
        gw_config_free(&copy); /* also after a failed copy */
        gw_config_free(&cfg);
    } /* a failed load has freed what it held */
    return 0;
}

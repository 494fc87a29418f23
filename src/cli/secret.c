/* secret.c — find, create and read the UID secret file. */
#include "cli/secret.h"
#include "cli/cli.h"
#include "anon/anon.h"

#include <stdio.h>
#include <stdlib.h>

static int default_path(char *out, size_t cap)
{
    const char *env = getenv("DQR_UID_SECRET_FILE");
    if (env && *env)
        return snprintf(out, cap, "%s", env) < (int)cap ? 0 : -1;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        return snprintf(out, cap, "%s/dqr/uid-secret", xdg) < (int)cap ? 0 : -1;
    if (home && *home)
        return snprintf(out, cap, "%s/.config/dqr/uid-secret", home) < (int)cap ? 0 : -1;
    return -1;
}

int secret_load(const char *path, uint8_t key[32])
{
    char def[4096];
    bool is_default = !path, created = false;
    if (is_default) {
        if (default_path(def, sizeof def) != 0) {
            cli_error("no UID secret: give --uid-secret FILE or set DQR_UID_SECRET_FILE or HOME");
            return -1;
        }
        path = def;
    }
    dqr_error err = {0};
    if (anon_secret_load(path, is_default, key, &created, &err) != DQR_OK) {
        cli_error("%s", err.message);
        return -1;
    }
    if (created)
        cli_error("note: created the UID secret %s (keep it: it makes UIDs repeatable)", path);
    return 0;
}

/* secret.c — find, create and read the UID secret file. */
#include "cli/secret.h"
#include "cli/cli.h"
#include "cli/files.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

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

static int create(const char *path)
{
    uint8_t r[32];
    char hex[66];
    if (make_parent_dirs(path) != 0 || getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? 0 : -1; /* another process made it first */
    int ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
    close(fd);
    if (ok)
        cli_error("note: created the UID secret %s (keep it: it makes UIDs repeatable)", path);
    return ok ? 0 : -1;
}

int secret_load(const char *path, uint8_t key[32])
{
    char def[4096];
    if (!path) {
        if (default_path(def, sizeof def) != 0) {
            cli_error("no UID secret: give --uid-secret FILE or set DQR_UID_SECRET_FILE or HOME");
            return -1;
        }
        path = def;
        if (access(path, F_OK) != 0 && create(path) != 0) {
            cli_error("%s: cannot create the UID secret: %s", path, strerror(errno));
            return -1;
        }
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n < 16) {
        cli_error("%s: a UID secret needs at least 16 bytes", path);
        return -1;
    }
    unsigned len = 0;
    EVP_Digest(buf, n, key, &len, EVP_sha256(), NULL);
    return 0;
}

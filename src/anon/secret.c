/* secret.c — the site secret file that keys UID replacement: created with
 * 32 random bytes (hex, mode 0600) on first use, read as SHA-256 of its
 * contents. Shared by the command line and the gateway, so both give the
 * same UIDs for the same input. Whoever reads it can recompute which
 * original UID became which: a file group or others may read is refused,
 * as the vault key is. */
#include "anon/anon.h"
#include "dicom/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

static dqr_status create(const char *path, bool *created, dqr_error *err)
{
    uint8_t r[32];
    char hex[66];
    if (dqr_make_parent_dirs(path, 0700) != 0 || getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return dqr_error_set(err, DQR_E_IO, "%s: cannot create the UID secret: %s", path, strerror(errno));
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", r[i]);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return DQR_OK; /* another process made it first */
    bool ok = fd >= 0 && write(fd, hex, 65) == 65 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return dqr_error_set(err, DQR_E_IO, "%s: cannot create the UID secret: %s", path, strerror(errno));
    *created = true;
    return DQR_OK;
}

dqr_status anon_secret_load(const char *path, bool create_missing, uint8_t key[32], bool *created, dqr_error *err)
{
    bool made = false;
    if (create_missing && access(path, F_OK) != 0) {
        dqr_status st = create(path, &made, err);
        if (st)
            return st;
    }
    if (created)
        *created = made;
    FILE *f = fopen(path, "rbe");
    if (!f)
        return dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fclose(f);
        return dqr_error_set(err, DQR_E_USAGE, "UID secret %s is readable by others: chmod 600 it", path);
    }
    uint8_t buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n < 16)
        return dqr_error_set(err, DQR_E_USAGE, "%s: a UID secret needs at least 16 bytes", path);
    unsigned len = 0;
    EVP_Digest(buf, n, key, &len, EVP_sha256(), NULL);
    return DQR_OK;
}

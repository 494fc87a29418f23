/* check_config.c — `dqr serve --check-config`: the settings have already
 * parsed (gw_config_load); this looks at what they name, the way the start
 * would, without creating a file or opening a port: TLS certificates and
 * keys load and match, key files are private, the catalog is reachable and
 * not newer than this dqr. Every problem is reported, not only the first,
 * so one run lists all a administrator has to fix. */
#include "cli/check_config.h"

#include "cli/cli.h"
#include "net/assoc.h"
#include "store/store.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/stat.h>

static bool set(const char *s)
{
    return s && *s;
}

/* One certificate and key pair (a server's), as the listener would load it. */
static int check_tls(const char *what, const char *cert, const char *key, const char *ca)
{
    if (!set(cert) && !set(key))
        return 0;
    if (!set(cert) || !set(key)) {
        cli_error("serve: %s: a TLS certificate needs its key and a key its certificate", what);
        return 1;
    }
    net_tls t = {.enabled = true, .cert = cert, .key = key, .ca = set(ca) ? ca : NULL};
    dqr_error err = {0};
    SSL_CTX *ctx = net_tls_context(&t, true, &err);
    if (!ctx) {
        cli_error("serve: %s: %s (certificate %s, key %s)", what, err.message, cert, key);
        return 1;
    }
    SSL_CTX_free(ctx);
    return 0;
}

/* A secret file (vault key, UID secret): missing is fine (the start creates
 * it), present it must be readable by its owner only. */
static int check_secret(const char *what, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return 0;
        cli_error("serve: %s %s: %s", what, path, strerror(errno));
        return 1;
    }
    if (sb.st_mode & 077) {
        cli_error("serve: %s %s is readable by others: chmod 600 it", what, path);
        return 1;
    }
    return 0;
}

int cli_check_config(const gw_config *cfg)
{
    int bad = check_tls("http_tls_cert", cfg->http_tls_cert, cfg->http_tls_key, NULL);
    gw_receiver rx[GW_MAX_RECEIVERS];
    char msg[512];
    int n = gw_config_receivers(cfg, rx, msg, sizeof msg);
    if (n < 0) {
        cli_error("serve: %s", msg);
        bad++;
    }
    for (int i = 0; i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "receiver %.16s", rx[i].aet);
        bad += check_tls(what, rx[i].tls_cert, rx[i].tls_key, rx[i].tls_ca);
    }
    bad += check_secret("vault key", cfg->vault_key_file);
    bad += check_secret("UID secret", cfg->uid_secret_file);
    int version = 0;
    dqr_error err = {0};
    if (store_check(cfg->catalog, &version, &err) != DQR_OK) {
        cli_error("serve: %s", err.message);
        bad++;
    }
    return bad;
}

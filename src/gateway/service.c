/* service.c — starting and stopping the gateway. */
#include "gateway/import.h"
#include "dicom/fs.h"
#include "web/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p path (mode 0700: the data directory is not for other users). */
static dqr_status make_dirs(const char *path, dqr_error *err)
{
    if (dqr_make_dirs(path, 0700) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot create %s: %s", path, strerror(errno));
    return DQR_OK;
}

static dqr_status open_log(gw *g, dqr_error *err)
{
    if (strcmp(g->cfg.log_file, "-") == 0)
        return DQR_OK;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", g->cfg.log_file);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (make_dirs(dir, err) != DQR_OK)
            return err->code;
    }
    g->log = fopen(g->cfg.log_file, "ae");
    if (!g->log)
        return dqr_error_set(err, DQR_E_IO, "log_file %s: %s", g->cfg.log_file, strerror(errno));
    return DQR_OK;
}

gw *gw_start(const gw_config *cfg, dqr_error *err)
{
    gw *g = calloc(1, sizeof *g);
    if (!g) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&g->log_lock, NULL);
    pthread_mutex_init(&g->jobs_lock, NULL);
    pthread_mutex_init(&g->sends_lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->started = time(NULL);
    dqr_status st = gw_config_copy(&g->cfg, cfg, err);
    if (st == DQR_OK)
        st = make_dirs(g->cfg.data_dir, err);
    if (st == DQR_OK)
        st = open_log(g, err);
    if (st == DQR_OK && (!(g->qc = gw_qcache_new()) || !(g->peers = gw_peers_new())))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (st == DQR_OK && !(g->vault = store_vault_open(g->cfg.vault_key_file, err)))
        st = err->code;
    if (st == DQR_OK && !(g->db = store_open(g->cfg.catalog, err)))
        st = err->code;
    if (st == DQR_OK)
        st = gw_auth_bootstrap(g, err);
    if (st == DQR_OK)
        st = gw_import_start(g, err);
    if (st == DQR_OK) {
        http_config hc = {.addr = g->cfg.http_addr, .port = g->cfg.http_port,
                          .max_connections = (unsigned)g->cfg.http_max_connections};
        if (!(g->http = http_server_start(&hc, gw_dispatch, g, err)))
            st = err->code;
    }
    if (st != DQR_OK) {
        gw_stop(g);
        return NULL;
    }
    gw_log(g, "info", "start", "http=%s:%d catalog=%s schema=%d", g->cfg.http_addr, http_server_port(g->http),
           store_backend(g->db), store_schema_version(g->db));
    return g;
}

const char *gw_bootstrap_password(const gw *g)
{
    return g->boot_password;
}

void gw_forget_password(gw *g)
{
    gw_wipe(g->boot_password);
    g->boot_password = NULL;
}

int gw_http_port(const gw *g)
{
    return http_server_port(g->http);
}

void gw_stop(gw *g)
{
    if (!g)
        return;
    http_server_stop(g->http); /* no new requests; running ones finish */
    gw_import_stop(g);         /* running transfers end and requeue */
    if (g->http)
        gw_log(g, "info", "stop", "requests=%lld", (long long)g->m.http_requests);
    store_close(g->db);
    store_vault_close(g->vault);
    gw_qcache_free(g->qc);
    gw_peers_free(g->peers);
    gw_forget_password(g);
    if (g->log)
        fclose(g->log);
    gw_config_free(&g->cfg);
    pthread_mutex_destroy(&g->log_lock);
    pthread_mutex_destroy(&g->jobs_lock);
    gw_sends_free(g);
    pthread_mutex_destroy(&g->sends_lock);
    pthread_cond_destroy(&g->wake);
    pthread_cond_destroy(&g->idle);
    free(g);
}

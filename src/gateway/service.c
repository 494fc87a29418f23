/* service.c — starting and stopping the gateway. */
#include "gateway/archive/scp.h"
#include "gateway/import/pixel_verify.h"
#include "gateway/import/reindex.h"
#include "gateway/import/scheduler.h"
#include "gateway/core/sealed.h"
#include "gateway/accounts/accounts.h"
#include "gateway/api/routes.h"
#include "gateway/pacs/peers.h"
#include "gateway/pacs/qcache.h"
#include "dicom/fs.h"
#include "web/client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p path (mode 0700: the data directory is not for other users). */
static dqr_status make_dirs(const char *path, dqr_error *err)
{
    if (dqr_make_dirs(path, 0700) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot create %s: %s", path, strerror(errno));
    return DQR_OK;
}

/* The data directory, made private: created 0700, or tightened to 0700
 * when it exists with a wider mode (logged once the log is open: an
 * operator who made it 0755 learns why it changed). */
static dqr_status make_data_dir(gw *g, bool *tightened, dqr_error *err)
{
    int changed = 0;
    dqr_status st = make_dirs(g->cfg.data_dir, err);
    if (st == DQR_OK && dqr_tighten_mode(g->cfg.data_dir, 0700, &changed) != 0)
        st = dqr_error_set(err, DQR_E_IO, "data_dir %s: cannot make it private (chmod 700): %s", g->cfg.data_dir,
                           strerror(errno));
    *tightened = changed != 0;
    return st;
}

/* An SQLite catalog's file, created 0600 before SQLite opens it: SQLite
 * gives its -wal and -shm files the mode of the database file. */
static dqr_status private_catalog(gw *g, dqr_error *err)
{
    const char *url = g->cfg.catalog;
    if (strncmp(url, "postgres", 8) == 0)
        return DQR_OK;
    const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
    if (!*path || strcmp(path, ":memory:") == 0)
        return DQR_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return dqr_error_set(err, DQR_E_IO, "catalog %s: %s", path, strerror(errno));
    close(fd);
    /* one made by an older dqr may be 0644: its -wal and -shm would follow */
    if (dqr_tighten_mode(path, 0600, NULL) != 0)
        return dqr_error_set(err, DQR_E_IO, "catalog %s: cannot make it private (chmod 600): %s", path,
                             strerror(errno));
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
    int fd = dqr_open_append(g->cfg.log_file, 0600);
    g->log = fd >= 0 ? fdopen(fd, "a") : NULL;
    if (fd >= 0 && !g->log)
        close(fd);
    if (!g->log)
        return dqr_error_set(err, DQR_E_IO, "log_file %s: %s", g->cfg.log_file, strerror(errno));
    return DQR_OK;
}

/* The retention purge: at start, then every history_purge_seconds, on
 * every node (receive-only ones too), so PHI past its retention goes
 * whether or not anyone opens a history page. */
static void *purge_loop(void *p)
{
    gw *g = p;
    pthread_mutex_lock(&g->purge_lock);
    while (!g->purge_stop) {
        pthread_mutex_unlock(&g->purge_lock);
        gw_history_purge(g);
        pthread_mutex_lock(&g->purge_lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += g->cfg.history_purge_seconds;
        while (!g->purge_stop && pthread_cond_timedwait(&g->purge_wake, &g->purge_lock, &until) == 0)
            ; /* woken only to stop */
    }
    pthread_mutex_unlock(&g->purge_lock);
    return NULL;
}

static dqr_status start_purge(gw *g, dqr_error *err)
{
    if (pthread_create(&g->purge_thread, NULL, purge_loop, g) != 0)
        return dqr_error_set(err, DQR_E_IO, "cannot start the retention purge thread");
    g->purge_started = true;
    return DQR_OK;
}

static void stop_purge(gw *g)
{
    if (!g->purge_started)
        return;
    pthread_mutex_lock(&g->purge_lock);
    g->purge_stop = true;
    pthread_cond_broadcast(&g->purge_wake);
    pthread_mutex_unlock(&g->purge_lock);
    pthread_join(g->purge_thread, NULL);
    g->purge_started = false;
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
    pthread_mutex_init(&g->ocr_lock, NULL);
    pthread_cond_init(&g->wake, NULL);
    pthread_cond_init(&g->idle, NULL);
    pthread_mutex_init(&g->purge_lock, NULL);
    pthread_cond_init(&g->purge_wake, NULL);
    g->started = time(NULL);
    bool tightened = false;
    dqr_status st = gw_config_copy(&g->cfg, cfg, err);
    if (st == DQR_OK)
        st = make_data_dir(g, &tightened, err);
    if (st == DQR_OK)
        st = open_log(g, err);
    if (st == DQR_OK && tightened)
        gw_log(g, "warn", "data_dir_private", "dir=%s mode=0700 (it was open to other users)", g->cfg.data_dir);
    if (st == DQR_OK && (!(g->qc = gw_qcache_new()) || !(g->peers = gw_peers_new())))
        st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (st == DQR_OK)
        st = private_catalog(g, err);
    if (st == DQR_OK && !(g->db = store_open(g->cfg.catalog, err)))
        st = err->code;
    /* after the catalog: a missing key is refused when sealed values exist */
    if (st == DQR_OK && !(g->vault = store_vault_open_for(g->cfg.vault_key_file, g->db, err)))
        st = err->code;
    if (st == DQR_OK)
        st = gw_study_seal_clear(g, err);
    if (st == DQR_OK)
        st = gw_auth_bootstrap(g, err);
    g->qr.accept = gw_scp_accept, g->qr.find = gw_scp_find, g->qr.retrieve = gw_scp_retrieve;
    if (st == DQR_OK)
        st = gw_import_start(g, err); /* the receivers, with the archive's Q/R SCP */
    if (st == DQR_OK)
        st = start_purge(g, err);
    if (st == DQR_OK)
        st = gw_reindex_start(g, err); /* rows from before migration 13: QIDO-RS and C-FIND need their columns */
    if (st == DQR_OK) {
        http_config hc = {.addr = g->cfg.http_addr, .port = g->cfg.http_port,
                          .max_connections = (unsigned)g->cfg.http_max_connections,
                          .max_per_address = (unsigned)g->cfg.http_max_per_address,
                          .timeout_s = (unsigned)g->cfg.http_timeout_s,
                          .stream_send_buffer = (unsigned)g->cfg.http_send_buffer_kib * 1024u,
                          .large_prefix = "/dicom-web/", /* STOW-RS bodies */
                          .max_large_body = (size_t)g->cfg.stow_max_bytes,
                          .tls_cert = g->cfg.http_tls_cert, .tls_key = g->cfg.http_tls_key};
        if (!(g->http = http_server_start(&hc, gw_dispatch, g, err)))
            st = err->code;
    }
    if (st != DQR_OK) {
        gw_stop(g);
        return NULL;
    }
    gw_log(g, "info", "start", "http=%s:%d%s catalog=%s schema=%d", g->cfg.http_addr,
           http_server_port(g->http), http_server_tls(g->http) ? " (https)" : "", store_backend(g->db), store_schema_version(g->db));
    gw_audit(g, 0, "application_start", g->cfg.aet);
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
    stop_purge(g);
    gw_reindex_stop(g);
    if (g->http) {
        gw_log(g, "info", "stop", "requests=%lld", (long long)g->m.http_requests);
        gw_audit(g, 0, "application_stop", g->cfg.aet);
    }
    store_close(g->db);
    store_vault_close(g->vault);
    gw_qcache_free(g->qc);
    gw_peers_free(g->peers);
    gw_forget_password(g);
    gw_auth_free(g->auth);
    if (g->log)
        fclose(g->log);
    gw_config_free(&g->cfg);
    pthread_mutex_destroy(&g->log_lock);
    pthread_mutex_destroy(&g->jobs_lock);
    gw_sends_free(g);
    pthread_mutex_destroy(&g->sends_lock);
    gw_ocr_engines_free(g);
    pthread_mutex_destroy(&g->ocr_lock);
    pthread_cond_destroy(&g->wake);
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->purge_lock);
    pthread_cond_destroy(&g->purge_wake);
    free(g);
}

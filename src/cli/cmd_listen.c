/* cmd_listen.c — `dqr listen --port P --aet AE --out DIR [de-identification]`:
 * a storage SCP (C-ECHO, C-STORE), from any calling AE unless --allow-aet
 * names those accepted, writing each instance atomically to
 * OUT/<SOPInstanceUID>.dcm. With --script/--profile, received data is held
 * in memory and de-identified before anything is written: the original
 * never reaches the disk. Runs until SIGINT or SIGTERM. */
#include "cli/netopts.h"
#include "cli/steps.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ALLOWED 64

typedef struct listener {
    const char *out;
    steps st;
    bool quiet;
    atomic_size_t stored, rejected, failed;
    pthread_mutex_t log_lock;
} listener;

static net_server *g_server_for_signal; /* the one thing a signal handler may reach */

static void on_signal(int sig)
{
    (void)sig;
    if (g_server_for_signal)
        net_server_stop(g_server_for_signal);
}

/* Also called with error texts of our own, which may quote received bytes:
 * escaped here too (net_log_escape changes nothing in an escaped line). */
static void log_line(void *ctx, const char *line)
{
    listener *l = ctx;
    if (l->quiet)
        return;
    char safe[1024];
    pthread_mutex_lock(&l->log_lock);
    fprintf(stderr, "dqr: listen: %s\n", net_log_escape(safe, sizeof safe, line, false));
    pthread_mutex_unlock(&l->log_lock);
}

/* OUT/<uid>.dcm; UIDs hold only digits and dots, but check: no path tricks. */
static int out_path(const listener *l, const char *uid, char *buf, size_t cap)
{
    if (!*uid || strspn(uid, "0123456789.") != strlen(uid))
        return -1;
    return snprintf(buf, cap, "%s/%s.dcm", l->out, uid) < (int)cap ? 0 : -1;
}

static uint16_t deidentify(listener *l, const net_received *r)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_parse_borrowed(r->data, r->len, &err); /* r->data lives until we return */
    if (!f) {
        log_line(l, err.message);
        return 0xC000;
    }
    anon_session *s = steps_session(&l->st);
    size_t words = 0;
    unsigned frames = 0;
    int px = 0;
    anon_result res = steps_run(&l->st, s, &f, &px, &frames, &words, &err);
    anon_session_free(s);
    uint16_t status = 0;
    char uid[65] = "", path[4096];
    if (words) {
        char line[160]; /* counts only: the words are PHI */
        snprintf(line, sizeof line, "burned-in text: %zu words in %u frames%s", words, frames,
                 px ? " (not written)" : "");
        log_line(l, line);
    }
    if (px == 1) {
        atomic_fetch_add(&l->rejected, 1);
    } else if (res == ANON_REJECTED) {
        atomic_fetch_add(&l->rejected, 1);
        log_line(l, "an instance was rejected by a script (not written)");
    } else if (res == ANON_FAILED) {
        atomic_fetch_add(&l->failed, 1);
        log_line(l, err.message);
        status = 0xC000;
    } else {
        dcm_dataset_get_string(dcm_file_dataset(f), DCM_TAG(0x0008, 0x0018), uid, sizeof uid);
        dcm_dataset *meta = dcm_file_meta(f);
        dcm_dataset_remove(meta, DCM_TAG(0x0002, 0x0016));
        dcm_write_options opts = {.zero_preamble = true, .no_sync = true};
        if (out_path(l, uid, path, sizeof path) || dcm_file_write(f, path, &opts, &err)) {
            atomic_fetch_add(&l->failed, 1);
            log_line(l, err.message[0] ? err.message : "bad SOP Instance UID after de-identification");
            status = 0xA700;
        } else {
            atomic_fetch_add(&l->stored, 1);
        }
    }
    dcm_file_close(f);
    return status;
}

static uint16_t on_store(void *ctx, const net_received *r)
{
    listener *l = ctx;
    if (r->data)
        return deidentify(l, r);
    char path[4096];
    if (out_path(l, r->sop_instance, path, sizeof path) || rename(r->tmp_path, path) != 0) {
        unlink(r->tmp_path);
        atomic_fetch_add(&l->failed, 1);
        log_line(l, "cannot store an instance (bad SOP Instance UID or the output folder)");
        return 0xA700;
    }
    atomic_fetch_add(&l->stored, 1);
    return 0;
}

int cmd_listen(int argc, char **argv)
{
    const dqr_command *self = cli_find("listen");
    listener l = {0};
    netopts o = {0};
    const char *allowed[MAX_ALLOWED + 1] = {0}, *bind = "127.0.0.1";
    size_t nallowed = 0;
    long max_assocs = 32;
    o.port = -1;
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int t = netopts_take(self, &o, argc, argv, &i);
        if (!t)
            t = steps_take(self, &l.st, argc, argv, &i);
        if (t < 0)
            rc = DQR_EXIT_USAGE;
        if (t)
            continue;
        if (strcmp(a, "--port") == 0 && val && (o.port = netopts_port(val)) >= 0)
            i++;
        else if (strcmp(a, "--out") == 0 && val)
            l.out = argv[++i];
        else if (strcmp(a, "--bind") == 0 && val)
            bind = argv[++i];
        else if ((strcmp(a, "--allow-aet") == 0 || strcmp(a, "--accept-from") == 0) && val && nallowed < MAX_ALLOWED)
            allowed[nallowed++] = argv[++i];
        else if (strcmp(a, "--max-assocs") == 0 && val && (max_assocs = strtol(val, NULL, 10)) > 0)
            i++;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            l.quiet = true;
        else
            rc = cli_usage_error(self, "bad or unknown option '%s'", a);
    }
    if (!rc && (o.port < 0 || !o.aet || !l.out))
        rc = cli_usage_error(self, "needs --port P --aet AE --out DIR");
    if (!rc && (o.tls.insecure || o.tls.name))
        rc = cli_usage_error(self, "--tls-insecure and --tls-name are for requestors; a listener checks "
                                   "client certificates with --tls-ca");
    if (!rc && o.tls.enabled && !o.tls.cert)
        rc = cli_usage_error(self, "--tls needs --tls-cert FILE (and --tls-key FILE unless the key is in it)");
    if (!rc && l.st.pixel_rules_path && !l.st.n)
        rc = cli_usage_error(self, "--pixel-rules needs --script or --profile (pixels are cleaned in memory)");
    if (!rc && l.st.n && steps_build(&l.st) != 0)
        rc = DQR_EXIT_USAGE;
    struct stat sb;
    if (!rc && (stat(l.out, &sb) != 0 || !S_ISDIR(sb.st_mode)) && mkdir(l.out, 0755) != 0) {
        cli_error("%s: %s", l.out, strerror(errno));
        rc = DQR_EXIT_FAIL;
    }
    if (rc) {
        steps_free(&l.st);
        return rc;
    }
    pthread_mutex_init(&l.log_lock, NULL);
    net_server_config cfg = {
        .aet = o.aet, .bind = bind, .port = o.port, .allowed = nallowed ? allowed : NULL,
        .tmp_dir = l.out, .spool_memory = l.st.n > 0, .max_assocs = (int)max_assocs,
        .timeout_s = o.timeout, .tls = o.tls, .on_store = on_store, .ctx = &l, .log = log_line,
    };
    dqr_error err = {0};
    net_server *srv = net_server_new(&cfg, &err);
    if (!srv) {
        cli_error("listen: %s", err.message);
        steps_free(&l.st);
        return DQR_EXIT_FAIL;
    }
    g_server_for_signal = srv;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!l.quiet)
        fprintf(stderr, "dqr: listen: %s on %s:%d%s, writing to %s%s\n", o.aet, bind, net_server_port(srv),
                o.tls.enabled ? " (TLS)" : "", l.out, l.st.n ? " (de-identifying in memory)" : "");
    dqr_status st = net_server_run(srv, &err);
    net_server_free(srv);
    g_server_for_signal = NULL;
    if (!l.quiet)
        printf("listen: %zu stored, %zu rejected, %zu failed\n", atomic_load(&l.stored), atomic_load(&l.rejected),
               atomic_load(&l.failed));
    steps_free(&l.st);
    pthread_mutex_destroy(&l.log_lock);
    if (st)
        cli_error("listen: %s", err.message);
    return st ? DQR_EXIT_FAIL : DQR_EXIT_OK;
}

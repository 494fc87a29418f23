/* cmd_serve.c — `dqr serve`: load the settings, start the gateway, wait for
 * SIGTERM or SIGINT, stop it cleanly; SIGHUP (`systemctl reload`) re-reads
 * the config file and applies what can change live (gw_reload). Everything the gateway creates is for
 * its own user only: umask 077 before anything is made, whatever umask the
 * service manager or shell passed on. Debian's Tesseract uses OpenMP: with
 * one engine per worker, OpenMP threads on top only compete for the cores,
 * so OMP_THREAD_LIMIT=1 unless the environment says otherwise. libgomp
 * reads its environment once, when it is loaded (before main), so setting
 * it is not enough: dqr serve runs itself again with it set. */
#include "cli/check_config.h"
#include "cli/cli.h"
#include "gateway/gw.h"
#include "web/client.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Run this same command line again with OMP_THREAD_LIMIT=1 when it is not
 * set; returns only when that cannot be done (the service then runs with
 * OpenMP's default, which is slower, not wrong). */
static void limit_openmp(void)
{
    if (getenv("OMP_THREAD_LIMIT"))
        return;
    static char line[65536];
    char *args[256];
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0 || (size_t)n == sizeof line - 1)
        return;
    line[n] = '\0';
    size_t k = 0;
    for (char *p = line; p < line + n && k < sizeof args / sizeof *args - 1; p += strlen(p) + 1)
        args[k++] = p;
    args[k] = NULL;
    if (setenv("OMP_THREAD_LIMIT", "1", 0) == 0)
        execv("/proc/self/exe", args);
    cli_error("serve: warning: cannot restart with OMP_THREAD_LIMIT=1; OCR engines may start extra threads");
}

int cmd_serve(int argc, char **argv)
{
    const dqr_command *self = cli_find("serve");
    const char *config = NULL;
    bool print = false, keys = false, check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "--print-config") == 0)
            print = true;
        else if (strcmp(argv[i], "--list-keys") == 0)
            keys = true;
        else if (strcmp(argv[i], "--check-config") == 0)
            check = true;
        else
            return cli_usage_error(self, "unknown argument '%s'", argv[i]);
    }
    if (keys) {
        gw_config_print_keys(stdout);
        return DQR_EXIT_OK;
    }
    limit_openmp();
    umask(077);
    gw_config cfg;
    dqr_error err = {0};
    if (gw_config_load(&cfg, config, &err) != DQR_OK) {
        cli_error("serve: %s", err.message);
        return DQR_EXIT_USAGE;
    }
    if (check) { /* the start's checks, starting nothing */
        int bad = cli_check_config(&cfg);
        gw_config_free(&cfg);
        if (bad)
            return DQR_EXIT_USAGE;
        printf("config ok\n");
        return DQR_EXIT_OK;
    }
    if (print) {
        gw_config_print(&cfg, stdout);
        gw_config_free(&cfg);
        return DQR_EXIT_OK;
    }
    /* Block the stop and reload signals before any thread starts, so they all inherit
     * the mask and only sigwait below sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    http_client_init();
    gw *g = gw_start(&cfg, &err);
    if (!g) {
        cli_error("serve: %s", err.message);
        gw_config_free(&cfg);
        http_client_cleanup();
        return err.code == DQR_E_USAGE ? DQR_EXIT_USAGE : DQR_EXIT_FAIL;
    }
    if (gw_bootstrap_password(g)) {
        fprintf(stderr,
                "dqr: first start: created user admin with password %s\n"
                "dqr: it is shown only this once; change it with PUT /api/v1/me/password\n",
                gw_bootstrap_password(g));
        gw_forget_password(g);
    }
    fprintf(stderr, "dqr: serving %s://%s:%d (data in %s); stop with Ctrl-C\n", *cfg.http_tls_cert ? "https" : "http",
            cfg.http_addr, gw_http_port(g),
            cfg.data_dir);
    int sig = 0;
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP) {
        dqr_error rerr = {0};
        if (gw_reload(g, config, &rerr) != DQR_OK)
            cli_error("serve: reload: %s (running settings unchanged)", rerr.message);
    }
    fprintf(stderr, "dqr: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    gw_stop(g);
    gw_config_free(&cfg);
    http_client_cleanup();
    return DQR_EXIT_OK;
}

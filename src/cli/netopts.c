/* netopts.c — shared parsing for the network commands. */
#include "cli/netopts.h"

#include <stdlib.h>
#include <string.h>

int netopts_port(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (end == s || *end || v < 0 || v > 65535) ? -1 : (int)v;
}

static bool valid_ae(const char *ae)
{
    size_t n = strlen(ae);
    if (n == 0 || n > 16)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ae[i] == '\\' || (unsigned char)ae[i] < 0x20)
            return false;
    return true;
}

int netopts_take(const dqr_command *self, netopts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool has = *i + 1 < argc;
    if (strcmp(a, "--aet") == 0 || strcmp(a, "--call") == 0) {
        if (!has || !valid_ae(argv[*i + 1]))
            return cli_usage_error(self, "%s needs an AE title (1 to 16 characters)", a), -1;
        *(a[2] == 'a' ? &o->aet : &o->call) = argv[++*i];
        return 1;
    }
    if (strcmp(a, "--tls") == 0 || strcmp(a, "--tls-insecure") == 0) {
        o->tls.enabled = true;
        o->tls.insecure |= a[5] == '-';
        return 1;
    }
    if (strcmp(a, "--tls-name") == 0) {
        if (!has || !*argv[*i + 1])
            return cli_usage_error(self, "--tls-name needs the host name the peer's certificate holds"), -1;
        o->tls.name = argv[++*i];
        o->tls.enabled = true;
        return 1;
    }
    if (strcmp(a, "--tls-cert") == 0 || strcmp(a, "--tls-key") == 0 || strcmp(a, "--tls-ca") == 0) {
        if (!has)
            return cli_usage_error(self, "%s needs a PEM file", a), -1;
        const char **slot = a[6] == 'c' && a[7] == 'e' ? &o->tls.cert : a[6] == 'k' ? &o->tls.key : &o->tls.ca;
        *slot = argv[++*i];
        o->tls.enabled = true;
        return 1;
    }
    if (strcmp(a, "--timeout") == 0) {
        char *end;
        long v = has ? strtol(argv[*i + 1], &end, 10) : 0;
        if (!has || *end || v < 1 || v > 3600)
            return cli_usage_error(self, "--timeout needs seconds (1 to 3600)"), -1;
        o->timeout = (int)v;
        ++*i;
        return 1;
    }
    return 0;
}

int netopts_params(const dqr_command *self, const netopts *o, net_params *p)
{
    (void)self;
    memset(p, 0, sizeof *p);
    snprintf(p->calling_aet, sizeof p->calling_aet, "%s", o->aet ? o->aet : "DQR");
    snprintf(p->called_aet, sizeof p->called_aet, "%s", o->call ? o->call : "ANY-SCP");
    p->timeout_s = o->timeout ? o->timeout : 30;
    p->tls = o->tls;
    if (o->tls.insecure)
        cli_error("warning: --tls-insecure: the peer's certificate is not verified; anyone on the network "
                  "path can pose as it");
    return 0;
}

int netopts_parse(const dqr_command *self, netopts *o, netopts_extra extra, void *ctx, int argc, char **argv,
                  const char **pos, int maxpos, bool want_host_port)
{
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        int t = netopts_take(self, o, argc, argv, &i);
        if (!t && extra)
            t = extra(ctx, self, argc, argv, &i);
        if (t < 0)
            return -1;
        if (t)
            continue;
        if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error(self, "unknown option '%s'", argv[i]), -1;
        if (npos == maxpos)
            return cli_usage_error(self, "too many arguments ('%s')", argv[i]), -1;
        pos[npos++] = argv[i];
    }
    if (want_host_port) {
        if (npos < 2 || (o->port = netopts_port(pos[1])) <= 0)
            return cli_usage_error(self, "needs HOST PORT"), -1;
        o->host = pos[0];
    }
    return npos;
}

/* slowdns.c — an LD_PRELOAD shim for tests/faults/slow_dns.py: a name
 * lookup (getaddrinfo) of a host containing SLOWDNS_MATCH waits SLOWDNS_MS
 * milliseconds (default 3000) and then fails as a DNS server that timed
 * out would (EAI_AGAIN); every other lookup goes to the C library. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    const char *match = getenv("SLOWDNS_MATCH"), *ms = getenv("SLOWDNS_MS");
    if (node && match && *match && strstr(node, match)) {
        long t = ms ? atol(ms) : 3000;
        struct timespec ts = {t / 1000, (t % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return EAI_AGAIN;
    }
    getaddrinfo_fn real;
    *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    return real ? real(node, service, hints, res) : EAI_FAIL;
}

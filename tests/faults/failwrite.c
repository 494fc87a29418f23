/* failwrite.c — an LD_PRELOAD shim for the fault tests: writes, syncs and
 * renames of files whose path contains FAILWRITE_MATCH fail with
 * FAILWRITE_ERRNO (ENOSPC, the default, or EIO) as a full or failing disk
 * would, so the tests see what dqr does then. Settings (environment):
 *   FAILWRITE_MATCH   substring of the paths concerned (required; unset: the
 *                     shim does nothing)
 *   FAILWRITE_OP      write (default), fsync or rename
 *   FAILWRITE_AFTER   write: bytes that still fit (the call crossing it is
 *                     cut short, the next fails); fsync/rename: calls that
 *                     still succeed
 *   FAILWRITE_ERRNO   ENOSPC or EIO
 * The path of a descriptor is read from /proc/self/fd, so files opened any
 * way (open, mkstemp, fopen) are covered. Counters are per process and
 * shared by its threads. Test code only: never linked into dqr. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_llong used; /* bytes written, or calls made, to matching paths */

static const char *match(void)
{
    const char *m = getenv("FAILWRITE_MATCH");
    return m && *m ? m : NULL;
}

static bool op_is(const char *op)
{
    const char *o = getenv("FAILWRITE_OP");
    return strcmp(o && *o ? o : "write", op) == 0;
}

static long long after(void)
{
    const char *a = getenv("FAILWRITE_AFTER");
    return a ? atoll(a) : 0;
}

static int fail_errno(void)
{
    const char *e = getenv("FAILWRITE_ERRNO");
    return e && strcmp(e, "EIO") == 0 ? EIO : ENOSPC;
}

static bool fd_matches(int fd)
{
    const char *m = match();
    if (!m || fd < 0)
        return false;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return false;
    path[n] = '\0';
    return strstr(path, m) != NULL;
}

/* How many of want bytes may be written (-1: none, fail). */
static ssize_t budget(int fd, size_t want)
{
    if (!op_is("write") || !fd_matches(fd))
        return (ssize_t)want;
    long long before = atomic_fetch_add(&used, (long long)want), limit = after();
    if (before >= limit)
        return -1;
    return before + (long long)want > limit ? (ssize_t)(limit - before) : (ssize_t)want;
}

/* Whether this fsync or rename call fails. */
static bool call_fails(const char *op)
{
    return op_is(op) && atomic_fetch_add(&used, 1) >= after();
}

#define REAL(ret, name, ...)                                                                                          \
    static ret (*real)(__VA_ARGS__);                                                                                  \
    if (!real)                                                                                                        \
        real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    ssize_t ok = budget(fd, n);
    if (ok < 0) {
        errno = fail_errno();
        return -1;
    }
    return real(fd, buf, (size_t)ok);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(ssize_t, "writev", int, const struct iovec *, int);
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    if (budget(fd, total) != (ssize_t)total) { /* a short writev is not worth modelling: fail it */
        errno = fail_errno();
        return -1;
    }
    return real(fd, iov, cnt);
}

size_t fwrite(const void *buf, size_t size, size_t count, FILE *fp)
{
    REAL(size_t, "fwrite", const void *, size_t, size_t, FILE *);
    if (size && count && budget(fileno(fp), size * count) != (ssize_t)(size * count)) {
        errno = fail_errno();
        return 0;
    }
    return real(buf, size, count, fp);
}

int fsync(int fd)
{
    REAL(int, "fsync", int);
    if (fd_matches(fd) && call_fails("fsync")) {
        errno = fail_errno();
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    REAL(int, "fdatasync", int);
    if (fd_matches(fd) && call_fails("fsync")) {
        errno = fail_errno();
        return -1;
    }
    return real(fd);
}

int syncfs(int fd)
{
    REAL(int, "syncfs", int);
    if (fd_matches(fd) && call_fails("fsync")) {
        errno = fail_errno();
        return -1;
    }
    return real(fd);
}

int rename(const char *from, const char *to)
{
    REAL(int, "rename", const char *, const char *);
    const char *m = match();
    if (m && strstr(to, m) && call_fails("rename")) {
        errno = fail_errno();
        return -1;
    }
    return real(from, to);
}

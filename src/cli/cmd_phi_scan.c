/* cmd_phi_scan.c — `dqr phi-scan [--canaries FILE] [--ignore TAG]... PATH...`:
 * report Annex E attributes that still carry identifying values in DICOM
 * files, and canary strings found in the raw bytes of any file. Exit 1 if
 * anything is found. */
#include "anon/anon.h"
#include "cli/cli.h"
#include "cli/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_IGNORE 64

typedef struct canaries {
    char **s;
    size_t n, maxlen;
} canaries;

static int load_canaries(const char *path, canaries *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
        if (!n)
            continue;
        if (c->n == cap) {
            cap = cap ? cap * 2 : 64;
            char **a = realloc(c->s, cap * sizeof *a);
            if (!a)
                break;
            c->s = a;
        }
        c->s[c->n++] = strdup(line);
        if (n > c->maxlen)
            c->maxlen = n;
    }
    fclose(f);
    return 0;
}

/* Every canary in the raw bytes of path; returns how many hits. */
static size_t grep_file(const char *path, const canaries *c)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    size_t keep = c->maxlen ? c->maxlen - 1 : 0, len = 0, hits = 0;
    size_t cap = (1u << 20) + keep;
    char *buf = malloc(cap);
    unsigned long long base = 0; /* file offset of buf[0] */
    ssize_t r;
    while (buf && (r = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)r;
        for (size_t k = 0; k < c->n; k++) {
            size_t cl = strlen(c->s[k]);
            for (char *p = buf; (p = memmem(p, len - (size_t)(p - buf), c->s[k], cl)); p++) {
                /* a hit wholly inside the kept tail was reported last round */
                if (base > 0 && (size_t)(p - buf) + cl <= keep)
                    continue;
                printf("%s: canary \"%s\" at byte %llu\n", path, c->s[k], base + (unsigned long long)(p - buf));
                hits++;
            }
        }
        size_t tail = len < keep ? len : keep;
        memmove(buf, buf + len - tail, tail);
        base += len - tail;
        len = tail;
    }
    free(buf);
    close(fd);
    return hits;
}

typedef struct report {
    const char *file;
} report;

static void print_finding(void *ctx, const char *path, const char *keyword, const char *why, const char *value)
{
    const report *r = ctx;
    char v[80] = "";
    if (value)
        snprintf(v, sizeof v, " \"%.60s%s\"", value, strlen(value) > 60 ? "..." : "");
    printf("%s: %s %s%s: %s\n", r->file, path, keyword, v, why);
}

int cmd_phi_scan(int argc, char **argv)
{
    const dqr_command *self = cli_find("phi-scan");
    canaries c = {0};
    uint32_t ignore[MAX_IGNORE];
    size_t nignore = 0, found = 0, files = 0, dicom = 0;
    file_list l = {0};
    int rc = DQR_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--canaries") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error(self, "--canaries needs a file");
            if (load_canaries(argv[++i], &c))
                return DQR_EXIT_USAGE;
        } else if (strcmp(argv[i], "--ignore") == 0) {
            if (i + 1 >= argc || nignore == MAX_IGNORE || dcm_tag_parse(argv[i + 1], &ignore[nignore]))
                return cli_usage_error(self, "--ignore needs a keyword or gggg,eeee");
            nignore++;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(self, "unknown option '%s'", argv[i]);
        } else if (file_list_add(&l, argv[i]) != 0) {
            cli_error("%s: %s", argv[i], strerror(errno));
            rc = DQR_EXIT_FAIL;
        }
    }
    if (!l.n && rc == DQR_EXIT_OK) {
        file_list_free(&l);
        return cli_usage_error(self, "give at least one PATH");
    }
    for (size_t i = 0; i < l.n; i++) {
        files++;
        if (c.n)
            found += grep_file(l.paths[i], &c);
        dqr_error err = {0};
        dcm_file *f = dcm_file_open(l.paths[i], &err);
        if (!f) {
            if (err.code != DQR_E_NOT_DICOM) {
                cli_error("%s", err.message);
                rc = DQR_EXIT_FAIL;
            }
            continue;
        }
        dicom++;
        report r = {l.paths[i]};
        found += anon_phi_scan(dcm_file_dataset(f), ignore, nignore, print_finding, &r);
        dcm_file_close(f);
    }
    printf("phi-scan: %zu finding%s in %zu files (%zu DICOM), %zu canaries searched\n", found,
           found == 1 ? "" : "s", files, dicom, c.n);
    for (size_t i = 0; i < c.n; i++)
        free(c.s[i]);
    free(c.s);
    file_list_free(&l);
    return found ? DQR_EXIT_FAIL : rc;
}

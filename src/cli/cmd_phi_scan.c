/* cmd_phi_scan.c — `dqr phi-scan [--canaries FILE] [--ignore TAG]...
 * [--pixels [--frames N] [--whitelist W,...] [--min-confidence C]] [--json] PATH...`:
 * report Annex E attributes that still carry identifying values in DICOM
 * files, canary strings found in the raw bytes of any file, and (--pixels)
 * words burned into the pixels, read by OCR, that the whitelist does not
 * allow. Exit 1 if anything is found. */
#include "anon/anon.h"
#include "cli/cli.h"
#include "cli/files.h"
#include "pixel/pixel.h"

#include <jansson.h>

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
    json_t *json;    /* the file's object with --json, else NULL */
    size_t found;
} report;

static void print_finding(void *ctx, const char *path, const char *keyword, const char *why, const char *value)
{
    const report *r = ctx;
    char v[80] = "";
    if (r->json) {
        json_array_append_new(json_object_get(r->json, "attributes"),
                              json_pack("{s:s,s:s,s:s?,s:s}", "path", path, "keyword", keyword,
                                        "value", value, "why", why));
        return;
    }
    if (value)
        snprintf(v, sizeof v, " \"%.60s%s\"", value, strlen(value) > 60 ? "..." : "");
    printf("%s: %s %s%s: %s\n", r->file, path, keyword, v, why);
}

/* The --pixels options. */
typedef struct pixel_opts {
    bool on;
    uint32_t frames;        /* 0: every frame */
    px_ocr_filter filter;
    px_ocr *ocr;            /* started at the first DICOM file with pixels */
} pixel_opts;

static int print_frame(void *ctx, uint32_t frame, const px_ocr_words *w)
{
    report *r = ctx;
    json_t *words = w->n && r->json ? json_array() : NULL;
    for (size_t i = 0; i < w->n; i++) {
        const px_ocr_word *x = &w->v[i];
        if (words)
            json_array_append_new(words, json_pack("{s:s,s:i,s:i,s:i,s:i,s:f}", "text", x->text,
                                                   "left", x->left, "top", x->top, "width", x->width,
                                                   "height", x->height, "confidence", (double)x->confidence));
        else
            printf("%s: frame %u: \"%s\" at %u,%u %ux%u confidence %.0f\n", r->file, frame + 1, x->text,
                   x->left, x->top, x->width, x->height, (double)x->confidence);
    }
    if (words)
        json_array_append_new(json_object_get(r->json, "frames"),
                              json_pack("{s:i,s:o}", "frame", frame + 1, "words", words));
    r->found += w->n;
    return 0;
}

/* OCR the frames of f; returns -1 when the file could not be read. */
static int scan_pixels(pixel_opts *p, const dcm_file *f, report *r)
{
    dqr_error err = {0};
    if (!dcm_dataset_get(dcm_file_dataset(f), DCM_TAG(0x7FE0, 0x0010)))
        return 0;
    if (!p->ocr && px_ocr_new(NULL, &p->ocr, &err)) {
        cli_error("%s", err.message);
        return -1;
    }
    if (px_ocr_scan(p->ocr, f, p->frames, &p->filter, print_frame, r, &err)) {
        cli_error("%s: %s", r->file, err.message);
        return -1;
    }
    return 0;
}

static int pixel_option(const dqr_command *self, int argc, char **argv, int *i, pixel_opts *p)
{
    const char *a = argv[*i];
    if (strcmp(a, "--pixels") == 0) {
        p->on = true;
        return 0;
    }
    if (*i + 1 >= argc)
        return cli_usage_error(self, "%s needs a value", a);
    const char *v = argv[++*i];
    char *end;
    if (strcmp(a, "--frames") == 0) {
        unsigned long n = strcmp(v, "all") == 0 ? 0 : strtoul(v, &end, 10);
        if (strcmp(v, "all") != 0 && (*end || !n || n > 100000))
            return cli_usage_error(self, "--frames needs all or a number of frames");
        p->frames = (uint32_t)n;
    } else if (strcmp(a, "--whitelist") == 0) {
        p->filter.extra = v;
    } else {
        double c = strtod(v, &end);
        if (*end || c < 0 || c > 100)
            return cli_usage_error(self, "--min-confidence needs a number from 0 to 100");
        p->filter.min_confidence = (float)c;
    }
    return 0;
}

static bool is_pixel_option(const char *a)
{
    return strcmp(a, "--pixels") == 0 || strcmp(a, "--frames") == 0 || strcmp(a, "--whitelist") == 0 ||
           strcmp(a, "--min-confidence") == 0;
}

int cmd_phi_scan(int argc, char **argv)
{
    const dqr_command *self = cli_find("phi-scan");
    canaries c = {0};
    uint32_t ignore[MAX_IGNORE];
    size_t nignore = 0, found = 0, files = 0, dicom = 0;
    file_list l = {0};
    int rc = DQR_EXIT_OK;
    bool json = false;
    pixel_opts px = {.filter = {.digits_ok = true, .min_confidence = PX_OCR_MIN_CONFIDENCE}};
    for (int i = 1; i < argc; i++) {
        if (is_pixel_option(argv[i])) {
            if (pixel_option(self, argc, argv, &i, &px))
                return DQR_EXIT_USAGE;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--canaries") == 0) {
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
    if (json && c.n) {
        file_list_free(&l);
        return cli_usage_error(self, "--json reports attributes and pixels, not --canaries");
    }
    if (!l.n && rc == DQR_EXIT_OK) {
        file_list_free(&l);
        return cli_usage_error(self, "give at least one PATH");
    }
    json_t *out = json ? json_array() : NULL;
    for (size_t i = 0; i < l.n; i++) {
        files++;
        if (c.n && !json)
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
        report r = {l.paths[i], NULL, 0};
        if (out) {
            r.json = json_pack("{s:s,s:[],s:[]}", "file", l.paths[i], "attributes", "frames");
            json_array_append_new(out, r.json);
        }
        found += anon_phi_scan(dcm_file_dataset(f), ignore, nignore, print_finding, &r);
        if (px.on && scan_pixels(&px, f, &r) != 0)
            rc = DQR_EXIT_FAIL;
        found += r.found;
        dcm_file_close(f);
    }
    if (out) {
        json_dumpf(out, stdout, JSON_INDENT(1));
        putchar('\n');
        json_decref(out);
    } else {
        printf("phi-scan: %zu finding%s in %zu files (%zu DICOM), %zu canaries searched\n", found,
               found == 1 ? "" : "s", files, dicom, c.n);
    }
    px_ocr_free(px.ocr);
    for (size_t i = 0; i < c.n; i++)
        free(c.s[i]);
    free(c.s);
    file_list_free(&l);
    return found ? DQR_EXIT_FAIL : rc;
}

/* files.c — recursive file lists and parent folders. */
#include "cli/files.h"
#include "dicom/fs.h"
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int push(file_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **p = realloc(l->paths, cap * sizeof *p);
        if (!p)
            return -1;
        l->paths = p;
        l->cap = cap;
    }
    if (!(l->paths[l->n] = strdup(path)))
        return -1;
    l->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(file_list *l, const char *path, int depth)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    if (S_ISREG(sb.st_mode))
        return push(l, path);
    if (!S_ISDIR(sb.st_mode) || depth > 64)
        return 0;
    DIR *d = opendir(path);
    if (!d) {
        if (depth == 0)
            return -1;
        cli_error("%s: %s (skipped)", path, strerror(errno));
        return 0;
    }
    size_t first = l->n;
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(n);
        if (!child) {
            rc = -1;
            break;
        }
        snprintf(child, n, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
        rc = walk(l, child, depth + 1);
        if (rc && depth > 0) {
            cli_error("%s: %s (skipped)", child, strerror(errno));
            rc = 0;
        }
        free(child);
    }
    closedir(d);
    qsort(l->paths + first, l->n - first, sizeof *l->paths, by_name);
    return rc;
}

int file_list_add(file_list *l, const char *path)
{
    return walk(l, path, 0);
}

void file_list_free(file_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    memset(l, 0, sizeof *l);
}

int make_parent_dirs(const char *path)
{
    return dqr_make_parent_dirs(path, 0755);
}

/* fs.c — folder creation. */
#include "dicom/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p of path's first n bytes' folders: each '/' after the first byte
 * ends one; with whole set, path itself too. */
static int make(const char *path, mode_t mode, int whole)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && !(whole && !*s)) {
            if (!*s)
                break;
            continue;
        }
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = c;
        if (!c)
            break;
    }
    free(p);
    return 0;
}

int dqr_make_parent_dirs(const char *path, mode_t mode)
{
    return make(path, mode, 0);
}

int dqr_make_dirs(const char *path, mode_t mode)
{
    return make(path, mode, 1);
}

/* fs.c — folder creation, and the modes of what dqr creates: every creator
 * passes its mode explicitly, so files holding data are private (0600, 0700)
 * whatever umask the process was started with. */
#include "dicom/fs.h"

#include <errno.h>
#include <fcntl.h>
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

int dqr_tighten_mode(const char *path, mode_t keep, int *changed)
{
    struct stat st;
    if (changed)
        *changed = 0;
    if (stat(path, &st) != 0)
        return -1;
    mode_t now = st.st_mode & 07777;
    if (!(now & ~keep))
        return 0;
    if (chmod(path, now & keep) != 0)
        return -1;
    if (changed)
        *changed = 1;
    return 0;
}

int dqr_open_append(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
}

int dqr_open_new(const char *path, mode_t mode)
{
    return open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
}

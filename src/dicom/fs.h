/* fs.h — small file-system helpers every layer needs (creating folders). */
#ifndef DQR_FS_H
#define DQR_FS_H

#include <sys/types.h>

/* mkdir -p of every folder above path's last component, with mode for the
 * folders it creates. 0, or -1 with errno set. */
int dqr_make_parent_dirs(const char *path, mode_t mode);
/* mkdir -p of path itself. */
int dqr_make_dirs(const char *path, mode_t mode);
/* Remove from folder or file path every permission bit outside keep (e.g.
 * 0700): a data directory made earlier, or by someone else, with a wider
 * mode is made private. *changed (may be NULL) tells whether it was wider.
 * 0, or -1 with errno set. */
int dqr_tighten_mode(const char *path, mode_t keep, int *changed);
/* Open path for appending, creating it with mode (less the umask) when it
 * is missing, as open(2) does; existing files keep theirs. The descriptor is
 * close-on-exec. A descriptor, or -1 with errno set. */
int dqr_open_append(const char *path, mode_t mode);
/* Create path for writing with mode (less the umask); it must not exist
 * (O_EXCL). A close-on-exec descriptor, or -1 with errno set. */
int dqr_open_new(const char *path, mode_t mode);

#endif

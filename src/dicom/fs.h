/* fs.h — small file-system helpers every layer needs (creating folders). */
#ifndef DQR_FS_H
#define DQR_FS_H

#include <sys/types.h>

/* mkdir -p of every folder above path's last component, with mode for the
 * folders it creates. 0, or -1 with errno set. */
int dqr_make_parent_dirs(const char *path, mode_t mode);
/* mkdir -p of path itself. */
int dqr_make_dirs(const char *path, mode_t mode);

#endif

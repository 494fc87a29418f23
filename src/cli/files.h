/* files.h — the list of regular files under a path (a file, or a folder
 * walked recursively, sorted), shared by the commands that take trees. */
#ifndef DQR_CLI_FILES_H
#define DQR_CLI_FILES_H

#include <stddef.h>

typedef struct file_list {
    char **paths;
    size_t n, cap;
} file_list;

/* Append every regular file under path. Returns 0, or -1 with errno set
 * (the path itself could not be read). Unreadable subfolders are reported
 * through cli_error and skipped. */
int file_list_add(file_list *l, const char *path);
void file_list_free(file_list *l);

/* mkdir -p for the folder part of path. 0 on success. */
int make_parent_dirs(const char *path);

#endif

/* lint_private.h — the part of `dqr lint` that lists, for each sample file,
 * the private attributes Retain Safe Private keeps and why. */
#ifndef DQR_CLI_LINT_PRIVATE_H
#define DQR_CLI_LINT_PRIVATE_H

#include <stddef.h>

/* Print, for each of samples[0..n), every private data element and whether
 * basic,retain-safe-private (with the site file safe_file, may be NULL)
 * keeps it: the Table E.3.10-1 row or the site file line, or why not.
 * Returns an exit code: 0, 1 a sample cannot be read, 2 a bad site file. */
int lint_private(const char *const *samples, size_t n, const char *safe_file);

#endif

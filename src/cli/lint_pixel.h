/* lint_pixel.h — the part of `dqr lint` that checks pixel-cleaning rule
 * files (CTP DicomPixelAnonymizer format) and shows, for each sample file,
 * which signature matches and the regions it would blank. */
#ifndef DQR_CLI_LINT_PIXEL_H
#define DQR_CLI_LINT_PIXEL_H

#include <stddef.h>

/* Compile each of files[0..nfiles) (errors name file:line:column, warnings
 * print as notes), then match every sample against each file. Returns an
 * exit code: 0, 1 a file or sample cannot be read, 2 a rules file does not
 * parse. */
int lint_pixel_rules(const char *const *files, size_t nfiles, const char *const *samples, size_t nsamples);

#endif

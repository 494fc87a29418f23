/* pixel_rules.h — pixel-cleaning rules by signature, in the format of CTP's
 * DicomPixelAnonymizer script, so that a site's existing CTP pixel script is
 * read unchanged.
 *
 * A rules file is a list of entries "{ signature } (left,top,width,height)...":
 * the signature is a boolean expression over the instance's attributes, the
 * regions that follow it (up to the next signature) are the rectangles to
 * blank when it matches. Everything outside the braces and the region
 * groups is commentary. As in CTP, an instance gets the regions of the FIRST
 * signature that matches, and none when no signature does.
 *
 * This module reads and matches; blanking the pixels is the pixel layer's.
 * A compiled rules object is immutable: many threads may match with it.
 */
#ifndef DQR_ANON_PIXEL_RULES_H
#define DQR_ANON_PIXEL_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "dicom/dicom.h"

typedef struct anon_pixel_rules anon_pixel_rules;

/* A rectangle as the file gives it, in pixels. A negative left (top) counts
 * from the right (bottom) edge, as CTP does; anon_pixel_region_clip turns
 * it into pixel coordinates for an image. */
typedef struct anon_pixel_region {
    int left, top, width, height;
} anon_pixel_region;

/* The signature an instance matched: its place in the file (from 0), where
 * its '{' is, its text (without the braces) and its regions, all borrowed
 * from the rules object. nregions may be 0: "this kind is known clean". */
typedef struct anon_pixel_match {
    size_t index;
    int line, column;
    const char *signature;
    const anon_pixel_region *regions;
    size_t nregions;
} anon_pixel_match;

/* Compile rules text. name labels messages ("site.script:12:7: ..."). A
 * signature that does not parse, an unknown method, a regular expression
 * that does not compile or a region group of four values that are not all
 * integers refuses the whole file: DQR_E_PARSE with err filled. A
 * parenthesised group that does not have four values is skipped with a
 * warning (CTP skips it too). Returns NULL with err filled. */
anon_pixel_rules *anon_pixel_rules_parse(const char *text, size_t len, const char *name, dqr_error *err);

/* Read and compile a rules file (DQR_E_IO when it cannot be read). */
anon_pixel_rules *anon_pixel_rules_load(const char *path, dqr_error *err);

void anon_pixel_rules_free(anon_pixel_rules *r);

/* How many signatures the file holds. */
size_t anon_pixel_rules_count(const anon_pixel_rules *r);

/* Warnings of the parse ("name:line:col: ..."), i < anon_pixel_rules_warning_count. */
size_t anon_pixel_rules_warning_count(const anon_pixel_rules *r);
const char *anon_pixel_rules_warning(const anon_pixel_rules *r, size_t i);

/* Match ds against the signatures in file order. Returns true and fills
 * *out with the first that matches; false when none does. */
bool anon_pixel_rules_match(const anon_pixel_rules *r, const dcm_dataset *ds, anon_pixel_match *out);

/* region in pixel coordinates of a rows x columns image, as CTP adjusts it:
 * a negative left/top counts from the far edge, then the rectangle is cut
 * to the image (width/height 0 when nothing of it is inside). */
anon_pixel_region anon_pixel_region_clip(anon_pixel_region region, int rows, int columns);

struct px_edit;
/* Match ds (as anon_pixel_rules_match) and add the regions of the signature
 * it matches to e, clipped to ds's Rows x Columns, filled with 0 (0,0,0 on
 * three-sample images) in every frame. *added gets how many (0 when nothing
 * matched or the match lists no region). DQR_E_PARSE when ds lacks Rows or
 * Columns and a signature matched. */
dqr_status anon_pixel_rules_edit(const anon_pixel_rules *r, const dcm_dataset *ds, struct px_edit *e, size_t *added,
                                 dqr_error *err);

#endif

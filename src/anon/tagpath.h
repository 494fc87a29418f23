/* tagpath.h — tag paths against datasets (see tagpath.c). Internal. */
#ifndef DQR_ANON_TAGPATH_H
#define DQR_ANON_TAGPATH_H

#include "anon/script.h"

/* Called for each matching element with the dataset that holds it; return
 * non-zero to stop. Do not change the tree from inside: collect, then act. */
typedef int (*tp_visit)(void *ctx, dcm_dataset *ds, dcm_element *el);
void tp_walk(const tagpath *p, dcm_dataset *root, tp_visit fn, void *ctx);

/* The element a singular path names, or NULL; *owner (may be NULL) gets the
 * dataset holding it. A sequence level without [n] means item 0. */
dcm_element *tp_find(const tagpath *p, dcm_dataset *root, dcm_dataset **owner);

/* Make the sequences, items and private creator a singular path needs;
 * return the dataset that is to hold the final attribute, its tag in *tag. */
dcm_dataset *tp_create(const tagpath *p, dcm_dataset *root, uint32_t *tag, dqr_error *err);

/* Parse a direct-notation path, "(gggg,eeee)" or "(gggg,eeee)[n]/(gggg,eeee)",
 * spaces ignored, hex digits only (odd groups included), no wildcards or
 * creator names. Returns false when text is not in that notation; true with
 * *out in a (NULL when the arena ran out of memory) when it is. */
bool tp_parse_direct(arena *a, const char *text, tagpath **out);

#endif

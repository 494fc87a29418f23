/* internal.h — codec internals shared by the files of src/dicom only.
 *
 * An element's value is in one of four shapes: bytes in memory, a range of a
 * source file (deferred, streamed on demand), a sequence of item datasets, or
 * encapsulated fragments (each itself bytes or a file range). Deferred ranges
 * hold a reference on their dcm_source so a copied dataset stays valid after
 * the file that produced it is closed.
 */
#ifndef DQR_DICOM_INTERNAL_H
#define DQR_DICOM_INTERNAL_H

#include "dicom/dicom.h"

/* A file descriptor shared by deferred values; closed when the last reference goes. */
typedef struct dcm_source {
    int fd;
    unsigned refs;
    char *path; /* for error messages */
} dcm_source;

dcm_source *dcm_source_new(int fd, const char *path);
dcm_source *dcm_source_ref(dcm_source *s);
void dcm_source_unref(dcm_source *s);

/* Bytes in memory or a byte range of a source file. */
typedef struct dcm_blob {
    uint8_t *bytes;        /* owned; NULL when deferred */
    dcm_source *src;       /* non-NULL when deferred */
    uint64_t offset;       /* file offset when deferred */
    uint32_t len;
    bool big_endian;       /* deferred bytes are in big-endian order */
    bool borrowed;         /* bytes point into a caller's buffer: not freed */
} dcm_blob;

enum dcm_kind { DCM_KIND_BLOB, DCM_KIND_SEQ, DCM_KIND_ENCAP };

struct dcm_element {
    uint32_t tag;
    dcm_vr vr;
    enum dcm_kind kind;
    bool undefined_length; /* SQ / encapsulated written with undefined length */
    bool implicit_seq;     /* UN with undefined length: items are Implicit VR LE */
    dcm_blob blob;         /* DCM_KIND_BLOB */
    dcm_dataset **items;   /* DCM_KIND_SEQ */
    dcm_blob *frags;       /* DCM_KIND_ENCAP; frags[0] is the offset table */
    size_t n, cap;         /* items or fragments */
    uint8_t depth;         /* sequences around the dataset holding it (0: top level) */
};

struct dcm_dataset {
    dcm_element *els;   /* sorted by tag */
    size_t n, cap;
    bool undefined_length; /* as an item: written with undefined length */
    uint8_t depth;         /* sequences around it: 0 for a top-level dataset */
    bool unsorted;         /* dcm_dataset_append put a tag out of order: sort before use */
};

/* Insert a zeroed element with tag (replacing an existing one, freed);
 * returns it or NULL on allocation failure. */
dcm_element *dcm_dataset_insert(dcm_dataset *ds, uint32_t tag);

/* For readers: append a zeroed element with tag in O(1), in whatever order
 * tags arrive. Until dcm_dataset_sort, ds is only appended to (lookups are
 * wrong). Returns NULL on allocation failure. */
dcm_element *dcm_dataset_append(dcm_dataset *ds, uint32_t tag);
/* Restore tag order after appends in O(n log n); of equal tags the last
 * appended stays (as dcm_dataset_insert replaces). Returns DQR_E_NOMEM if
 * the sort buffer cannot be had (ds is then left in arrival order). */
dqr_status dcm_dataset_sort(dcm_dataset *ds);

void dcm_element_clear(dcm_element *el);
void dcm_blob_free(dcm_blob *b);
dqr_status dcm_blob_read(const dcm_blob *b, dcm_vr vr, uint64_t offset, void *buf, size_t n,
                         dqr_error *err);

/* Reverse the bytes of each unit-sized value in buf (n a multiple of unit). */
void dcm_swap(uint8_t *buf, size_t n, size_t unit);

struct dcm_file {
    dcm_dataset *meta;
    dcm_dataset *ds;
    dcm_source *src;  /* NULL for in-memory parse */
    char ts[65];      /* transfer syntax read in */
    uint8_t preamble[128];
    bool has_preamble;
    dcm_pixel_writer *pixel_writer; /* dcm_file_set_pixel_writer, or NULL */
};

/* Free f's pixel writer (its context too) and clear it (write.c). */
void dcm_file_drop_pixel_writer(dcm_file *f);

static inline uint16_t dcm_rd16(const uint8_t *p, bool be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t dcm_rd32(const uint8_t *p, bool be)
{
    return be ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
              : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static inline void dcm_wr16(uint8_t *p, uint16_t v, bool be)
{
    if (be) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
    else { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
}

static inline void dcm_wr32(uint8_t *p, uint32_t v, bool be)
{
    if (be) { dcm_wr16(p, (uint16_t)(v >> 16), true); dcm_wr16(p + 2, (uint16_t)v, true); }
    else { dcm_wr16(p, (uint16_t)v, false); dcm_wr16(p + 2, (uint16_t)(v >> 16), false); }
}


#endif

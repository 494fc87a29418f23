/* dicom.h — the DICOM codec of libdqr: the layer everything else stands on.
 *
 * Reads and writes DICOM Part 10 files and bare datasets in Implicit VR LE,
 * Explicit VR LE, Explicit VR BE and Deflated Explicit VR LE; encapsulated
 * pixel data is kept fragment by fragment. A dataset is a tree of elements
 * sorted by tag; sequence items are datasets. Values read from a file that
 * are larger than DCM_DEFER_MIN stay on disk and are streamed when written or
 * read (dcm_element_read), so memory does not grow with file size.
 *
 * Values in memory are kept in little-endian byte order as they appear in a
 * little-endian stream; the writer swaps for big endian. Strings are raw
 * bytes in the dataset's Specific Character Set; dcm_charset turns them into
 * UTF-8 for output.
 *
 * Thread safety: distinct objects may be used from distinct threads; one
 * object must not be used by two threads at once. There is no global state.
 */
#ifndef DQR_DICOM_H
#define DQR_DICOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dicom/dict.h"
#include "dicom/error.h"
#include "dicom/vr.h"

#define DCM_UNDEFINED_LENGTH 0xFFFFFFFFu
/* Values at least this large are left on disk when reading a seekable file. */
#define DCM_DEFER_MIN (64u * 1024u)
/* Deepest nesting of sequences: a parse of deeper input fails naming the tag
 * path, and dcm_element_append_item refuses an item deeper than this
 * (DQR_E_LIMIT), so every recursive walk over a dataset is bounded. */
#define DCM_MAX_DEPTH 64

/* Reading Deflated Explicit VR Little Endian: past the first
 * DCM_INFLATE_RATIO_FREE inflated bytes, at most DCM_INFLATE_MAX_RATIO bytes
 * per compressed byte; and at most dcm_read_options.max_inflated bytes in all
 * (DCM_INFLATE_MAX_DEFAULT when not given). More fails with DQR_E_LIMIT. */
#define DCM_INFLATE_MAX_RATIO 200u
#define DCM_INFLATE_RATIO_FREE (1u << 20)
#define DCM_INFLATE_MAX_DEFAULT (1ull << 30)

#define DCM_TAG_ITEM DCM_TAG(0xFFFE, 0xE000)
#define DCM_TAG_ITEM_DELIM DCM_TAG(0xFFFE, 0xE00D)
#define DCM_TAG_SEQ_DELIM DCM_TAG(0xFFFE, 0xE0DD)
#define DCM_TAG_PIXEL_DATA DCM_TAG(0x7FE0, 0x0010)
#define DCM_TAG_SPECIFIC_CHARSET DCM_TAG(0x0008, 0x0005)
#define DCM_TAG_TRANSFER_SYNTAX DCM_TAG(0x0002, 0x0010)

/* "(0010,0010)" for a tag, written into buf; returns buf. */
const char *dcm_tag_str(uint32_t tag, char buf[12]);

typedef struct dcm_dataset dcm_dataset;
typedef struct dcm_element dcm_element;
typedef struct dcm_file dcm_file;

/* ---- datasets ---------------------------------------------------------- */

/* A new empty dataset; NULL on allocation failure. Free with dcm_dataset_free. */
dcm_dataset *dcm_dataset_new(void);

/* Free ds and everything in it. NULL is allowed. */
void dcm_dataset_free(dcm_dataset *ds);

/* Number of elements directly in ds (not counting sequence contents). */
size_t dcm_dataset_count(const dcm_dataset *ds);

/* The i-th element in tag order; borrowed, valid until ds changes. */
dcm_element *dcm_dataset_at(const dcm_dataset *ds, size_t i);

/* The element with tag, or NULL. Borrowed, valid until ds changes. */
dcm_element *dcm_dataset_get(const dcm_dataset *ds, uint32_t tag);

/* Remove the element with tag (freeing it); true if one was there. */
bool dcm_dataset_remove(dcm_dataset *ds, uint32_t tag);

/* Set tag to a copy of len bytes (little-endian for binary VRs), replacing
 * any element with that tag. Strings are padded to even length here.
 * Returns the element (borrowed) or NULL with err filled. */
dcm_element *dcm_dataset_set_bytes(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const void *data,
                                   size_t len, dqr_error *err);

/* Set tag to the string s (copied, padded to even length). */
dcm_element *dcm_dataset_set_string(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *s,
                                    dqr_error *err);

/* Set tag to an empty sequence (items added with dcm_element_append_item). */
dcm_element *dcm_dataset_set_sequence(dcm_dataset *ds, uint32_t tag, dqr_error *err);

/* Copy of the first value of a string element, trailing padding removed,
 * into buf (NUL-terminated, truncated to bufsize-1). Returns buf, or NULL
 * if the element is absent, not a string or not in memory. */
char *dcm_dataset_get_string(const dcm_dataset *ds, uint32_t tag, char *buf, size_t bufsize);

/* First value of an integer element (US, SS, UL, SL, IS); false if absent. */
bool dcm_dataset_get_int(const dcm_dataset *ds, uint32_t tag, long *out);

/* Private blocks (PS3.5 7.8.1): element (gggg,xxEE) of an odd group belongs
 * to the creator named by (gggg,00xx).
 *
 * The tag of element `offset` (0x00-0xFF) in creator's block of group, or 0
 * if ds has no block for that creator. Creator names compare without their
 * padding. */
uint32_t dcm_private_tag(const dcm_dataset *ds, uint16_t group, const char *creator,
                         uint8_t offset);

/* The creator of private element tag, copied into buf (NUL-terminated);
 * NULL if tag is not a private data element or its creator is missing. */
char *dcm_private_creator(const dcm_dataset *ds, uint32_t tag, char *buf, size_t bufsize);

/* Reserve a block for creator in group (the existing one, else the first
 * free (gggg,00xx)) and return the tag of element `offset` in it; 0 with
 * err filled if the group's 240 blocks are all taken. */
uint32_t dcm_private_reserve(dcm_dataset *ds, uint16_t group, const char *creator, uint8_t offset,
                             dqr_error *err);

/* Deep copy of ds; deferred values share their file (reference counted).
 * Returns NULL on allocation failure. Caller frees with dcm_dataset_free. */
dcm_dataset *dcm_dataset_copy(const dcm_dataset *ds);

/* ---- elements ---------------------------------------------------------- */

uint32_t dcm_element_tag(const dcm_element *el);
dcm_vr dcm_element_vr(const dcm_element *el);

/* Value length in bytes. For sequences and encapsulated pixel data this is
 * DCM_UNDEFINED_LENGTH when encoded so, else the length as read. */
uint64_t dcm_element_length(const dcm_element *el);

/* The value bytes if they are in memory (little-endian), else NULL (a
 * sequence, encapsulated data, or a value deferred on disk). Borrowed. */
const uint8_t *dcm_element_bytes(const dcm_element *el);

/* Copy n bytes of the value starting at offset into buf, in little-endian
 * order, loading from disk if deferred. Fails for sequences. */
dqr_status dcm_element_read(const dcm_element *el, uint64_t offset, void *buf, size_t n,
                            dqr_error *err);

bool dcm_element_is_sequence(const dcm_element *el);
size_t dcm_element_item_count(const dcm_element *el);
/* The i-th item of a sequence; borrowed. */
dcm_dataset *dcm_element_item(const dcm_element *el, size_t i);
/* Append a new empty item; returns it (borrowed) or NULL (DQR_E_LIMIT beyond DCM_MAX_DEPTH). */
dcm_dataset *dcm_element_append_item(dcm_element *el, dqr_error *err);

bool dcm_element_is_encapsulated(const dcm_element *el);
/* Fragments of encapsulated pixel data; fragment 0 is the Basic Offset Table. */
size_t dcm_element_fragment_count(const dcm_element *el);
uint32_t dcm_element_fragment_length(const dcm_element *el, size_t i);
dqr_status dcm_element_read_fragment(const dcm_element *el, size_t i, uint64_t offset, void *buf,
                                     size_t n, dqr_error *err);

/* Number of values (VM) of the element as stored: backslash-separated for
 * strings, length / unit for binary numbers, 1 for bytes, items for SQ. */
size_t dcm_element_vm(const dcm_element *el);

/* ---- files ------------------------------------------------------------- */

/* Open and parse a DICOM file: Part 10 (with or without preamble), or a bare
 * dataset whose transfer syntax is guessed from its first bytes. Large
 * values are left on disk; the file stays open until dcm_file_close.
 * Returns NULL with err filled (byte offset and tag in the message). */
dcm_file *dcm_file_open(const char *path, dqr_error *err);

/* Parse a whole DICOM stream held in memory (same rules as dcm_file_open).
 * Values are copied; data need not outlive the result. */
dcm_file *dcm_file_parse(const void *data, size_t len, dqr_error *err);

/* A file object around datasets built in memory, to be written. Takes
 * ownership of meta (may be NULL: an empty meta is made) and ds; ts is the
 * transfer syntax the dataset is to be written in. NULL on failure (then
 * meta and ds are freed too). */
dcm_file *dcm_file_wrap(dcm_dataset *meta, dcm_dataset *ds, const char *ts, dqr_error *err);

/* Same, but values of DCM_DEFER_MIN bytes or more point into data instead
 * of being copied: data must stay unchanged until f is closed. For a buffer
 * received from the network, where a copy would double the work. */
dcm_file *dcm_file_parse_borrowed(const void *data, size_t len, dqr_error *err);

/* How a file is read (dcm_file_open_with, dcm_file_parse_with); a zeroed
 * struct (or NULL) gives the defaults of dcm_file_open / dcm_file_parse. */
typedef struct dcm_read_options {
    uint64_t max_inflated; /* most bytes a deflated dataset may inflate to; 0: DCM_INFLATE_MAX_DEFAULT.
                              A server passes its maximum instance size. */
    bool borrow;           /* dcm_file_parse_with: as dcm_file_parse_borrowed */
} dcm_read_options;

/* dcm_file_open with options (may be NULL). */
dcm_file *dcm_file_open_with(const char *path, const dcm_read_options *opts, dqr_error *err);
/* dcm_file_parse (or _borrowed, with opts->borrow) with options (may be NULL). */
dcm_file *dcm_file_parse_with(const void *data, size_t len, const dcm_read_options *opts, dqr_error *err);

/* Close f and free its datasets. NULL is allowed. */
void dcm_file_close(dcm_file *f);

/* File Meta Information (group 0002); empty for a bare dataset. Borrowed. */
dcm_dataset *dcm_file_meta(const dcm_file *f);
/* The main dataset. Borrowed. */
dcm_dataset *dcm_file_dataset(const dcm_file *f);
/* Transfer syntax UID the dataset was read in (never NULL). */
const char *dcm_file_transfer_syntax(const dcm_file *f);
/* True if the input had a 128-byte preamble and "DICM". */
bool dcm_file_has_preamble(const dcm_file *f);

typedef struct dcm_write_options {
    const char *transfer_syntax; /* NULL: keep the one read (or Explicit VR LE) */
    bool keep_meta;              /* keep meta elements as read (byte-identical
                                    rewrite); else write dqr's implementation
                                    class UID and version name */
    bool bare;                   /* write only the dataset, no preamble or meta */
    bool zero_preamble;          /* write 128 zero bytes, not the preamble read
                                    (it may hold anything, PHI included) */
    bool no_sync;                /* dcm_file_write: skip the fsync before the
                                    rename (the caller syncs a batch at once) */
    bool start_writeback;        /* with no_sync: start writing the file to disk
                                    without waiting, so the batch sync is short */
    unsigned file_mode;          /* dcm_file_write: mode of the new file (less the
                                    umask); 0 means 0644. The archive uses 0600. */
} dcm_write_options;

#define DQR_IMPLEMENTATION_CLASS_UID "1.2.826.0.1.3680043.10.1573.1"
#define DQR_IMPLEMENTATION_VERSION "DQR_0_1"

/* Write f's meta and dataset as Part 10 to path atomically (temp file in the
 * same directory, fsync unless opts->no_sync, rename). Deferred values are streamed from the
 * source file. opts may be NULL. */
dqr_status dcm_file_write(const dcm_file *f, const char *path, const dcm_write_options *opts,
                          dqr_error *err);

/* Same, to an open descriptor (not closed, not synced). */
dqr_status dcm_file_write_fd(const dcm_file *f, int fd, const dcm_write_options *opts,
                             dqr_error *err);

/* Receives encoded bytes in order; returns 0, or non-zero to stop with DQR_E_IO. */
typedef int (*dcm_write_fn)(void *ctx, const uint8_t *data, size_t len);

/* Same as dcm_file_write_fd, to a callback (in chunks of up to 256 KiB);
 * with opts->bare only the dataset, as DIMSE sends it. */
dqr_status dcm_file_write_cb(const dcm_file *f, const dcm_write_options *opts, dcm_write_fn fn,
                             void *ctx, dqr_error *err);

/* Encode f as a Part 10 byte stream into a new malloc'd buffer (*out,
 * *out_len; caller frees *out). Same options as dcm_file_write. */
dqr_status dcm_file_encode(const dcm_file *f, const dcm_write_options *opts, uint8_t **out,
                           size_t *out_len, dqr_error *err);

/* ---- Pixel Data produced while writing -------------------------------- */

/* Produces frame index (0-based) of the Pixel Data to write: *data / *len
 * the stored bytes of a native frame, or the one fragment of an
 * encapsulated frame, borrowed until the next call. Frames are asked for in
 * order; with offset_table set, twice (once to measure, once to write). */
typedef dqr_status (*dcm_frame_fn)(void *ctx, uint32_t index, const uint8_t **data, size_t *len,
                                   dqr_error *err);

/* How the top-level Pixel Data of a file is written instead of its element
 * (dcm_file_set_pixel_writer): frame by frame, so memory is one frame. */
typedef struct dcm_pixel_writer {
    bool encapsulated;   /* fragments (one per frame) in a sequence of items, else native bytes */
    uint32_t frames;
    dcm_vr vr;           /* native: OB or OW (encapsulated is always OB) */
    uint64_t length;     /* native: the bytes of all frames (an odd total is padded with a zero) */
    bool offset_table;   /* encapsulated: write a Basic Offset Table (else an empty one) */
    dcm_frame_fn frame;
    void *ctx;
    void (*free_ctx)(void *ctx); /* called on ctx when f is closed or the writer replaced; may be NULL */
} dcm_pixel_writer;

/* From now on every write of f (dcm_file_write, _fd, _cb, dcm_file_encode)
 * produces its top-level Pixel Data from w (copied) rather than from the
 * element in the dataset, which stays as read (the producer may decode it).
 * NULL removes a writer set before. The element must exist for the writer to
 * be used. dcm_dataset_encode of the dataset alone does not see it. On
 * failure (DQR_E_NOMEM) w->free_ctx has been called: the caller must not
 * write f (it would carry the element's pixels). */
dqr_status dcm_file_set_pixel_writer(dcm_file *f, const dcm_pixel_writer *w, dqr_error *err);

/* Change the transfer syntax f is written in by default (when the write
 * options name none), e.g. after its pixel data was re-encoded. Fails with
 * DQR_E_USAGE for a UID longer than 64 characters. */
dqr_status dcm_file_set_transfer_syntax(dcm_file *f, const char *ts, dqr_error *err);

/* Encode a bare dataset in a transfer syntax into a new malloc'd buffer
 * (*out, *out_len); caller frees *out. For tests and the network layer. */
dqr_status dcm_dataset_encode(const dcm_dataset *ds, const char *ts_uid, uint8_t **out,
                              size_t *out_len, dqr_error *err);

/* ---- character sets ---------------------------------------------------- */

typedef struct dcm_charset dcm_charset;

/* A decoder for a Specific Character Set value (e.g. "ISO_IR 100",
 * "\\ISO 2022 IR 87"). Unknown terms fall back to ISO_IR 6 + Latin-1, as
 * pydicom does. Free with dcm_charset_free. */
dcm_charset *dcm_charset_new(const char *specific_charset, dqr_error *err);
void dcm_charset_free(dcm_charset *cs);

/* Decode raw bytes of a string VR to a new NUL-terminated UTF-8 string
 * (caller frees). ISO 2022 escapes switch sets; the set resets at value and
 * component delimiters as PS3.5 6.1.2.5.3 says. NULL on allocation failure. */
char *dcm_charset_decode(const dcm_charset *cs, dcm_vr vr, const uint8_t *s, size_t n);

/* Encode UTF-8 text into the charset's first set (what a new value in that
 * dataset must use) as a new malloc'd buffer, *out_len bytes. Characters the
 * set cannot hold become '?'. ISO 2022 multi-byte sets and UTF-8 get the
 * UTF-8 bytes unchanged. NULL on allocation failure. */
uint8_t *dcm_charset_encode(const dcm_charset *cs, const char *utf8, size_t *out_len);

/* ---- values as text ---------------------------------------------------- */

/* The whole value of el as one UTF-8 string, as a script sees it: string
 * values decoded through cs (NULL: default repertoire) with trailing padding
 * removed, several values joined by backslash; binary numbers as decimal
 * text joined by backslash; AT as "ggggeeee"; byte VRs (OB, UN, ...) as
 * their bytes read as Latin-1. NULL for sequences and encapsulated data (or
 * on allocation failure). Caller frees. */
char *dcm_element_text(const dcm_element *el, const dcm_charset *cs);

/* Set tag to the value given as UTF-8 text, converted for vr: strings are
 * encoded into cs (NULL: bytes as given) and padded; US/SS/UL/SL/FL/FD/SV/UV
 * and AT parse backslash-separated numbers / "ggggeeee" tags; byte VRs take
 * the text's bytes. Replaces an existing element. NULL with err on a value
 * that does not parse for vr. */
dcm_element *dcm_dataset_set_text(dcm_dataset *ds, uint32_t tag, dcm_vr vr, const char *utf8,
                                  const dcm_charset *cs, dqr_error *err);

/* Set the attribute named by key (a keyword or gggg,eeee) to utf8 as text
 * (NULL or "" for an empty value: universal matching in a query); a sequence
 * attribute gets an empty sequence. NULL with err for an unknown key or a
 * value that does not parse for the attribute's VR. */
dcm_element *dcm_dataset_set_key(dcm_dataset *ds, const char *key, const char *utf8, dqr_error *err);

/* The charset in force for ds: its own (0008,0005), else parent's. When a
 * new one is made, *owned is set and the caller frees it with
 * dcm_charset_free. NULL with err on failure. */
const dcm_charset *dcm_dataset_charset(const dcm_dataset *ds, const dcm_charset *parent,
                                       dcm_charset **owned, dqr_error *err);

/* ---- output ------------------------------------------------------------ */

typedef struct dcm_dump_options {
    size_t max_value_chars; /* truncate printed values (0: 64) */
    bool show_meta;         /* print the meta header (default on in CLI) */
} dcm_dump_options;

/* dcmdump-like text of f to out. */
dqr_status dcm_dump_text(const dcm_file *f, FILE *out, const dcm_dump_options *opts,
                         dqr_error *err);

/* DICOM JSON model (PS3.18 Annex F) of ds to out. Pixel data and values of
 * at least bulk_min bytes (0: 1 MiB) are written as a BulkDataURI placeholder
 * "bulkdata/<tag path>"; smaller binary values as InlineBinary. */
dqr_status dcm_dump_json(const dcm_dataset *ds, FILE *out, size_t bulk_min, dqr_error *err);

#endif

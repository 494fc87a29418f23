/* pixel.h — the pixel layer of libdqr: frames of Pixel Data decoded to
 * native samples and encoded back.
 *
 * It stands between src/dicom (which keeps pixel data as bytes or as
 * encapsulated fragments, never looking inside) and src/anon (which needs
 * the samples to blank burned-in text). Frames are decoded one at a time
 * through an iterator, so memory is bounded by one decoded frame plus one
 * compressed frame, not by the file.
 *
 * A decoded frame ("native samples") is always laid out the same way,
 * whatever the transfer syntax: pixel-interleaved (planar configuration 0),
 * row by row, each sample in a little-endian container of bits_allocated / 8
 * bytes (1, 2 or 4), holding the value as stored (unused high bits not
 * cleared; px_sample reads a sample masked and sign-extended; Bits Allocated
 * 1 comes out one byte a pixel, 0 or 1, described as 8 allocated, 1 stored). YBR_FULL_422
 * is expanded to full resolution and reported as YBR_FULL; JPEG baseline
 * colour frames come out as RGB (libjpeg converts), as do JPEG 2000 YBR_RCT /
 * YBR_ICT frames (OpenJPEG undoes the transform); palette colour keeps the
 * stored indices and px_palette_to_rgb expands them.
 *
 * Thread safety: distinct iterators may be used from distinct threads. No
 * global state.
 */
#ifndef DQR_PIXEL_H
#define DQR_PIXEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/dicom.h"

/* Largest decoded frame px_frames_open accepts (DQR_E_LIMIT beyond): a few
 * bytes of compressed data can claim 65535 x 65535 pixels, and the decoded
 * frame is allocated before decoding. */
#define PX_MAX_FRAME_BYTES (1ull << 30)

typedef enum px_photometric {
    PX_MONOCHROME1,
    PX_MONOCHROME2,
    PX_RGB,
    PX_YBR_FULL,
    PX_YBR_FULL_422,
    PX_PALETTE_COLOR,
    PX_YBR_RCT,         /* JPEG 2000 lossless colour: decoded as RGB */
    PX_YBR_ICT          /* JPEG 2000 lossy colour: decoded as RGB */
} px_photometric;

/* The Image Pixel module as it describes one frame. */
typedef struct px_info {
    uint32_t rows, columns;
    uint32_t frames;            /* Number of Frames, 1 when absent */
    uint16_t samples;           /* Samples per Pixel: 1 or 3 */
    uint16_t bits_allocated;    /* 8, 16 or 32 */
    uint16_t bits_stored;
    uint16_t high_bit;
    bool is_signed;             /* Pixel Representation 1 */
    uint16_t planar;            /* Planar Configuration as stored (0 or 1) */
    px_photometric photometric;
} px_info;

/* Palette colour lookup tables (PS3.3 C.7.6.3.1.5), one per channel. */
typedef struct px_palette {
    uint32_t entries;   /* number of entries (descriptor value 0 means 65536) */
    int32_t first;      /* first stored value mapped */
    uint16_t bits;      /* bits per entry: 8 or 16 */
    uint16_t *lut[3];   /* red, green, blue; entries values each (owned by the iterator) */
} px_palette;

/* "MONOCHROME2" etc. for a photometric interpretation. */
const char *px_photometric_name(px_photometric p);

/* Bytes of one decoded frame with info (after YBR_FULL_422 expansion). */
size_t px_frame_size(const px_info *info);

/* Fill info from the Image Pixel module of ds. DQR_E_UNSUPPORTED (naming the
 * value) for a photometric interpretation, bit depth or sample count not
 * handled; DQR_E_PARSE when a required attribute is missing. */
dqr_status px_info_read(const dcm_dataset *ds, px_info *info, dqr_error *err);

/* ---- decoding --------------------------------------------------------- */

typedef struct px_frames px_frames;

/* An iterator over the frames of f's Pixel Data. f must stay open until
 * px_frames_close; elements other than Pixel Data may be added to or
 * removed from its dataset meanwhile. Fails with DQR_E_NOTFOUND when there is no Pixel Data,
 * DQR_E_UNSUPPORTED (naming the transfer syntax) for a syntax not decoded,
 * DQR_E_LIMIT for a frame larger than PX_MAX_FRAME_BYTES.
 * *out is freed with px_frames_close. */
dqr_status px_frames_open(const dcm_file *f, px_frames **out, dqr_error *err);

/* The image description of the decoded frames (photometric and planar as
 * px_frame_next delivers them, see the top of this file). Borrowed. */
const px_info *px_frames_info(const px_frames *it);

/* The palette when the photometric interpretation is PALETTE COLOR, else
 * NULL. Borrowed, valid until px_frames_close. */
const px_palette *px_frames_palette(const px_frames *it);

/* Decode the next frame. *data points to px_frame_size(info) bytes owned by
 * the iterator and overwritten by the next call. Returns DQR_OK, or
 * DQR_E_NOTFOUND after the last frame, or another status with err filled. */
dqr_status px_frame_next(px_frames *it, const uint8_t **data, dqr_error *err);

/* Decode frame index (0-based) directly; same buffer rules as px_frame_next.
 * The next px_frame_next continues after it. */
dqr_status px_frame_get(px_frames *it, uint32_t index, const uint8_t **data, dqr_error *err);

/* Free the iterator and its buffers. NULL is allowed. */
void px_frames_close(px_frames *it);

/* Sample s (0..samples-1) of pixel i of a decoded frame, masked to
 * bits_stored and sign-extended when info->is_signed. */
int32_t px_sample(const px_info *info, const uint8_t *frame, size_t pixel, unsigned s);

/* ---- colour ----------------------------------------------------------- */

/* Convert a decoded YBR_FULL frame of 8-bit samples to RGB in place
 * (PS3.3 C.7.6.3.1.2, rounded and clamped). */
void px_ybr_full_to_rgb(uint8_t *frame, size_t pixels);

/* The inverse, RGB to YBR_FULL in place. */
void px_rgb_to_ybr_full(uint8_t *frame, size_t pixels);

/* Expand `pixels` palette indices of a decoded frame into rgb (3 samples a
 * pixel, each 2 bytes little-endian holding the LUT value). Indices below
 * first map to entry 0, above the last entry to the last. */
void px_palette_to_rgb(const px_info *info, const px_palette *pal, const uint8_t *frame,
                       size_t pixels, uint16_t *rgb);

/* ---- encoding --------------------------------------------------------- */

/* Convert a decoded frame to native stored bytes for info->planar (0 or 1):
 * out must hold px_frame_size(info) bytes. YBR_FULL_422 is not re-subsampled
 * (DQR_E_UNSUPPORTED): write such a frame as YBR_FULL. */
dqr_status px_native_encode(const px_info *info, const uint8_t *frame, uint8_t *out,
                            dqr_error *err);

/* Decode one RLE Lossless frame (PS3.5 Annex G) of len bytes into out
 * (px_frame_size(info) bytes, layout as above). DQR_E_PARSE naming what is
 * wrong for a malformed frame. */
dqr_status px_rle_decode(const px_info *info, const uint8_t *rle, size_t len, uint8_t *out,
                         dqr_error *err);

/* Encode a decoded frame as one RLE Lossless fragment: a new malloc'd buffer
 * in *out (even length, *out_len bytes; caller frees). */
dqr_status px_rle_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                         size_t *out_len, dqr_error *err);

/* Encode a decoded frame (unsigned, at most 16 bits) as one JPEG-LS
 * lossless fragment with CharLS: a new malloc'd buffer in *out (even
 * length, *out_len bytes; caller frees). */
dqr_status px_jpegls_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                            size_t *out_len, dqr_error *err);

/* Encode a decoded frame (MONOCHROME or RGB, at most 16 bits stored) as one
 * JPEG 2000 lossless codestream fragment with OpenJPEG (reversible 5/3
 * wavelet; RGB through the reversible colour transform, so the dataset's
 * Photometric Interpretation becomes YBR_RCT). A new malloc'd buffer in
 * *out (even length, *out_len bytes; caller frees). */
dqr_status px_j2k_encode(const px_info *info, const uint8_t *frame, uint8_t **out,
                         size_t *out_len, dqr_error *err);

/* ---- rendering (render.c, png.c) --------------------------------------- */

/* An 8-bit image to look at: width x height pixels, row by row, channels 1
 * (grey) or 3 (RGB, interleaved). pixels is malloc'd; px_image_free. */
typedef struct px_image {
    uint32_t width, height;
    uint16_t channels;
    uint8_t *pixels;
} px_image;

/* What the dataset says about showing a monochrome frame: the Modality LUT
 * (Rescale Slope, default 1, and Intercept, default 0) and the first Window
 * Center / Width (has_window false when absent or width < 1). */
typedef struct px_voi {
    double slope, intercept;
    bool has_window;
    double center, width;
} px_voi;

/* How to render. A zeroed struct (or NULL) means: the dataset's window, else
 * the frame's min..max, at full size. */
typedef struct px_render_opts {
    bool window;            /* use center/width below (in modality units) */
    double center, width;   /* width >= 1 */
    uint32_t max_size;      /* 0: full size; else the longer side is scaled
                               down (area average) to at most this many pixels */
} px_render_opts;

/* Read the Modality LUT and window of ds (top-level attributes; functional
 * groups of enhanced objects are not read). Never fails: absent values take
 * their defaults. */
void px_voi_read(const dcm_dataset *ds, px_voi *voi);

/* Render a decoded frame (as px_frame_next gives it, described by info) to
 * an 8-bit image in *out. Monochrome: slope/intercept from voi (NULL:
 * identity), then the linear window of PS3.3 C.11.2.1.2.1 (opts, else voi,
 * else the frame's min..max), MONOCHROME1 inverted; 1 channel. Colour:
 * 3 channels, no window; samples above 8 bits shifted down, YBR_FULL
 * converted to RGB, PALETTE COLOR expanded through pal (required then).
 * Fills err and leaves *out empty on failure. Thread-safe. */
dqr_status px_render(const px_info *info, const px_palette *pal, const px_voi *voi,
                     const uint8_t *frame, const px_render_opts *opts, px_image *out,
                     dqr_error *err);

/* Decode frame index (0-based) of f and render it with the dataset's
 * Modality LUT and window: px_frames_open + px_frame_get + px_voi_read +
 * px_render in one call (for one-off previews; loop over px_frame_next and
 * px_render for many frames of one file). */
dqr_status px_render_file(const dcm_file *f, uint32_t index, const px_render_opts *opts,
                          px_image *out, dqr_error *err);

/* Free img's pixels and zero it. NULL is allowed. */
void px_image_free(px_image *img);

/* Encode img as an 8-bit PNG (grey or RGB), handing the bytes to fn in
 * order. fn returning non-zero stops with DQR_E_IO. */
dqr_status px_png_write(const px_image *img, dcm_write_fn fn, void *ctx, dqr_error *err);

/* Encode img as PNG into a new malloc'd buffer (*out, *out_len; caller frees). */
dqr_status px_png_encode(const px_image *img, uint8_t **out, size_t *out_len, dqr_error *err);

/* ---- burned-in text (ocr.c, ocr_filter.c) ------------------------------ */

/* One Tesseract engine with the English model loaded. Used by one thread at
 * a time; keep one per worker thread (loading costs ~0.1-0.2 s). */
typedef struct px_ocr px_ocr;

/* A word read from a frame: text (UTF-8, malloc'd; it may be PHI: never
 * log it), box in pixels of the rendered image, confidence 0-100. */
typedef struct px_ocr_word {
    char *text;
    uint32_t left, top, width, height;
    float confidence;
} px_ocr_word;

typedef struct px_ocr_words {
    px_ocr_word *v;
    size_t n;
} px_ocr_words;

/* The default of px_ocr_filter.min_confidence for dqr's settings and CLI:
 * measured on the generated set (docs/benchmarks.md), real words over an
 * image are often read with a confidence near 0. */
#define PX_OCR_MIN_CONFIDENCE 0.0f

/* Words whose box is less high than this (pixels) are noise (px_ocr_allowed). */
#define PX_OCR_MIN_HEIGHT 7u

/* Which words are not PHI (see px_ocr_allowed). A zeroed filter keeps every
 * word that has two or more characters and is not built-in. */
typedef struct px_ocr_filter {
    bool digits_ok;        /* numbers of 1-3 digits (sign, decimals, a unit) are not PHI */
    float min_confidence;  /* words read with less confidence are noise */
    const char *extra;     /* a site's own words, comma- or space-separated; NULL: none */
} px_ocr_filter;

/* Start an engine; datapath is the tessdata folder (NULL: Tesseract's
 * default, /usr/share/tesseract-ocr/5/tessdata on Debian). DQR_E_NOTFOUND
 * when the English model is missing. Free with px_ocr_free. */
dqr_status px_ocr_new(const char *datapath, px_ocr **out, dqr_error *err);
void px_ocr_free(px_ocr *o);

/* Read the words of a rendered frame (px_render) into *out (freed with
 * px_ocr_words_free, also on failure left empty). The frame is prepared for
 * Tesseract first: brightest channel, light pages inverted, bright ink
 * binarised, frames up to 1024 pixels upscaled 2x; boxes are given back in
 * img's pixels. */
dqr_status px_ocr_read(px_ocr *o, const px_image *img, px_ocr_words *out, dqr_error *err);
void px_ocr_words_free(px_ocr_words *w);

/* true when word is not PHI under f (NULL: the built-in list only): less
 * than PX_OCR_MIN_HEIGHT pixels high, read below f->min_confidence, a
 * single character or no letter/digit, a
 * built-in orientation marker, unit or screen label, a word of f->extra, or
 * (f->digits_ok) a short number. Case-insensitive, ignoring punctuation at
 * the word's ends. */
bool px_ocr_allowed(const px_ocr_word *word, const px_ocr_filter *f);

/* Drop the allowed words from w in place (freeing their text); returns the
 * number of suspect words left. */
size_t px_ocr_keep_suspect(px_ocr_words *w, const px_ocr_filter *f);

/* true when ds may carry burned-in text: Burned In Annotation is YES, or
 * there is no Modality, or the Modality is one of the comma-separated list
 * (e.g. "US,SC,OT,XA,ES,DX,CR,MG"). */
bool px_ocr_at_risk(const dcm_dataset *ds, const char *modalities);

/* The modalities at risk by default (the gateway's ocr_modalities). */
#define PX_OCR_AT_RISK "US,SC,OT,XA,ES,DX,CR,MG"

/* The 0-based frames of a `frames`-frame instance to read when sampling
 * `sample` of them (0 or >= frames: all; 1: the first; else the first, the
 * last and evenly between, so 3 is first, middle, last). out holds `frames`
 * entries; returns how many were written, ascending. */
uint32_t px_ocr_sample_frames(uint32_t frames, uint32_t sample, uint32_t *out);

/* Called once per frame read with its 0-based index and the suspect words
 * left after the filter (borrowed; may be empty). Non-zero stops the scan. */
typedef int (*px_ocr_frame_fn)(void *ctx, uint32_t frame, const px_ocr_words *suspect);

typedef struct px_edit px_edit;
typedef struct px_region px_region;

/* Render (dataset window) and read the sampled frames of f with o, keep the
 * words filt does not allow, and hand each frame to fn. With mask (may be
 * NULL), its regions are filled into each frame first: the frames as they
 * would be written with it, so a second pass finds what the first pass's
 * words hid. Fails with the decoder's or Tesseract's error, prefixed
 * "reading burned-in text: ". */
dqr_status px_ocr_scan(px_ocr *o, const dcm_file *f, uint32_t sample, const px_ocr_filter *filt,
                       const px_edit *mask, px_ocr_frame_fn fn, void *ctx, dqr_error *err);
/* Encode a decoded frame (1 or 3 samples of 2 to 16 bits stored, at most 16
 * allocated) as one JPEG Lossless process 14 fragment, selection value 1,
 * point transform 0 (what 1.2.840.10008.1.2.4.70 holds): a new malloc'd
 * buffer in *out (even length, *out_len bytes; caller frees). */
dqr_status px_jpeg_lossless_encode(const px_info *info, const uint8_t *frame, uint8_t **out, size_t *out_len,
                                   dqr_error *err);

/* ---- editing: regions filled while the file is written ----------------- */

/* Every frame, in px_region.frame. */
#define PX_ALL_FRAMES (-1)

/* A rectangle to fill, in pixel coordinates of the image: columns left to
 * right - 1 and rows top to bottom - 1 (right and bottom exclusive: CTP's
 * (x, y, w, h) is {x, y, x + w, y + h}; DicomEdit's alterPixels l, t, r, b,
 * which includes r and b, is {l, t, r + 1, b + 1}; see docs/pixel.md).
 * Parts outside the image are cut off. */
struct px_region {
    int64_t left, top, right, bottom;
    int64_t frame;      /* 0-based frame, or PX_ALL_FRAMES */
    bool rgb;           /* value holds r, g, b (Samples per Pixel 3); else value[0] is the grey */
    int32_t value[3];   /* stored sample values (a palette index for PALETTE COLOR) */
};

/* An empty list of regions (NULL when out of memory). Free with px_edit_free. */
px_edit *px_edit_new(void);
void px_edit_free(px_edit *e);

/* Append a copy of r. DQR_E_USAGE for right < left or bottom < top. */
dqr_status px_edit_add(px_edit *e, const px_region *r, dqr_error *err);

size_t px_edit_count(const px_edit *e);
/* The i-th region (borrowed), i < px_edit_count. */
const px_region *px_edit_region(const px_edit *e, size_t i);

/* Can e be applied to frames described by info? DQR_E_USAGE naming the
 * region for a fill that does not fit: a value outside the range of Bits
 * Stored / Pixel Representation, r,g,b on a single-sample image, r,g,b on a
 * YBR_FULL image of more than 8 bits. */
dqr_status px_edit_check(const px_edit *e, const px_info *info, dqr_error *err);

/* Fill the regions of e that concern frame `index` into a decoded frame
 * (layout of px_frame_next, described by info); returns how many pixels
 * were written. On YBR_FULL frames an r,g,b fill is converted to YBR.
 * Call px_edit_check first. */
size_t px_edit_frame(const px_edit *e, const px_info *info, uint32_t index, uint8_t *frame);

/* Arrange for every later write of f (dcm_file_write and the others) to
 * produce its Pixel Data frame by frame with e's regions filled: decode ->
 * fill -> encode, memory bounded by one frame. The output transfer syntax is
 * f's own when it is lossless and dqr encodes it (native little endian,
 * Deflated, RLE, JPEG-LS lossless, JPEG 2000 lossless-only, JPEG Lossless
 * .57 / .70 as selection value 1), else Explicit VR Little Endian (big
 * endian, JPEG Baseline / Extended, JPEG-LS near-lossless, JPEG 2000); f's transfer syntax, Photometric
 * Interpretation and Planar Configuration are set to what is written; the
 * offset table the source had (Basic, or Extended with its lengths) is
 * written for the new fragments. Lossy Image Compression is left as it is. e is
 * copied. An empty e changes nothing. Fails before anything is written:
 * DQR_E_NOTFOUND without Pixel Data, the decoder's status for a syntax not
 * decoded, px_edit_check's. On failure f must not be written. */
dqr_status px_edit_attach(dcm_file *f, const px_edit *e, dqr_error *err);

/* As px_edit_attach, but written in transfer syntax ts whatever f's own:
 * a native little-endian one (Implicit / Explicit VR LE, Deflated), or one
 * of the lossless syntaxes dqr encodes (RLE, JPEG-LS lossless .80, JPEG 2000
 * lossless .90, JPEG Lossless .70 / .57 as selection value 1). e may be
 * empty or NULL (a plain transcode). DQR_E_UNSUPPORTED for any other
 * syntax (lossy ones, big endian) or samples the encoder does not take
 * (e.g. signed samples in JPEG-LS). Lossy Image Compression is left as it
 * is: a lossy source stays marked lossy, a lossless one was not changed. */
dqr_status px_transcode_attach(dcm_file *f, const px_edit *e, const char *ts, dqr_error *err);

/* ---- masking burned-in text (ocr_scan.c) ----------------------------- */

/* The black box over word w: 2 pixels wider on each side, on every frame
 * (a burned-in annotation stands on all frames of a multi-frame, sampled or
 * not), black for info: the largest value in MONOCHROME1, the smallest
 * elsewhere, r,g,b 0,0,0 in colour. */
void px_ocr_black_box(const px_info *info, const px_ocr_word *w, px_region *r);

/* px_ocr_scan, adding a black box over every suspect word to mask, then
 * reading the frames again with mask filled and masking what that finds,
 * until a reading finds nothing new or `rounds` readings were made (a word
 * crowded by its neighbours is often read only once they are gone). fn
 * sees the suspect words of every reading. */
dqr_status px_ocr_mask(px_ocr *o, const dcm_file *f, uint32_t sample, const px_ocr_filter *filt, unsigned rounds,
                       px_edit *mask, px_ocr_frame_fn fn, void *ctx, dqr_error *err);

/* f as it would be written (with the regions px_edit_attach put on it
 * filled), encoded to memory and read back into *copy (close it with
 * dcm_file_close): what an OCR check must read once a file has regions
 * attached, as they are only filled on writing. */
dqr_status px_file_as_written(const dcm_file *f, dcm_file **copy, dqr_error *err);

#endif

/* pixel_internal.h — shared by the files of src/pixel only: the per-codec
 * frame decoders the iterator dispatches to, and the palette reader. */
#ifndef DQR_PIXEL_INTERNAL_H
#define DQR_PIXEL_INTERNAL_H

#include "pixel/pixel.h"

/* Stored bytes of one native frame (YBR_FULL_422 holds 2 samples a pixel). */
size_t px_native_stored_size(const px_info *stored);

/* Native stored bytes of one frame (as px_native_stored_size says) to the
 * decoded layout: planar 1 interleaved, YBR_FULL_422 expanded. */
void px_native_decode(const px_info *stored, const uint8_t *in, uint8_t *out);

/* The codec swaps OW read from big endian in 16-bit words; samples of 8 or
 * 32 bits need their bytes put back in little-endian order for their size. */
void px_native_fix_words(const px_info *stored, uint8_t *buf, size_t n);

/* One JPEG (ISO 10918) frame of len bytes into out; *photometric gets what
 * the samples are in after decoding. */
dqr_status px_jpeg_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                          px_photometric *photometric, dqr_error *err);

/* One 12-bit JPEG frame (extended or progressive DCT) into out, in 16-bit
 * containers; px_jpeg_decode hands such frames here (jpeg12.c). */
dqr_status px_jpeg12_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                            px_photometric *photometric, dqr_error *err);

/* One JPEG-LS frame of len bytes into out. */
dqr_status px_jpegls_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                            dqr_error *err);

/* One JPEG 2000 frame (codestream or JP2) of len bytes into out;
 * *photometric becomes RGB for YBR_RCT / YBR_ICT frames. */
dqr_status px_j2k_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                         px_photometric *photometric, dqr_error *err);

/* One JPEG Lossless (process 14) frame of len bytes into out. */
dqr_status px_jpeg_lossless_decode(const px_info *info, const uint8_t *in, size_t len, uint8_t *out,
                                   dqr_error *err);

/* Read the three palette LUTs of ds into pal (tables malloc'd; free with
 * px_palette_free). */
dqr_status px_palette_read(const dcm_dataset *ds, px_palette *pal, dqr_error *err);
void px_palette_free(px_palette *pal);

/* mask: w*h bytes, 1 = ink (bright >= t1). Clears every 8-connected
 * component that cannot be a character (taller than max_h, a filled blob or
 * solid shape, a speck, faint); kept ink stays 1. A component that is no
 * character, or letters inside texture, is sorted again at t2 (> t1): its
 * text-like parts there become 2, ink at t2 only.
 * stack: w*h entries of scratch (ocr_ink.c). */
void px_ink_keep_text(uint8_t *mask, const uint8_t *bright, unsigned t1, unsigned t2, uint32_t w, uint32_t h,
                      uint32_t max_h, uint32_t *stack);

/* The same for text drawn at one grey level: a component with a pixel
 * brighter than ceiling is no such text (speckle, anatomy) and is cleared. */
void px_ink_keep_text_under(uint8_t *mask, const uint8_t *bright, unsigned t1, unsigned t2, unsigned ceiling,
                            uint32_t w, uint32_t h, uint32_t max_h, uint32_t *stack);

#endif

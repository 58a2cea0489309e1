// Image decoding for VecDBVision: PNG (libpng's simplified API) and JPEG (libjpeg-turbo) to
// 8-bit grey, row-major, top row first. Errors never longjmp into Swift: every libjpeg error is
// caught here and returned as a message.
#ifndef VECDB_IMAGE_H
#define VECDB_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Decodes a PNG held in memory to grey. On success returns 0 and sets *pixels (malloc'd, the
// caller frees it with vdb_image_free), *width and *height; on failure returns -1 and writes a
// NUL-terminated reason of at most error_size bytes into error.
int vdb_decode_png_gray(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, char *error,
                        size_t error_size);

// The same for a JPEG (baseline or progressive; colour converted to grey by libjpeg).
int vdb_decode_jpeg_gray(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, char *error,
                         size_t error_size);

// Frees pixels returned by the decoders.
void vdb_image_free(uint8_t *pixels);

#ifdef __cplusplus
}
#endif

#endif

#include "vecdb_image.h"

// stdio first: jpeglib.h uses FILE without including it.
#include <stdio.h>

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// Images larger than this many pixels are refused rather than allocated (a corrupt header can
// claim gigapixels).
#define VDB_MAX_PIXELS ((size_t)1 << 28)

static void set_error(char *error, size_t error_size, const char *message) {
    if (error && error_size > 0) {
        snprintf(error, error_size, "%s", message);
    }
}

int vdb_decode_png_gray(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, char *error,
                        size_t error_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_error(error, error_size, image.message[0] ? image.message : "not a PNG");
        png_image_free(&image);
        return -1;
    }
    if (image.width == 0 || image.height == 0 || (size_t)image.width * image.height > VDB_MAX_PIXELS) {
        set_error(error, error_size, "PNG dimensions out of range");
        png_image_free(&image);
        return -1;
    }
    image.format = PNG_FORMAT_GRAY;
    size_t bytes = PNG_IMAGE_SIZE(image);
    uint8_t *out = malloc(bytes);
    if (!out) {
        set_error(error, error_size, "out of memory");
        png_image_free(&image);
        return -1;
    }
    // A transparent background composes onto white, as a viewer shows it.
    png_color background = {255, 255, 255};
    if (!png_image_finish_read(&image, &background, out, 0, NULL)) {
        set_error(error, error_size, image.message[0] ? image.message : "PNG decoding failed");
        free(out);
        png_image_free(&image);
        return -1;
    }
    *pixels = out;
    *width = (int)image.width;
    *height = (int)image.height;
    png_image_free(&image);
    return 0;
}

struct vdb_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void vdb_jpeg_error_exit(j_common_ptr info) {
    struct vdb_jpeg_error *e = (struct vdb_jpeg_error *)info->err;
    (*info->err->format_message)(info, e->message);
    longjmp(e->jump, 1);
}

static void vdb_jpeg_silence(j_common_ptr info) { (void)info; }

int vdb_decode_jpeg_gray(const uint8_t *data, size_t size, uint8_t **pixels, int *width, int *height, char *error,
                         size_t error_size) {
    struct jpeg_decompress_struct info;
    struct vdb_jpeg_error e;
    // Volatile: read after a longjmp back into this frame.
    uint8_t *volatile out = NULL;
    memset(&info, 0, sizeof info);
    info.err = jpeg_std_error(&e.manager);
    e.manager.error_exit = vdb_jpeg_error_exit;
    e.manager.output_message = vdb_jpeg_silence;
    e.message[0] = 0;
    if (setjmp(e.jump)) {
        set_error(error, error_size, e.message[0] ? e.message : "JPEG decoding failed");
        free(out);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(&info);
    if (info.output_width == 0 || info.output_height == 0 || info.output_components != 1 ||
        (size_t)info.output_width * info.output_height > VDB_MAX_PIXELS) {
        set_error(error, error_size, "JPEG dimensions out of range");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    size_t stride = info.output_width;
    out = malloc(stride * info.output_height);
    if (!out) {
        set_error(error, error_size, "out of memory");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = out + (size_t)info.output_scanline * stride;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    // libjpeg only warns about corrupt or truncated scan data (and fills the rest with grey):
    // such an image is refused too.
    if (e.manager.num_warnings > 0) {
        set_error(error, error_size, "corrupt or truncated JPEG data");
        free(out);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    *pixels = out;
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    jpeg_destroy_decompress(&info);
    return 0;
}

void vdb_image_free(uint8_t *pixels) { free(pixels); }

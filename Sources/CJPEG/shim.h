// libjpeg-turbo (Debian: libjpeg62-turbo-dev), decoded through CVecDBImage.
// jpeglib.h uses FILE and size_t without including their headers.
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>

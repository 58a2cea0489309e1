// libpng (Debian: libpng-dev), decoded through CVecDBImage.
#include <png.h>

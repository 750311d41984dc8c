#ifndef TRADEPIPE_VERSION_H
#define TRADEPIPE_VERSION_H

/* The one place the version is written; CMakeLists.txt reads it from here. */
#define TP_VERSION_MAJOR 0
#define TP_VERSION_MINOR 1
#define TP_VERSION_PATCH 0
#define TP_VERSION_STRING "0.1.0"
/* major*10000 + minor*100 + patch, as zstd does: comparable with < and >. */
#define TP_VERSION_NUMBER (TP_VERSION_MAJOR * 10000 + TP_VERSION_MINOR * 100 + TP_VERSION_PATCH)

#endif

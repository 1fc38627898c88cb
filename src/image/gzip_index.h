/* The checkpoint index of a gzip file: points in the decompressed stream
 * where inflate can resume, each with its 32 KiB window kept deflated. */
#ifndef MS_IMAGE_GZIP_INDEX_H
#define MS_IMAGE_GZIP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* Decompressed sizes above this are refused (a compression bomb, not RAM). */
#define MS_GZ_MAX_SIZE (1ull << 40)
#define MS_GZ_MAX_POINTS 16384u

typedef struct ms_gz_point {
    uint64_t out;          /* decompressed offset */
    uint64_t in;           /* compressed offset of the first whole byte */
    uint32_t window_len;   /* min(out, 32 KiB) */
    uint32_t packed_len;
    uint8_t bits;          /* unused high bits of the byte at in-1 */
    uint8_t *packed;       /* the window, zlib-compressed */
} ms_gz_point;

typedef struct ms_gz_index {
    uint64_t size;         /* decompressed bytes */
    uint64_t spacing;      /* target decompressed bytes between points */
    ms_gz_point *points;
    size_t count;
    size_t capacity;
    size_t packed_total;
} ms_gz_index;

/* Build limits: the spacing starts at `spacing` and doubles (dropping
 * points) whenever the windows exceed `window_budget` bytes or the count
 * exceeds `max_points`. */
typedef struct ms_gz_limits {
    uint64_t spacing;
    size_t window_budget;
    size_t max_points;
} ms_gz_limits;

void ms_gz_limits_default(ms_gz_limits *lim);

/* One full decompression pass over `gz`, verifying every member. */
ms_status ms_gz_index_build(ms_source *gz, const ms_gz_limits *lim, ms_gz_index *idx);

/* The last point at or before `off` (there is always one at 0). */
const ms_gz_point *ms_gz_index_find(const ms_gz_index *idx, uint64_t off);

/* Inflate a point's window into `window` (MS_GZ_WINDOW bytes). */
ms_status ms_gz_point_window(const ms_gz_point *p, uint8_t *window);

void ms_gz_index_free(ms_gz_index *idx);

/* What identifies the gzip file an index belongs to. */
typedef struct ms_gz_fingerprint {
    uint64_t size;
    uint32_t head_crc;     /* first 64 KiB */
    uint32_t tail_crc;     /* last 64 KiB */
    uint32_t sample_crc;   /* 16 x 4 KiB spread over the file */
} ms_gz_fingerprint;

ms_status ms_gz_fingerprint_compute(ms_source *gz, ms_gz_fingerprint *fp);

/* Load a cached index; 0 when absent, stale or malformed (no error is
 * recorded: the caller rebuilds). */
int ms_gz_index_load(const char *path, const ms_gz_fingerprint *fp, ms_gz_index *idx);

/* Best-effort atomic write (temporary file + rename); 0 on failure, with
 * no error recorded. */
int ms_gz_index_save(const char *path, const ms_gz_fingerprint *fp, const ms_gz_index *idx);

#endif

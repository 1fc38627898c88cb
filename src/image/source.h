/* Byte sources: the container file as a random-access byte stream, either
 * the plain file (mmap, or pread) or the decompressed contents of a gzip
 * file.  Format parsers read their headers through a source and describe
 * where physical pages live in it. */
#ifndef MS_IMAGE_SOURCE_H
#define MS_IMAGE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

typedef struct ms_source ms_source;

typedef struct ms_source_ops {
    /* Read exactly len bytes at off (off+len <= size is checked by the caller). */
    ms_status (*read)(void *ctx, uint64_t off, void *buf, size_t len);
    void (*destroy)(void *ctx);
} ms_source_ops;

struct ms_source {
    uint64_t size;
    const uint8_t *map;        /* whole contents mapped, or NULL */
    int compressed;
    const ms_source_ops *ops;
    void *ctx;
};

/* Open a regular file.  Refuses directories and unreadable files with a
 * message naming the path. */
ms_status ms_source_open_file(const char *path, int no_mmap, ms_source **out);

/* 1 if the source starts with the gzip magic 1f 8b 08. */
int ms_source_is_gzip(ms_source *src);

/* Wrap a gzip-compressed source as its decompressed byte stream, with random
 * access through a checkpoint index.  Takes ownership of `inner`.
 * `index_path` (may be NULL) is where the index is cached when writable. */
ms_status ms_source_open_gzip(ms_source *inner, const char *index_path, ms_source **out);

/* MS_OK, MS_ERR_TRUNCATED if the range passes the end, or MS_ERR_IO. */
ms_status ms_source_read(ms_source *src, uint64_t off, void *buf, size_t len);

void ms_source_close(ms_source *src);

#endif

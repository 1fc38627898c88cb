/* Internals of the pool-tag scanner shared by its files. */
#ifndef MS_SCAN_TAGSCAN_INTERNAL_H
#define MS_SCAN_TAGSCAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/scan.h"

typedef struct ms_tagset {
    uint32_t tags[MS_TAGSCAN_MAX_TAGS];
    unsigned count;
    uint8_t first_byte[256];   /* 1 where some tag starts with that byte */
} ms_tagset;

/* Search the headers at p + i * stride, i < nslots, for a tag at +4, and
 * write the ascending i of the matches to out (room for nslots).  Reads
 * only the bytes [0, (nslots - 1) * stride + 8).  Returns the count. */
typedef size_t (*ms_tag_search_fn)(const ms_tagset *set, const uint8_t *p, size_t nslots, uint32_t *out);

typedef struct ms_tag_searcher {
    ms_tag_search_fn fn;
    const char *name;
} ms_tag_searcher;

/* The routine for `kernel` and a stride of 8 or 16 bytes.  MS_ERR_UNSUPPORTED
 * when the CPU lacks the instructions. */
ms_status ms_tag_searcher_pick(ms_tagscan_kernel kernel, unsigned stride, ms_tag_searcher *out);

struct ms_tagscan {
    ms_tagscan_options opts;
    ms_tagset set;
    ms_pool_rule rules[MS_TAGSCAN_MAX_TAGS];
    ms_tag_searcher searcher;
    unsigned threads;
    size_t chunk_size;
};

#endif

/* Crash-dump parsing, shared between the header, run-list and bitmap files. */
#ifndef MS_IMAGE_CRASHDUMP_INTERNAL_H
#define MS_IMAGE_CRASHDUMP_INTERNAL_H

#include <stdint.h>

#include "memsift/image.h"
#include "runmap.h"
#include "source.h"

static inline uint32_t ms_cd_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ms_cd_le64(const uint8_t *p)
{
    return (uint64_t)ms_cd_le32(p) | (uint64_t)ms_cd_le32(p + 4) << 32;
}

/* DumpType 1: the PhysicalMemoryBlock run list of the main header `raw`;
 * pages are packed run after run from the end of the header. */
ms_status ms_crashdump_parse_runs(ms_source *src, const uint8_t *raw, int is_64bit, ms_runmap *map);

/* DumpType 2, 5 and 6: the bitmap header after the main header.  Fills
 * hdr->bitmap_pages and hdr->bitmap_bits. */
ms_status ms_crashdump_parse_bitmap(ms_source *src, int is_64bit, uint32_t dump_type, ms_dump_header *hdr,
                                    ms_runmap *map);

#endif

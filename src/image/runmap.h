/* The physical address map of an image: sorted runs of physical memory and
 * where each lives in the source. */
#ifndef MS_IMAGE_RUNMAP_H
#define MS_IMAGE_RUNMAP_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

typedef struct ms_run {
    uint64_t paddr;
    uint64_t length;
    uint64_t offset;     /* byte offset in the source */
} ms_run;

typedef struct ms_runmap {
    ms_run *runs;
    size_t count;
    size_t capacity;
} ms_runmap;

void ms_runmap_init(ms_runmap *map);
void ms_runmap_free(ms_runmap *map);

/* Append a run; merges it into the previous one when both addresses and
 * offsets continue it.  Runs must be added in ascending physical order:
 * an overlapping or descending run is a format error. */
ms_status ms_runmap_add(ms_runmap *map, uint64_t paddr, uint64_t length, uint64_t offset);

/* Check every run lies inside a source of `source_size` bytes. */
ms_status ms_runmap_check(const ms_runmap *map, uint64_t source_size);

/* The run holding paddr, or NULL. */
const ms_run *ms_runmap_find(const ms_runmap *map, uint64_t paddr);

/* The first run starting after paddr, or NULL. */
const ms_run *ms_runmap_next(const ms_runmap *map, uint64_t paddr);

uint64_t ms_runmap_present_bytes(const ms_runmap *map);

#endif

#include "runmap.h"

#include <stdlib.h>

void ms_runmap_init(ms_runmap *map)
{
    map->runs = NULL;
    map->count = 0;
    map->capacity = 0;
}

void ms_runmap_free(ms_runmap *map)
{
    free(map->runs);
    ms_runmap_init(map);
}

ms_status ms_runmap_add(ms_runmap *map, uint64_t paddr, uint64_t length, uint64_t offset)
{
    if (length == 0)
        return MS_OK;
    if (paddr + length < paddr || offset + length < offset)
        return ms_fail(MS_ERR_FORMAT, "physical run at 0x%llx of 0x%llx bytes wraps around the address space",
                       (unsigned long long)paddr, (unsigned long long)length);
    if (map->count > 0) {
        ms_run *last = &map->runs[map->count - 1];
        if (paddr < last->paddr + last->length)
            return ms_fail(MS_ERR_FORMAT,
                           "physical runs must ascend without overlap: run at 0x%llx starts before the previous one ends at 0x%llx",
                           (unsigned long long)paddr, (unsigned long long)(last->paddr + last->length));
        if (last->paddr + last->length == paddr && last->offset + last->length == offset) {
            last->length += length;
            return MS_OK;
        }
    }
    if (map->count == map->capacity) {
        size_t cap = map->capacity ? map->capacity * 2 : 64;
        ms_run *runs = realloc(map->runs, cap * sizeof *runs);
        if (runs == NULL)
            return ms_fail(MS_ERR_NOMEM, "cannot grow the physical run map to %zu runs", cap);
        map->runs = runs;
        map->capacity = cap;
    }
    map->runs[map->count++] = (ms_run){paddr, length, offset};
    return MS_OK;
}

ms_status ms_runmap_check(const ms_runmap *map, uint64_t source_size)
{
    for (size_t i = 0; i < map->count; i++) {
        const ms_run *r = &map->runs[i];
        if (r->offset > source_size || r->length > source_size - r->offset)
            return ms_fail(MS_ERR_TRUNCATED,
                           "physical run %zu (0x%llx, 0x%llx bytes) needs file bytes up to 0x%llx, but the file has 0x%llx",
                           i, (unsigned long long)r->paddr, (unsigned long long)r->length,
                           (unsigned long long)(r->offset + r->length), (unsigned long long)source_size);
    }
    return MS_OK;
}

/* Index of the last run whose start is <= paddr, or map->count if none. */
static size_t floor_index(const ms_runmap *map, uint64_t paddr)
{
    size_t lo = 0, hi = map->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (map->runs[mid].paddr <= paddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? map->count : lo - 1;
}

const ms_run *ms_runmap_find(const ms_runmap *map, uint64_t paddr)
{
    size_t i = floor_index(map, paddr);
    if (i == map->count)
        return NULL;
    const ms_run *r = &map->runs[i];
    return paddr - r->paddr < r->length ? r : NULL;
}

const ms_run *ms_runmap_next(const ms_runmap *map, uint64_t paddr)
{
    size_t i = floor_index(map, paddr);
    i = (i == map->count) ? 0 : i + 1;
    return i < map->count ? &map->runs[i] : NULL;
}

uint64_t ms_runmap_present_bytes(const ms_runmap *map)
{
    uint64_t total = 0;
    for (size_t i = 0; i < map->count; i++)
        total += map->runs[i].length;
    return total;
}

/* libFuzzer target: the input is a VMware .vmss/.vmsn file.  It is parsed
 * from memory, and its regions are laid over a small and a large .vmem;
 * a map that overlaps, descends or leaves the .vmem aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/image/vmware.h"

typedef struct mem_ctx {
    const uint8_t *data;
} mem_ctx;

static ms_status mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    memcpy(buf, ((const mem_ctx *)ctx)->data + off, len);
    return MS_OK;
}

static void mem_destroy(void *ctx)
{
    (void)ctx;
}

static const ms_source_ops mem_ops = {mem_read, mem_destroy};

static void check_map(const ms_runmap *map, uint64_t vmem_size)
{
    for (size_t i = 0; i < map->count; i++) {
        const ms_run *r = &map->runs[i];
        if (r->length == 0 || r->offset > vmem_size || r->length > vmem_size - r->offset)
            abort();
        if (i > 0 && r->paddr < map->runs[i - 1].paddr + map->runs[i - 1].length)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mem_ctx ctx = {data};
    ms_source src = {size, data, 0, &mem_ops, &ctx};
    ms_vmware_meta meta;
    if (ms_vmware_meta_parse(&src, &meta) != MS_OK)
        return 0;
    if (meta.count > MS_VMWARE_MAX_REGIONS || (meta.count > 0) != (meta.regions != NULL))
        abort();
    static const uint64_t vmem_sizes[] = {0x40000, 0x400000000ull};
    for (size_t k = 0; k < 2; k++) {
        ms_runmap map;
        ms_runmap_init(&map);
        if (ms_vmware_build_map(&meta, vmem_sizes[k], &map) == MS_OK)
            check_map(&map, vmem_sizes[k]);
        ms_runmap_free(&map);
    }
    ms_vmware_meta_free(&meta);
    return 0;
}

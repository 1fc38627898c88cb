/* VMware .vmem images and their suspend/snapshot metadata (.vmss/.vmsn).
 *
 * A .vmem holds guest RAM with no header.  When the guest has memory above
 * the PCI hole, the .vmem leaves the hole out, and where each part of guest
 * memory lies in it is recorded in the metadata file's "memory" group as
 * regionsCount and regionPPN[i] / regionPageNum[i] / regionSize[i], all in
 * 4 KiB pages. */
#ifndef MS_IMAGE_VMWARE_H
#define MS_IMAGE_VMWARE_H

#include <stddef.h>
#include <stdint.h>

#include "runmap.h"
#include "source.h"

#define MS_VMWARE_MAX_REGIONS 4096u
#define MS_VMWARE_MAX_TAGS (1u << 20)
#define MS_VMWARE_MAX_GROUPS 65536u

typedef struct ms_vmware_region {
    uint64_t ppn;        /* first guest page frame */
    uint64_t page_num;   /* first page in the .vmem */
    uint64_t pages;
} ms_vmware_region;

typedef struct ms_vmware_meta {
    uint32_t magic;
    size_t count;              /* regionsCount; 0 when absent */
    ms_vmware_region *regions; /* `count` entries, in tag index order */
} ms_vmware_meta;

/* 1 when the source starts with one of the metadata magics. */
int ms_vmware_meta_detect(ms_source *src);

/* Parse the group table and the "memory" group's region tags.  A file with
 * no memory group or no regionsCount tag succeeds with count 0. */
ms_status ms_vmware_meta_parse(ms_source *src, ms_vmware_meta *out);
void ms_vmware_meta_free(ms_vmware_meta *meta);

/* Add the regions as runs of a .vmem of `vmem_size` bytes.  Regions that
 * overlap (in guest memory or in the .vmem) or reach past the .vmem end
 * are refused. */
ms_status ms_vmware_build_map(const ms_vmware_meta *meta, uint64_t vmem_size, ms_runmap *map);

/* The metadata file beside `image_path`: same name without its extension
 * (and without ".gz" first when `compressed`), extension .vmss or .vmsn in
 * any letter case, .vmss preferred.  *out is a malloc'd path, or NULL when
 * there is none. */
ms_status ms_vmware_find_sidecar(const char *image_path, int compressed, char **out);

#endif

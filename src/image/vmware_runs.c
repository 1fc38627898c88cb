/* VMware regions to physical runs of the .vmem. */
#include <stdlib.h>

#include "vmware.h"

#define PAGE_SHIFT 12
#define MAX_PAGE (UINT64_MAX >> PAGE_SHIFT)

typedef struct span {
    uint64_t start, pages;
    size_t region;
} span;

static int by_start(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort the spans and refuse the first overlap; `where` names the space. */
static ms_status check_overlap(span *s, size_t n, const char *where)
{
    qsort(s, n, sizeof *s, by_start);
    for (size_t i = 1; i < n; i++) {
        const span *a = &s[i - 1], *b = &s[i];
        if (b->start - a->start < a->pages)
            return ms_fail(MS_ERR_FORMAT,
                           "regions %zu (page 0x%llx, 0x%llx pages) and %zu (page 0x%llx) overlap in %s", a->region,
                           (unsigned long long)a->start, (unsigned long long)a->pages, b->region,
                           (unsigned long long)b->start, where);
    }
    return MS_OK;
}

ms_status ms_vmware_build_map(const ms_vmware_meta *meta, uint64_t vmem_size, ms_runmap *map)
{
    size_t n = 0;
    for (size_t i = 0; i < meta->count; i++) {
        const ms_vmware_region *r = &meta->regions[i];
        if (r->pages == 0)
            continue;
        if (r->ppn > MAX_PAGE || r->pages > MAX_PAGE - r->ppn)
            return ms_fail(MS_ERR_FORMAT, "region %zu (PPN 0x%llx, 0x%llx pages) passes the end of the address space",
                           i, (unsigned long long)r->ppn, (unsigned long long)r->pages);
        uint64_t need = r->page_num <= MAX_PAGE && r->pages <= MAX_PAGE - r->page_num
                            ? (r->page_num + r->pages) << PAGE_SHIFT
                            : UINT64_MAX;
        if (need > vmem_size)
            return ms_fail(MS_ERR_TRUNCATED,
                           "region %zu (PPN 0x%llx, 0x%llx pages from .vmem page 0x%llx) needs .vmem bytes up to "
                           "0x%llx, but the .vmem has 0x%llx",
                           i, (unsigned long long)r->ppn, (unsigned long long)r->pages,
                           (unsigned long long)r->page_num, (unsigned long long)need, (unsigned long long)vmem_size);
        n++;
    }
    if (n == 0)
        return meta->count == 0 ? MS_OK : ms_fail(MS_ERR_FORMAT, "all %zu regions have size 0", meta->count);
    span *guest = malloc(n * sizeof *guest), *file = malloc(n * sizeof *file);
    ms_status st = MS_OK;
    if (guest == NULL || file == NULL) {
        st = ms_fail(MS_ERR_NOMEM, "out of memory sorting %zu VMware regions", n);
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < meta->count; i++) {
        const ms_vmware_region *r = &meta->regions[i];
        if (r->pages == 0)
            continue;
        guest[k] = (span){r->ppn, r->pages, i};
        file[k] = (span){r->page_num, r->pages, i};
        k++;
    }
    if ((st = check_overlap(guest, n, "guest physical memory")) != MS_OK ||
        (st = check_overlap(file, n, "the .vmem")) != MS_OK)
        goto out;
    for (size_t i = 0; i < n && st == MS_OK; i++) {
        const ms_vmware_region *r = &meta->regions[guest[i].region];
        st = ms_runmap_add(map, r->ppn << PAGE_SHIFT, r->pages << PAGE_SHIFT, r->page_num << PAGE_SHIFT);
    }
out:
    free(guest);
    free(file);
    return st;
}

/* Region lists for the two kinds of scan: the image's physical ranges, and
 * the resident pages of a virtual address space that the image holds. */
#include <stdlib.h>

#include "yara_internal.h"

#define DEFAULT_REGION_LIMIT (16u << 20)

ms_status ms_yara_scan_physical(ms_yara_rules *rules, ms_image *image, const ms_yara_scan_options *opts,
                                ms_yara_match_fn fn, void *user)
{
    if (image == NULL)
        return ms_fail(MS_ERR_ARG, "ms_yara_scan_physical needs an image");
    size_t n = ms_image_get_info(image)->range_count;
    if (n == 0)
        return MS_OK;
    ms_yara_region *regions = malloc(n * sizeof *regions);
    if (regions == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory listing %zu physical ranges", n);
    size_t count = 0;
    ms_status st = MS_OK;
    for (size_t i = 0; i < n && st == MS_OK; i++) {
        ms_phys_range r;
        st = ms_image_range(image, i, &r);
        if (st == MS_OK && r.length > 0)
            regions[count++] = (ms_yara_region){r.start, r.start, r.length};
    }
    if (st == MS_OK)
        st = ms_yara_scan_regions(rules, image, regions, count, opts, fn, user);
    free(regions);
    return st;
}

typedef struct region_list {
    ms_image *image;
    size_t nranges;
    ms_yara_region *items;
    size_t count, cap, limit;
    ms_status status;
} region_list;

static int append(region_list *l, uint64_t address, uint64_t paddr, uint64_t length)
{
    if (l->count > 0) {
        ms_yara_region *last = &l->items[l->count - 1];
        if (last->address + last->length == address && last->paddr + last->length == paddr) {
            last->length += length;
            return 0;
        }
    }
    if (l->count == l->limit) {
        l->status = ms_fail(MS_ERR_LIMIT, "more than %zu separate mapped regions; stopped", l->limit);
        return 1;
    }
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        ms_yara_region *grown = realloc(l->items, cap * sizeof *grown);
        if (grown == NULL) {
            l->status = ms_fail(MS_ERR_NOMEM, "out of memory listing mapped regions");
            return 1;
        }
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->count++] = (ms_yara_region){address, paddr, length};
    return 0;
}

/* Index of the first held range ending after paddr (nranges if none). */
static size_t first_range_after(region_list *l, uint64_t paddr)
{
    size_t lo = 0, hi = l->nranges;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        ms_phys_range r;
        if (ms_image_range(l->image, mid, &r) != MS_OK)
            return l->nranges;
        if (r.start + r.length <= paddr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Keep the parts of a mapping whose physical bytes the image holds: device
 * memory mapped in kernel space is not in the image and would read as zeros. */
static int on_mapping(const ms_mapping *m, void *user)
{
    region_list *l = user;
    uint64_t pend = m->paddr + m->length;
    for (size_t i = first_range_after(l, m->paddr); i < l->nranges; i++) {
        ms_phys_range r;
        if (ms_image_range(l->image, i, &r) != MS_OK || r.start >= pend)
            break;
        uint64_t lo = r.start > m->paddr ? r.start : m->paddr;
        uint64_t hi = r.start + r.length < pend ? r.start + r.length : pend;
        if (lo < hi && append(l, m->vaddr + (lo - m->paddr), lo, hi - lo))
            return 1;
    }
    return 0;
}

ms_status ms_yara_vspace_regions(ms_vspace *vs, uint64_t start, uint64_t end, size_t limit, ms_yara_region **out,
                                 size_t *count)
{
    if (vs == NULL || out == NULL || count == NULL)
        return ms_fail(MS_ERR_ARG, "ms_yara_vspace_regions needs an address space and out pointers");
    region_list l = {ms_vspace_image(vs), 0, NULL, 0, 0, limit ? limit : DEFAULT_REGION_LIMIT, MS_OK};
    l.nranges = ms_image_get_info(l.image)->range_count;
    ms_status st = ms_vspace_walk(vs, start, end, on_mapping, &l);
    if (st == MS_OK)
        st = l.status;
    if (st != MS_OK) {
        free(l.items);
        return st;
    }
    *out = l.items;
    *count = l.count;
    return MS_OK;
}

ms_status ms_yara_scan_vspace(ms_yara_rules *rules, ms_vspace *vs, uint64_t start, uint64_t end,
                              const ms_yara_scan_options *opts, ms_yara_match_fn fn, void *user)
{
    ms_yara_region *regions;
    size_t count;
    ms_status st = ms_yara_vspace_regions(vs, start, end, 0, &regions, &count);
    if (st != MS_OK)
        return st;
    st = ms_yara_scan_regions(rules, ms_vspace_image(vs), regions, count, opts, fn, user);
    free(regions);
    return st;
}

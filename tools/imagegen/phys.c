/* Physical memory: RAM ranges, placed pages (pfn -> 4 KiB) and frames. */
#include <stdlib.h>
#include <string.h>

#include "ig.h"

#define LOW_RESERVED_PFN 0x100 /* the first MiB is not handed out at random */

static int bit_get(const uint8_t *bm, uint64_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }
static void bit_set(uint8_t *bm, uint64_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }

ig_status ig_phys_init(ig_ctx *c, uint64_t size)
{
    c->size = size;
    c->npfn = size / IG_PAGE;
    c->nram = 0;
    /* Real firmware maps: page 0 and 640K-1M reserved, PCI hole 3-4 GiB. */
    c->ram[c->nram++] = (ig_range){0x1000, 0x9F000};
    uint64_t low_end = size < 0xC0000000ull ? size : 0xC0000000ull;
    c->ram[c->nram++] = (ig_range){0x100000, low_end};
    if (size > 0x100000000ull)
        c->ram[c->nram++] = (ig_range){0x100000000ull, size};
    c->used = calloc(c->npfn / 8 + 1, 1);
    c->nodump = calloc(c->npfn / 8 + 1, 1);
    c->imgframe = calloc(c->npfn / 8 + 1, 1);
    c->pm.cap = 1 << 14;
    c->pm.keys = calloc(c->pm.cap, sizeof *c->pm.keys);
    c->pm.pages = calloc(c->pm.cap, sizeof *c->pm.pages);
    if (!c->used || !c->nodump || !c->imgframe || !c->pm.keys || !c->pm.pages)
        return ig_fail("out of memory for %llu pages", (unsigned long long)c->npfn);
    return IG_OK;
}

void ig_phys_free(ig_ctx *c)
{
    for (size_t i = 0; i < c->pm.cap; i++)
        free(c->pm.pages ? c->pm.pages[i] : NULL);
    free(c->pm.keys);
    free(c->pm.pages);
    free(c->used);
    free(c->nodump);
    free(c->imgframe);
}

int ig_pfn_is_ram(const ig_ctx *c, uint64_t pfn)
{
    uint64_t pa = pfn * IG_PAGE;
    for (int i = 0; i < c->nram; i++)
        if (pa >= c->ram[i].start && pa < c->ram[i].end)
            return 1;
    return 0;
}

static size_t slot_of(const ig_pagemap *m, uint64_t pfn)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)ig_mix64(pfn) & mask;
    while (m->keys[i] != 0 && m->keys[i] != pfn + 1)
        i = (i + 1) & mask;
    return i;
}

static ig_status grow(ig_pagemap *m)
{
    ig_pagemap n = {0};
    n.cap = m->cap * 2;
    n.keys = calloc(n.cap, sizeof *n.keys);
    n.pages = calloc(n.cap, sizeof *n.pages);
    if (!n.keys || !n.pages) {
        free(n.keys);
        free(n.pages);
        return ig_fail("out of memory growing the page map");
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t j = slot_of(&n, m->keys[i] - 1);
        n.keys[j] = m->keys[i];
        n.pages[j] = m->pages[i];
    }
    n.count = m->count;
    free(m->keys);
    free(m->pages);
    *m = n;
    return IG_OK;
}

const uint8_t *ig_phys_lookup(const ig_ctx *c, uint64_t pfn)
{
    size_t i = slot_of(&c->pm, pfn);
    return c->pm.keys[i] ? c->pm.pages[i] : NULL;
}

uint8_t *ig_phys_page(ig_ctx *c, uint64_t pfn)
{
    if (pfn >= c->npfn || !ig_pfn_is_ram(c, pfn)) {
        ig_fail("frame 0x%llx is not RAM", (unsigned long long)pfn);
        return NULL;
    }
    size_t i = slot_of(&c->pm, pfn);
    if (c->pm.keys[i])
        return c->pm.pages[i];
    if ((c->pm.count + 1) * 2 > c->pm.cap) {
        if (grow(&c->pm) != IG_OK)
            return NULL;
        i = slot_of(&c->pm, pfn);
    }
    uint8_t *pg = calloc(1, IG_PAGE);
    if (pg == NULL) {
        ig_fail("out of memory for a page");
        return NULL;
    }
    c->pm.keys[i] = pfn + 1;
    c->pm.pages[i] = pg;
    c->pm.count++;
    bit_set(c->used, pfn);
    return pg;
}

ig_status ig_frame_claim(ig_ctx *c, uint64_t pa)
{
    uint64_t pfn = pa / IG_PAGE;
    if (pfn >= c->npfn || bit_get(c->used, pfn))
        return ig_fail("frame 0x%llx already taken", (unsigned long long)pa);
    return ig_phys_page(c, pfn) ? IG_OK : IG_ERR;
}

ig_status ig_frame_alloc_below(ig_ctx *c, uint64_t limit, uint64_t *pa)
{
    uint64_t top = c->npfn;
    if (limit && limit / IG_PAGE < top)
        top = limit / IG_PAGE;
    if (top <= LOW_RESERVED_PFN)
        return ig_fail("no frames below 0x%llx", (unsigned long long)limit);
    for (int tries = 0; tries < 256; tries++) {
        uint64_t pfn = ig_rng_range(&c->rng, LOW_RESERVED_PFN, top - 1);
        if (!bit_get(c->used, pfn) && ig_pfn_is_ram(c, pfn)) {
            *pa = pfn * IG_PAGE;
            return ig_phys_page(c, pfn) ? IG_OK : IG_ERR;
        }
    }
    uint64_t start = ig_rng_range(&c->rng, LOW_RESERVED_PFN, top - 1);
    for (uint64_t k = 0; k < top; k++) {
        uint64_t pfn = LOW_RESERVED_PFN + (start - LOW_RESERVED_PFN + k) % (top - LOW_RESERVED_PFN);
        if (!bit_get(c->used, pfn) && ig_pfn_is_ram(c, pfn)) {
            *pa = pfn * IG_PAGE;
            return ig_phys_page(c, pfn) ? IG_OK : IG_ERR;
        }
    }
    return ig_fail("physical memory exhausted");
}

ig_status ig_frame_alloc(ig_ctx *c, uint64_t *pa)
{
    return ig_frame_alloc_below(c, 0, pa);
}

/* Marks frames taken without storing content (large-page kernel image:
 * untouched pages keep their generated filler). */
static int run_free(const ig_ctx *c, uint64_t pfn, uint64_t count)
{
    for (uint64_t k = 0; k < count; k++)
        if (pfn + k >= c->npfn || bit_get(c->used, pfn + k) || !ig_pfn_is_ram(c, pfn + k))
            return 0;
    return 1;
}

ig_status ig_frames_alloc_contig(ig_ctx *c, uint64_t count, uint64_t align, uint64_t lo, uint64_t hi,
                                 uint64_t *pa)
{
    uint64_t step = align / IG_PAGE;
    if (step == 0)
        step = 1;
    if (hi == 0 || hi > c->size)
        hi = c->size;
    uint64_t first = (lo / IG_PAGE + step - 1) / step;
    uint64_t last = hi / IG_PAGE;
    if (last < count || last / step <= first)
        return ig_fail("no room for %llu contiguous frames", (unsigned long long)count);
    uint64_t slots = (last - count) / step + 1 - first;
    uint64_t start = ig_rng_range(&c->rng, 0, slots - 1);
    for (uint64_t k = 0; k < slots; k++) {
        uint64_t pfn = (first + (start + k) % slots) * step;
        if (run_free(c, pfn, count)) {
            for (uint64_t j = 0; j < count; j++)
                bit_set(c->used, pfn + j);
            *pa = pfn * IG_PAGE;
            return IG_OK;
        }
    }
    return ig_fail("no room for %llu contiguous frames", (unsigned long long)count);
}

ig_status ig_phys_write(ig_ctx *c, uint64_t pa, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    while (len > 0) {
        uint64_t off = pa % IG_PAGE;
        size_t n = IG_PAGE - off < len ? IG_PAGE - off : len;
        uint8_t *pg = ig_phys_page(c, pa / IG_PAGE);
        if (pg == NULL)
            return IG_ERR;
        memcpy(pg + off, src, n);
        src += n;
        pa += n;
        len -= n;
    }
    return IG_OK;
}

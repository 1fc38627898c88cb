/* Kernel virtual address layout per Windows generation. */
#include "ig.h"

#define GiB 0x40000000ull
#define MiB 0x100000ull

static void region(ig_ctx *c, ig_va_kind k, uint64_t base, uint64_t span)
{
    c->va[k].base = c->va[k].next = ig_canonical(c, base);
    c->va[k].end = c->va[k].base + span;
}

/* PML4 slot not used by anything else. */
static uint64_t free_slot(ig_ctx *c, const unsigned *taken, int ntaken)
{
    for (;;) {
        unsigned idx = (unsigned)ig_rng_range(&c->rng, 0x100, 0x1EE);
        int clash = idx == c->selfref;
        for (int i = 0; i < ntaken; i++)
            clash |= taken[i] == idx;
        if (!clash)
            return (uint64_t)idx << 39;
    }
}

/* Kernel image placement: base VA, and the VA-PA offset when the loader
 * mapped it at a fixed physical offset (x86, and x64 before Win8.1). */
void ig_layout_kernel(ig_ctx *c)
{
    const ig_target *t = c->t;
    uint64_t small = c->size < 128 * MiB;
    if (t->mode == IG_MODE_X64) {
        if (t->kaslr) {
            c->kfixed = 0;
            c->kbase = 0xFFFFF80000000000ull + ig_rng_range(&c->rng, 1, 0x3FFF) * 2 * MiB;
            if (t->build < 10240)
                c->kbase += ig_rng_range(&c->rng, 0, 0x1FF) * IG_PAGE;
        } else {
            c->kfixed = 0xFFFFF80000000000ull;
            uint64_t pa = t->build >= 7600 ? 0x2600000ull : 0x1000000ull;
            if (small)
                pa = 0x400000ull;
            c->kbase = c->kfixed + pa + (t->build >= 7600 ? ig_rng_range(&c->rng, 0x20, 0x7F) * 0x1000 : 0);
        }
        return;
    }
    c->kfixed = 0x80000000ull;
    if (t->build < 6000)
        c->kbase = 0x804D7000ull; /* XP/2003 ntoskrnl */
    else
        c->kbase = 0x80000000ull + (small ? 0x400000ull : 0x2600000ull) + ig_rng_range(&c->rng, 0x10, 0x7F) * 0x1000;
}

void ig_layout_regions(ig_ctx *c)
{
    const ig_target *t = c->t;
    uint64_t kend = (c->kbase + c->ksize + 2 * MiB) & ~(2 * MiB - 1);
    if (t->mode == IG_MODE_X64) {
        if (t->build >= 10240) {
            unsigned taken[8] = {0x1EF, 0x1F0, 0x1FF};
            int n = 3;
            uint64_t np = free_slot(c, taken, n);
            taken[n++] = (unsigned)(np >> 39);
            uint64_t pp = free_slot(c, taken, n);
            taken[n++] = (unsigned)(pp >> 39);
            uint64_t sp = free_slot(c, taken, n);
            taken[n++] = (unsigned)(sp >> 39);
            uint64_t pf = free_slot(c, taken, n);
            region(c, IG_VA_NPPOOL, np + (ig_rng_range(&c->rng, 0, 0x7F) << 32), 4 * GiB);
            region(c, IG_VA_PPOOL, pp + (ig_rng_range(&c->rng, 0, 0x7F) << 32), 4 * GiB);
            region(c, IG_VA_SYSPTE, sp + (ig_rng_range(&c->rng, 0, 0x7F) << 32), 4 * GiB);
            region(c, IG_VA_PFNDB, pf, 64 * GiB);
            region(c, IG_VA_DRIVERS, kend + ig_rng_range(&c->rng, 1, 16) * 2 * MiB, 1 * GiB);
        } else if (t->build >= 9200) {
            region(c, IG_VA_NPPOOL, 0xFFFFE00000000000ull + (ig_rng_range(&c->rng, 0, 0x3F) << 32), 4 * GiB);
            region(c, IG_VA_PPOOL, 0xFFFFC00000000000ull + (ig_rng_range(&c->rng, 0, 0x3F) << 32), 4 * GiB);
            region(c, IG_VA_SYSPTE, 0xFFFFD00000000000ull + (ig_rng_range(&c->rng, 0, 0x3F) << 32), 4 * GiB);
            region(c, IG_VA_PFNDB, 0xFFFFFA8000000000ull, 64 * GiB);
            region(c, IG_VA_DRIVERS, kend + ig_rng_range(&c->rng, 1, 16) * 2 * MiB, 1 * GiB);
        } else if (t->build >= 7600) {
            uint64_t pfn_bytes = (c->npfn * 0x30 + 16 * MiB) & ~(16 * MiB - 1);
            region(c, IG_VA_PFNDB, 0xFFFFFA8000000000ull, pfn_bytes);
            region(c, IG_VA_NPPOOL, 0xFFFFFA8000000000ull + pfn_bytes, 8 * GiB);
            region(c, IG_VA_PPOOL, 0xFFFFF8A000000000ull, 8 * GiB);
            region(c, IG_VA_DRIVERS, 0xFFFFF88000C00000ull, 128 * MiB);
            region(c, IG_VA_SYSPTE, 0xFFFFF8800A000000ull, 1 * GiB);
        } else {
            region(c, IG_VA_PPOOL, 0xFFFFFA8000000000ull, 8 * GiB);
            region(c, IG_VA_SYSPTE, 0xFFFFFADFA0000000ull, 512 * MiB);
            region(c, IG_VA_DRIVERS, 0xFFFFFADFC0000000ull, 512 * MiB);
            region(c, IG_VA_NPPOOL, 0xFFFFFADFE0000000ull, 384 * MiB);
            region(c, IG_VA_PFNDB, 0xFFFFFADF80000000ull, 512 * MiB);
        }
        return;
    }
    if (t->build < 6000) {
        region(c, IG_VA_PFNDB, 0x81000000ull, 6 * MiB);
        region(c, IG_VA_NPPOOL, 0x81600000ull + ig_rng_range(&c->rng, 0, 0x40) * 0x10000, 16 * MiB);
        region(c, IG_VA_PPOOL, 0xE1000000ull, 64 * MiB);
        region(c, IG_VA_SYSPTE, 0xF7000000ull, 4 * MiB);
        region(c, IG_VA_DRIVERS, 0xF7400000ull, 8 * MiB);
    } else {
        region(c, IG_VA_PFNDB, 0x83E00000ull, 8 * MiB);
        region(c, IG_VA_NPPOOL, 0x84800000ull + ig_rng_range(&c->rng, 0, 0x40) * 0x10000, 32 * MiB);
        region(c, IG_VA_PPOOL, 0x8A000000ull, 32 * MiB);
        region(c, IG_VA_DRIVERS, 0x8C000000ull, 32 * MiB);
        region(c, IG_VA_SYSPTE, 0x8E800000ull, 8 * MiB);
    }
}

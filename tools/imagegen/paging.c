/* Page tables for x64 (4-level), x86 PAE and x86 non-PAE, Windows style:
 * one self-referencing entry, kernel half shared by every process. */
#include <string.h>

#include "ig.h"

#define X64_FRAME 0x000FFFFFFFFFF000ull
#define PAE_FRAME 0x0000000FFFFFF000ull
#define NX (1ull << 63)

static uint64_t rd_entry(ig_ctx *c, uint64_t pa, unsigned width)
{
    const uint8_t *pg = ig_phys_lookup(c, pa / IG_PAGE);
    if (pg == NULL)
        return 0;
    uint64_t v = 0;
    memcpy(&v, pg + pa % IG_PAGE, width);
    return v;
}

static ig_status wr_entry(ig_ctx *c, uint64_t pa, unsigned width, uint64_t v)
{
    return ig_phys_write(c, pa, &v, width);
}

uint64_t ig_canonical(const ig_ctx *c, uint64_t va)
{
    if (c->mode != IG_MODE_X64)
        return va & 0xFFFFFFFFull;
    return (va & (1ull << 47)) ? (va | 0xFFFF000000000000ull) : (va & 0x0000FFFFFFFFFFFFull);
}

static unsigned width_of(const ig_ctx *c) { return c->mode == IG_MODE_X86 ? 4 : 8; }
static uint64_t frame_mask(const ig_ctx *c)
{
    return c->mode == IG_MODE_X64 ? X64_FRAME : c->mode == IG_MODE_PAE ? PAE_FRAME : 0xFFFFF000ull;
}

static uint64_t table_flags(int user) { return user ? 0x67 : 0x63; }

static uint64_t leaf_flags(const ig_ctx *c, unsigned flags)
{
    uint64_t f = 0x63;               /* present, write, accessed, dirty */
    if (flags & IG_MAP_RO)
        f &= ~2ull;
    if (flags & IG_MAP_USER)
        f |= 4;
    else
        f |= 0x100;                  /* global */
    if ((flags & IG_MAP_NX) && c->mode != IG_MODE_X86)
        f |= NX;
    return f;
}

/* Physical address of the entry at `level` (1 = PTE) for va, creating
 * intermediate tables when `create`.  *large is set when a large page ends
 * the walk above level 1. */
static ig_status entry_addr(ig_ctx *c, uint64_t root, uint64_t va, int stop_level, int create, int user,
                            uint64_t *slot, int *large)
{
    unsigned w = width_of(c);
    uint64_t table = root;
    int top;
    if (c->mode == IG_MODE_X64)
        top = 4;
    else if (c->mode == IG_MODE_PAE)
        top = 3;
    else
        top = 2;
    *large = 0;
    for (int level = top; level >= 1; level--) {
        unsigned shift, bits;
        if (c->mode == IG_MODE_X64) {
            shift = 12 + 9 * (unsigned)(level - 1);
            bits = 9;
        } else if (c->mode == IG_MODE_PAE) {
            shift = 12 + 9 * (unsigned)(level - 1);
            bits = level == 3 ? 2 : 9;
        } else {
            shift = 12 + 10 * (unsigned)(level - 1);
            bits = 10;
        }
        uint64_t idx = (va >> shift) & ((1ull << bits) - 1);
        uint64_t ea = table + idx * w;
        if (level == stop_level) {
            *slot = ea;
            return IG_OK;
        }
        uint64_t e = rd_entry(c, ea, w);
        if (!(e & 1)) {
            if (!create)
                return IG_ERR;
            if (c->mode == IG_MODE_PAE && level == 3)
                return ig_fail("PAE PDPT entry %llu missing", (unsigned long long)idx);
            uint64_t pa;
            if (ig_frame_alloc(c, &pa) != IG_OK)
                return IG_ERR;
            e = pa | table_flags(user);
            if (wr_entry(c, ea, w, e) != IG_OK)
                return IG_ERR;
        }
        if (level == 2 && (e & 0x80)) {
            *large = 1;
            *slot = ea;
            return IG_OK;
        }
        table = e & frame_mask(c);
    }
    return ig_fail("page walk fell through");
}

ig_status ig_map_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t pa, unsigned flags)
{
    uint64_t slot;
    int large;
    if (entry_addr(c, root, va, 1, 1, (flags & IG_MAP_USER) != 0, &slot, &large) != IG_OK)
        return ig_fail("cannot map 0x%llx", (unsigned long long)va);
    if (large)
        return ig_fail("0x%llx is inside a large page", (unsigned long long)va);
    return wr_entry(c, slot, width_of(c), (pa & frame_mask(c)) | leaf_flags(c, flags));
}

ig_status ig_map(ig_ctx *c, uint64_t va, uint64_t pa, unsigned flags)
{
    if (c->mode == IG_MODE_PAE) {
        /* the System PDPT is in the page before PD0 */
        return ig_map_in(c, c->dtb, va, pa, flags);
    }
    return ig_map_in(c, c->root_pa, va, pa, flags);
}

ig_status ig_map_large(ig_ctx *c, uint64_t va, uint64_t pa, unsigned flags)
{
    uint64_t slot;
    int large;
    uint64_t root = c->mode == IG_MODE_PAE ? c->dtb : c->root_pa;
    if (entry_addr(c, root, va, 2, 1, 0, &slot, &large) != IG_OK)
        return ig_fail("cannot map large page at 0x%llx", (unsigned long long)va);
    return wr_entry(c, slot, width_of(c), (pa & frame_mask(c)) | leaf_flags(c, flags) | 0x80);
}

static ig_status final_pte_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t *slot, uint64_t *old)
{
    int large;
    if (entry_addr(c, root, va, 1, 0, 0, slot, &large) != IG_OK || large)
        return ig_fail("0x%llx has no small-page PTE", (unsigned long long)va);
    *old = rd_entry(c, *slot, width_of(c));
    return IG_OK;
}

static ig_status final_pte(ig_ctx *c, uint64_t va, uint64_t *slot, uint64_t *old)
{
    return final_pte_in(c, c->mode == IG_MODE_PAE ? c->dtb : c->root_pa, va, slot, old);
}

/* Protection 4 (MM_READWRITE) in bits 5..9. */
#define PROT_RW (4ull << 5)

ig_status ig_pte_make_transition(ig_ctx *c, uint64_t va)
{
    uint64_t slot, old;
    if (final_pte(c, va, &slot, &old) != IG_OK)
        return IG_ERR;
    if (!(old & 1))
        return ig_fail("0x%llx is not valid", (unsigned long long)va);
    uint64_t e = (old & frame_mask(c)) | (1ull << 11) | PROT_RW;
    return wr_entry(c, slot, width_of(c), e);
}

ig_status ig_pte_make_pagefile(ig_ctx *c, uint64_t va, uint32_t file, uint64_t offset_pages)
{
    uint64_t slot, old;
    if (final_pte(c, va, &slot, &old) != IG_OK)
        return IG_ERR;
    uint64_t e;
    if (c->mode == IG_MODE_X86) {
        e = ((uint64_t)(file & 0xF) << 1) | PROT_RW | ((offset_pages & 0xFFFFF) << 12);
    } else {
        /* PageFileLow at bits 12..15 since the 2018 L1TF servicing and on
         * Win10; bits 1..4 on older builds. */
        long off;
        int pos = 12, len;
        if (ig_prof_bits(c->prof, "_MMPTE_SOFTWARE", "PageFileLow", &off, &pos, &len) != IG_OK)
            pos = c->t->build >= 10240 ? 12 : 1;
        e = ((uint64_t)(file & 0xF) << pos) | PROT_RW | (1ull << 4) | ((offset_pages & 0xFFFFFFFF) << 32);
    }
    return wr_entry(c, slot, width_of(c), e);
}

ig_status ig_pte_make_prototype_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t proto_va)
{
    uint64_t slot, old;
    if (final_pte_in(c, root, va, &slot, &old) != IG_OK)
        return IG_ERR;
    uint64_t e;
    if (c->mode == IG_MODE_X64)          /* ProtoAddress: bits 16..63 */
        e = ((proto_va & 0x0000FFFFFFFFFFFFull) << 16) | (1ull << 10);
    else if (c->mode == IG_MODE_PAE)     /* ProtoAddress: bits 32..63 */
        e = ((proto_va & 0xFFFFFFFFull) << 32) | (1ull << 10);
    else                                 /* split: VA bits 2..9 in 1..8, 10..30 in 11..31 */
        e = ((proto_va & 0x7FFFFC00ull) << 1) | ((proto_va & 0x3FCull) >> 1) | (1ull << 10);
    return wr_entry(c, slot, width_of(c), e);
}

ig_status ig_pte_make_prototype(ig_ctx *c, uint64_t va, uint64_t proto_va)
{
    return ig_pte_make_prototype_in(c, c->mode == IG_MODE_PAE ? c->dtb : c->root_pa, va, proto_va);
}

ig_status ig_v2p_in(ig_ctx *c, uint64_t root, uint64_t va, uint64_t *pa)
{
    unsigned w = width_of(c);
    uint64_t slot;
    int large;
    if (entry_addr(c, root, va, 1, 0, 0, &slot, &large) != IG_OK)
        return IG_ERR;
    uint64_t e = rd_entry(c, slot, w);
    if (large) {
        uint64_t size = c->mode == IG_MODE_X86 ? 0x400000ull : 0x200000ull;
        uint64_t base = c->mode == IG_MODE_X86 ? (e & 0xFFC00000ull) : (e & frame_mask(c) & ~(size - 1));
        *pa = base + (va & (size - 1));
        return IG_OK;
    }
    int ok = (e & 1) || ((e & (1ull << 11)) && !(e & (1ull << 10)));
    if (!ok)
        return IG_ERR;
    *pa = (e & frame_mask(c)) + (va & 0xFFF);
    return IG_OK;
}

ig_status ig_v2p(ig_ctx *c, uint64_t va, uint64_t *pa)
{
    return ig_v2p_in(c, c->mode == IG_MODE_PAE ? c->dtb : c->root_pa, va, pa);
}

/* The System tables live where Windows' loader puts them (vol3 and
 * MemProcFS search these ranges first). */
ig_status ig_paging_init(ig_ctx *c)
{
    const ig_target *t = c->t;
    c->mode = t->mode;
    c->ptr = t->mode == IG_MODE_X64 ? 8 : 4;
    if (t->mode == IG_MODE_X64) {
        uint64_t pa;
        if (t->build >= 9200)
            pa = 0x1A0000 + ig_rng_range(&c->rng, 0, 15) * IG_PAGE;
        else if (t->build >= 7600)
            pa = 0x187000;
        else
            pa = 0x100000 + ig_rng_range(&c->rng, 0, 255) * IG_PAGE;
        if (ig_frame_claim(c, pa) != IG_OK)
            return IG_ERR;
        c->root_pa = c->dtb = pa;
        c->selfref = t->selfref >= 0 ? (unsigned)t->selfref : (unsigned)ig_rng_range(&c->rng, 0x100, 0x1FE);
        c->pte_base = ig_canonical(c, (uint64_t)c->selfref << 39);
        return wr_entry(c, pa + c->selfref * 8, 8, pa | 0x63 | NX);
    }
    if (t->mode == IG_MODE_PAE) {
        /* WinLoad layout: PDPT page, then PD0..PD3 in the four next pages;
         * PD3[0..3] map the four PDs at 0xC0600000 (PTEs at 0xC0000000). */
        uint64_t pa = t->build >= 7600 ? 0x185000 : 0x319000;
        for (int i = 0; i < 5; i++)
            if (ig_frame_claim(c, pa + (uint64_t)i * IG_PAGE) != IG_OK)
                return IG_ERR;
        c->dtb = c->root_pa = pa;
        for (int i = 0; i < 4; i++) {
            c->pae_pd[i] = pa + (uint64_t)(i + 1) * IG_PAGE;
            if (wr_entry(c, pa + (uint64_t)i * 8, 8, c->pae_pd[i] | 1) != IG_OK)
                return IG_ERR;
        }
        for (int i = 0; i < 4; i++)
            if (wr_entry(c, c->pae_pd[3] + (uint64_t)i * 8, 8, c->pae_pd[i] | 0x63) != IG_OK)
                return IG_ERR;
        c->pte_base = 0xC0000000ull;
        return IG_OK;
    }
    uint64_t pa = 0x39000;
    if (ig_frame_claim(c, pa) != IG_OK)
        return IG_ERR;
    c->dtb = c->root_pa = pa;
    c->pte_base = 0xC0000000ull;
    return wr_entry(c, pa + 0x300 * 4, 4, pa | 0x63);
}

ig_status ig_paging_new_process(ig_ctx *c, ig_proc_truth *p)
{
    if (c->mode == IG_MODE_PAE) {
        if (c->pae_pdpt_page == 0 || c->pae_pdpt_slots >= IG_PAGE / 32) {
            if (ig_frame_alloc(c, &c->pae_pdpt_page) != IG_OK)
                return IG_ERR;
            c->pae_pdpt_slots = (unsigned)ig_rng_range(&c->rng, 0, 8);
        }
        p->dtb = c->pae_pdpt_page + (uint64_t)c->pae_pdpt_slots++ * 32;
        for (int i = 0; i < 4; i++) {
            if (ig_frame_alloc(c, &p->user_pt_pages[i]) != IG_OK)
                return IG_ERR;
            if (wr_entry(c, p->dtb + (uint64_t)i * 8, 8, p->user_pt_pages[i] | 1) != IG_OK)
                return IG_ERR;
        }
        p->root_pa = p->dtb;
        return IG_OK;
    }
    if (ig_frame_alloc(c, &p->dtb) != IG_OK)
        return IG_ERR;
    p->root_pa = p->dtb;
    return IG_OK;
}

static ig_status copy_entries(ig_ctx *c, uint64_t dst, uint64_t src, unsigned from, unsigned to, unsigned w)
{
    for (unsigned i = from; i < to; i++) {
        uint64_t e = rd_entry(c, src + (uint64_t)i * w, w);
        if (e && wr_entry(c, dst + (uint64_t)i * w, w, e) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

/* Give every process the final kernel half and its own self-map. */
ig_status ig_paging_finish(ig_ctx *c)
{
    for (int k = 0; k < c->nprocs; k++) {
        ig_proc_truth *p = &c->procs[k];
        if (p->pid == 4 || p->root_pa == c->root_pa)
            continue;
        if (c->mode == IG_MODE_X64) {
            if (copy_entries(c, p->root_pa, c->root_pa, 256, 512, 8) != IG_OK ||
                wr_entry(c, p->root_pa + c->selfref * 8, 8, p->root_pa | 0x63 | NX) != IG_OK)
                return IG_ERR;
        } else if (c->mode == IG_MODE_PAE) {
            for (int i = 2; i < 4; i++)
                if (copy_entries(c, p->user_pt_pages[i], c->pae_pd[i], 0, 512, 8) != IG_OK)
                    return IG_ERR;
            for (int i = 0; i < 4; i++)
                if (wr_entry(c, p->user_pt_pages[3] + (uint64_t)i * 8, 8, p->user_pt_pages[i] | 0x63) != IG_OK)
                    return IG_ERR;
        } else {
            if (copy_entries(c, p->root_pa, c->root_pa, 0x200, 0x400, 4) != IG_OK ||
                wr_entry(c, p->root_pa + 0x300 * 4, 4, p->root_pa | 0x63) != IG_OK)
                return IG_ERR;
        }
    }
    return IG_OK;
}

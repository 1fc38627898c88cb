/* 32-bit PAE paging: 2/9/9/12 with 64-bit entries, PDE bit 7 = 2 MiB page.
 * CR3 holds the 32-byte aligned address of a 4-entry PDPT. */
#include "paging_internal.h"

/* Bit 63 (NX) and 52..62 are not address bits; bit 12 of a large PDE is PAT. */
static uint64_t pae_large_base(uint64_t entry, int level)
{
    (void)level;
    return entry & 0x000FFFFFFFE00000ull;
}

static int pae_vaddr_ok(uint64_t vaddr)
{
    return vaddr <= 0xFFFFFFFFull;
}

static uint64_t pae_canonical(uint64_t vaddr)
{
    return vaddr;
}

const ms_paging_desc ms_paging_pae = {
    .mode = MS_PAGING_PAE,
    .name = "x86 PAE",
    .top_level = 3,
    .entry_size = 8,
    .index_bits = 9,
    .top_entries = 4,
    .large_levels = 1u << 2,
    .dtb_max = 0xFFFFFFFFull,
    .root_mask = 0xFFFFFFE0ull,
    .frame_mask = 0x000FFFFFFFFFF000ull,
    /* Windows' PAE _MMPTE_TRANSITION has a 26-bit PageFrameNumber (12..37). */
    .transition_mask = 0x0000003FFFFFF000ull,
    .large_base = pae_large_base,
    .vaddr_ok = pae_vaddr_ok,
    .canonical = pae_canonical,
};

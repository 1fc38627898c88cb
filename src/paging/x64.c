/* IA-32e 4-level paging: 9/9/9/9/12, PDPTE bit 7 = 1 GiB, PDE bit 7 = 2 MiB. */
#include "paging_internal.h"

/* Frames are bits 12..51; bit 12 of a large entry is PAT, bit 63 is NX and
 * 52..62 are ignored. */
static uint64_t x64_large_base(uint64_t entry, int level)
{
    if (level == 3)
        return entry & 0x000FFFFFC0000000ull;
    return entry & 0x000FFFFFFFE00000ull;
}

static int x64_vaddr_ok(uint64_t vaddr)
{
    uint64_t high = vaddr >> 47;
    return high == 0 || high == 0x1FFFFull;
}

static uint64_t x64_canonical(uint64_t vaddr)
{
    if (vaddr & (1ull << 47))
        return vaddr | 0xFFFF000000000000ull;
    return vaddr;
}

const ms_paging_desc ms_paging_x64 = {
    .mode = MS_PAGING_X64,
    .name = "x64",
    .top_level = 4,
    .entry_size = 8,
    .index_bits = 9,
    .top_entries = 512,
    .large_levels = (1u << 2) | (1u << 3),
    /* CR3 bits 0..11 hold flags or a PCID (Windows 10 sets them), 63 is
     * the no-flush bit of MOV CR3. */
    .dtb_max = UINT64_MAX,
    .root_mask = 0x000FFFFFFFFFF000ull,
    .frame_mask = 0x000FFFFFFFFFF000ull,
    /* Transition PFNs: Windows sets bit 45 of some invalid PTEs (the L1TF
     * mitigation), so only bits 12..44 are trusted (32 TiB of RAM). */
    .transition_mask = 0x00001FFFFFFFF000ull,
    .large_base = x64_large_base,
    .vaddr_ok = x64_vaddr_ok,
    .canonical = x64_canonical,
};

/* 32-bit non-PAE paging: 10/10/12, PDE bit 7 = 4 MiB page (PSE). */
#include "paging_internal.h"

/* A 4 MiB PDE holds PAT at bit 12 and, with PSE-36, physical address bits
 * 32..39 in PDE bits 13..20. */
static uint64_t x86_large_base(uint64_t entry, int level)
{
    (void)level;
    return (entry & 0xFFC00000ull) | (((entry >> 13) & 0xFFull) << 32);
}

static int x86_vaddr_ok(uint64_t vaddr)
{
    return vaddr <= 0xFFFFFFFFull;
}

static uint64_t x86_canonical(uint64_t vaddr)
{
    return vaddr;
}

const ms_paging_desc ms_paging_x86 = {
    .mode = MS_PAGING_X86,
    .name = "x86",
    .top_level = 2,
    .entry_size = 4,
    .index_bits = 10,
    .top_entries = 1024,
    .large_levels = 1u << 2,
    .dtb_max = 0xFFFFFFFFull,
    .root_mask = 0xFFFFF000ull,
    .frame_mask = 0xFFFFF000ull,
    .transition_mask = 0xFFFFF000ull,
    .large_base = x86_large_base,
    .vaddr_ok = x86_vaddr_ok,
    .canonical = x86_canonical,
};

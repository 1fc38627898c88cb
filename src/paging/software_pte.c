/* Windows software PTEs: entries with the Valid bit clear. */
#include "paging_internal.h"

/* The page-file number moved between builds (bits 1..4 before the 2018 L1TF
 * servicing, 12..15 after; 1..4 now hold flags), but the page-file offset
 * (PageFileHigh) stayed in bits 32..63 on PAE and x64 and 12..31 on x86.
 * An offset of zero means demand zero whatever the layout. */
static int is_demand_zero(const ms_paging_desc *d, uint64_t entry)
{
    if (d->mode == MS_PAGING_X86)
        return (entry >> 12) == 0 && ((entry >> 1) & 0xF) == 0;
    return (entry >> 32) == 0;
}

ms_pte_kind ms_pte_software_kind(const ms_paging_desc *d, uint64_t entry)
{
    if (entry == 0)
        return MS_PTE_NOT_MAPPED;
    if (ms_entry_is_transition(entry))
        return MS_PTE_TRANSITION;
    if (entry & MS_PTE_PROTOTYPE_BIT)
        return MS_PTE_PROTOTYPE;
    if (is_demand_zero(d, entry))
        return MS_PTE_DEMAND_ZERO;
    return MS_PTE_PAGEFILE;
}

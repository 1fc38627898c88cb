/* Translation of one virtual address, with a software TLB in front. */
#include <string.h>

#include "paging_internal.h"

static const char *level_name(const ms_paging_desc *d, int level)
{
    static const char *const x64_names[] = {"", "PTE", "PDE", "PDPTE", "PML4E"};
    if (d->mode == MS_PAGING_X86 && level == 2)
        return "PDE";
    return x64_names[level];
}

static ms_status walk_one(ms_vspace *vs, uint64_t vaddr, ms_translation *out)
{
    const ms_paging_desc *d = vs->desc;
    memset(out, 0, sizeof *out);
    out->kind = MS_PTE_NOT_MAPPED;
    out->level = d->top_level;
    if (!d->vaddr_ok(vaddr)) {
        if (d->mode == MS_PAGING_X64)
            return ms_fail(MS_ERR_NOT_PRESENT, "virtual address 0x%llx is not canonical (bits 47..63 differ)",
                           (unsigned long long)vaddr);
        return ms_fail(MS_ERR_NOT_PRESENT, "virtual address 0x%llx is beyond the 32-bit %s address space",
                       (unsigned long long)vaddr, d->name);
    }

    uint64_t table = vs->root;
    for (int level = d->top_level; level >= 1; level--) {
        unsigned shift = ms_level_shift(d, level);
        uint64_t index = (vaddr >> shift) & (ms_level_entries(d, level) - 1);
        uint64_t at = table + index * d->entry_size;
        uint8_t raw[8];
        ms_status st = ms_image_read(vs->image, at, raw, d->entry_size);
        out->level = level;
        out->kind = MS_PTE_NOT_MAPPED;
        out->entry = 0;
        if (st == MS_ERR_NOT_PRESENT)
            return ms_fail(MS_ERR_NOT_PRESENT,
                           "the level-%d table (%ss) for 0x%llx is at physical 0x%llx, which the image does not hold",
                           level, level_name(d, level), (unsigned long long)vaddr, (unsigned long long)table);
        if (st != MS_OK)
            return ms_fail(MS_ERR_IO, "reading the %s of 0x%llx at physical 0x%llx failed", level_name(d, level),
                           (unsigned long long)vaddr, (unsigned long long)at);
        uint64_t entry = ms_le_entry(raw, d->entry_size);
        out->entry = entry;

        uint64_t frame;
        if (entry & MS_PTE_VALID_BIT) {
            if (ms_entry_is_large(d, entry, level)) {
                uint64_t size = 1ull << shift;
                out->kind = MS_PTE_VALID;
                out->page_size = size;
                out->paddr = d->large_base(entry, level) + (vaddr & (size - 1));
                return MS_OK;
            }
            frame = entry & d->frame_mask;
            out->kind = MS_PTE_VALID;
        } else if (ms_entry_is_transition(entry)) {
            /* Windows can put page-table pages themselves in transition, so
             * transition is accepted at every level; its bit 7 is not PS. */
            frame = entry & d->transition_mask;
            out->kind = MS_PTE_TRANSITION;
        } else {
            out->kind = ms_pte_software_kind(d, entry);
            if (out->kind == MS_PTE_NOT_MAPPED)
                return ms_fail(MS_ERR_NOT_PRESENT, "0x%llx is not mapped: the %s is zero",
                               (unsigned long long)vaddr, level_name(d, level));
            return ms_fail(MS_ERR_PAGED_OUT, "0x%llx is paged out: %s 0x%llx is a %s entry", (unsigned long long)vaddr,
                           level_name(d, level), (unsigned long long)entry,
                           out->kind == MS_PTE_PROTOTYPE ? "prototype"
                           : out->kind == MS_PTE_DEMAND_ZERO ? "demand-zero" : "page-file");
        }
        if (level == 1) {
            out->page_size = MS_PAGE_SIZE;
            out->paddr = frame | (vaddr & (MS_PAGE_SIZE - 1));
            return MS_OK;
        }
        table = frame;
    }
    return ms_fail(MS_ERR_INTERNAL, "page walk of 0x%llx fell through", (unsigned long long)vaddr);
}

static ms_tlb_entry *tlb_slot(ms_vspace *vs, uint64_t vpn)
{
    return &vs->tlb[(vpn ^ (vpn >> 10) ^ (vpn >> 20)) & (MS_TLB_SIZE - 1)];
}

ms_status ms_vspace_translate(ms_vspace *vs, uint64_t vaddr, ms_translation *out)
{
    if (vs == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vspace_translate needs an address space and an out-parameter");
    uint64_t vpn = vaddr >> MS_PAGE_SHIFT;
    uint64_t offset = vaddr & (MS_PAGE_SIZE - 1);
    ms_tlb_entry *slot = tlb_slot(vs, vpn);
    if (slot->tag == vpn + 1) {
        out->paddr = slot->page_paddr | offset;
        out->page_size = slot->page_size;
        out->entry = slot->entry;
        out->level = slot->level;
        out->kind = slot->kind;
        return MS_OK;
    }
    ms_status st = walk_one(vs, vaddr, out);
    if (st != MS_OK)
        return st;
    slot->tag = vpn + 1;
    slot->page_paddr = out->paddr - offset;
    slot->page_size = out->page_size;
    slot->entry = out->entry;
    slot->level = out->level;
    slot->kind = out->kind;
    return MS_OK;
}

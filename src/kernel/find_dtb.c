#include "find_dtb.h"

#include <stdlib.h>

#include "dtb_process.h"
#include "dtb_scan.h"
#include "kuser.h"

#define PAGE 4096u

/* A candidate is good if KUSER_SHARED_DATA reads as Windows through it. */
static int validates(ms_image *image, ms_paging_mode mode, uint64_t dtb)
{
    ms_vspace *vs;
    if (ms_vspace_create(image, mode, dtb, &vs) != MS_OK)
        return 0;
    ms_kuser ku;
    int ok = ms_kuser_read(vs, &ku) == MS_OK;
    ms_vspace_destroy(vs);
    return ok;
}

static int accept(ms_image *image, ms_paging_mode mode, uint64_t dtb, const char *source, ms_dtb_result *out)
{
    if (!validates(image, mode, dtb))
        return 0;
    out->mode = mode;
    out->dtb = dtb;
    out->source = source;
    return 1;
}

/* Which modes the header allows; all three when it says nothing. */
static void header_modes(const ms_dump_header *h, int *x64, int *pae, int *x86)
{
    *x64 = *pae = *x86 = 1;
    if (!h->has_header)
        return;
    if (h->machine_type == MS_MACHINE_AMD64) {
        *pae = *x86 = 0;
    } else if (h->machine_type == MS_MACHINE_I386) {
        *x64 = 0;
        if (h->pae_enabled == 1)
            *x86 = 0;
        else if (h->pae_enabled == 0)
            *pae = 0;
    }
}

static int try_header(ms_image *image, const ms_dump_header *h, ms_dtb_result *out)
{
    if (!h->has_header || h->directory_table_base == 0)
        return 0;
    if (h->machine_type == MS_MACHINE_AMD64)
        return accept(image, MS_PAGING_X64, h->directory_table_base, "crash dump header", out);
    if (h->machine_type != MS_MACHINE_I386)
        return 0;
    if (h->pae_enabled != 0 && accept(image, MS_PAGING_PAE, h->directory_table_base, "crash dump header", out))
        return 1;
    return h->pae_enabled != 1 && accept(image, MS_PAGING_X86, h->directory_table_base, "crash dump header", out);
}

static int try_low_stub(ms_image *image, uint8_t *page, ms_dtb_result *out)
{
    for (uint64_t pa = 0x1000; pa < 0x100000; pa += PAGE) {
        uint64_t dtb;
        if (ms_image_read(image, pa, page, PAGE) != MS_OK)
            continue;
        if (ms_dtb_from_low_stub(page, &dtb) && accept(image, MS_PAGING_X64, dtb, "x64 low stub", out))
            return 1;
    }
    return 0;
}

/* The System process's own DTB, for page tables the self-map tests miss. */
static int try_process_scan(ms_image *image, const ms_profile_db *profiles, uint8_t *page, int x64, int pae, int x86,
                            ms_dtb_result *out)
{
    ms_process_sig sigs[MS_MAX_PROCESS_SIGS];
    size_t nsigs = ms_process_sigs(profiles, sigs, MS_MAX_PROCESS_SIGS);
    const ms_image_info *info = ms_image_get_info(image);
    for (size_t r = 0; nsigs > 0 && r < info->range_count; r++) {
        ms_phys_range range;
        if (ms_image_range(image, r, &range) != MS_OK)
            break;
        uint64_t first = (range.start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
        for (uint64_t pa = first; pa + PAGE <= range.start + range.length; pa += PAGE) {
            uint64_t dtb;
            unsigned ptr;
            if (ms_image_read(image, pa, page, PAGE) != MS_OK ||
                !ms_dtb_from_process_page(image, page, pa, sigs, nsigs, &dtb, &ptr))
                continue;
            const char *src = "System process (KPROCESS signature scan)";
            if (ptr == 8 && x64 && accept(image, MS_PAGING_X64, dtb & ~0xfffull, src, out))
                return 1;
            if (ptr == 4 && pae && accept(image, MS_PAGING_PAE, dtb & 0xffffffe0ull, src, out))
                return 1;
            if (ptr == 4 && x86 && accept(image, MS_PAGING_X86, dtb & 0xfffff000ull, src, out))
                return 1;
        }
    }
    return 0;
}

ms_status ms_find_dtb(ms_image *image, int use_hints, const ms_profile_db *profiles, ms_dtb_result *out)
{
    const ms_image_info *info = ms_image_get_info(image);
    if (!info->has_physical_memory)
        return ms_fail(MS_ERR_UNSUPPORTED, "the image holds no physical memory (a %s dump), so there are no page tables to find",
                       ms_dump_type_name(info->header.dump_type));
    if (info->header.has_header && info->header.machine_type != MS_MACHINE_AMD64 &&
        info->header.machine_type != MS_MACHINE_I386)
        return ms_fail(MS_ERR_UNSUPPORTED, "page tables of %s machines are not supported, only x86 and x64",
                       ms_machine_name(info->header.machine_type));

    if (use_hints && try_header(image, &info->header, out))
        return MS_OK;

    int x64, pae, x86;
    header_modes(&info->header, &x64, &pae, &x86);
    uint8_t *page = malloc(PAGE);
    if (page == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory scanning for the DTB");
    if (x64 && try_low_stub(image, page, out)) {
        free(page);
        return MS_OK;
    }

    uint64_t max = info->max_address;
    for (size_t r = 0; r < info->range_count; r++) {
        ms_phys_range range;
        if (ms_image_range(image, r, &range) != MS_OK)
            break;
        uint64_t first = (range.start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
        for (uint64_t pa = first; pa + PAGE <= range.start + range.length; pa += PAGE) {
            if (ms_image_read(image, pa, page, PAGE) != MS_OK)
                continue;
            if (x64 && ms_dtb_is_x64_pml4(page, pa, max) &&
                accept(image, MS_PAGING_X64, pa, "self-referencing PML4 scan", out))
                goto found;
            if (x86 && ms_dtb_is_x86_pd(page, pa, max) &&
                accept(image, MS_PAGING_X86, pa, "self-referencing page directory scan", out))
                goto found;
            if (pae)
                for (unsigned slot = 0; slot < PAGE; slot += 32)
                    if (ms_dtb_is_pae_pdpt(image, page, pa, slot, max) &&
                        accept(image, MS_PAGING_PAE, pa + slot, "PAE self-map scan", out))
                        goto found;
        }
    }
    if (try_process_scan(image, profiles, page, x64, pae, x86, out))
        goto found;
    free(page);
    return ms_fail(MS_ERR_NOT_FOUND,
                   "no page-table root found: expected a top-level table with a self-referencing entry that "
                   "translates KUSER_SHARED_DATA, found none in %llu bytes of physical memory",
                   (unsigned long long)info->present_bytes);
found:
    free(page);
    return MS_OK;
}

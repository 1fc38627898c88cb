#include "dtb_scan.h"

#include <string.h>

#define X64_FRAME_MASK 0x000ffffffffff000ull
#define PAE_FRAME_MASK 0x000ffffffffff000ull

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

int ms_dtb_is_x64_pml4(const uint8_t *page, uint64_t paddr, uint64_t max_paddr)
{
    int self_refs = 0, kernel_entries = 0;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = rd64(page + 8 * i);
        if (!(e & 1))
            continue;
        if (e & 0x80) /* PML4 entries cannot map large pages */
            return 0;
        uint64_t frame = e & X64_FRAME_MASK;
        if (frame == paddr) {
            if (i < 0x100)
                return 0;
            self_refs++;
            continue;
        }
        if (frame >= max_paddr)
            return 0;
        if (i >= 0x100)
            kernel_entries++;
    }
    return self_refs == 1 && kernel_entries >= 2;
}

int ms_dtb_is_x86_pd(const uint8_t *page, uint64_t paddr, uint64_t max_paddr)
{
    uint32_t self = rd32(page + 4 * 0x300);
    if ((self & 1) == 0 || (self & 0x80) || (self & 0xfffff000u) != paddr)
        return 0;
    int kernel_entries = 0;
    for (unsigned i = 0x200; i < 0x400; i++) {
        uint32_t e = rd32(page + 4 * i);
        if (!(e & 1) || i == 0x300)
            continue;
        /* 4 MiB pages may carry high frame bits; only small-page tables are bounded here. */
        if (!(e & 0x80) && (e & 0xfffff000u) >= max_paddr)
            return 0;
        kernel_entries++;
    }
    return kernel_entries >= 3;
}

/* PDPTEs have bits 1, 2 and 5..8 reserved in PAE mode. */
static int pdpte_ok(uint64_t e, uint64_t max_paddr)
{
    return (e & 1) && (e & 0x1e6) == 0 && (e >> 52) == 0 && (e & PAE_FRAME_MASK) < max_paddr;
}

int ms_dtb_is_pae_pdpt(ms_image *image, const uint8_t *page, uint64_t page_paddr, unsigned slot, uint64_t max_paddr)
{
    (void)page_paddr;
    uint64_t e[4];
    for (unsigned i = 0; i < 4; i++) {
        e[i] = rd64(page + slot + 8 * i);
        if (!pdpte_ok(e[i], max_paddr))
            return 0;
    }
    uint64_t pd3 = e[3] & PAE_FRAME_MASK;
    uint8_t self_map[32];
    if (ms_image_read(image, pd3, self_map, sizeof self_map) != MS_OK)
        return 0;
    for (unsigned i = 0; i < 4; i++) {
        uint64_t d = rd64(self_map + 8 * i);
        if (!(d & 1) || (d & 0x80) || (d & PAE_FRAME_MASK) != (e[i] & PAE_FRAME_MASK))
            return 0;
    }
    return 1;
}

int ms_dtb_from_low_stub(const uint8_t *page, uint64_t *dtb)
{
    /* PROCESSOR_START_BLOCK: a jmp (E9) with mode flags at +0, the kernel
     * entry ("LmTarget") at +0x70, CR3 at +0xA0 (MemProcFS documents the
     * same test). */
    uint64_t head = rd64(page);
    uint64_t target = rd64(page + 0x70);
    uint64_t cr3 = rd64(page + 0xa0);
    if ((head & 0xffffffffffff00ffull) != 0x00000001000600e9ull)
        return 0;
    if ((target & 0xfffff80000000003ull) != 0xfffff80000000000ull)
        return 0;
    if ((cr3 & 0xffffff0000000fffull) != 0 || cr3 == 0)
        return 0;
    *dtb = cr3;
    return 1;
}

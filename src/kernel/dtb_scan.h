/* Finding page-table roots (DTBs) in physical memory by the structure Windows
 * gives them: a self-referencing entry in the top-level table. */
#ifndef MS_KERNEL_DTB_SCAN_H
#define MS_KERNEL_DTB_SCAN_H

#include <stdint.h>

#include "memsift/image.h"
#include "memsift/paging.h"

/* Tests on one 4 KiB physical page `page` at `paddr`; `max_paddr` bounds
 * the frames its entries may name. */

/* x64 PML4: exactly one self-reference, at an index in 0x100..0x1FF, no
 * present entry with the large-page bit, several kernel-half entries. */
int ms_dtb_is_x64_pml4(const uint8_t *page, uint64_t paddr, uint64_t max_paddr);
/* x86 non-PAE page directory: entry 0x300 maps the directory itself. */
int ms_dtb_is_x86_pd(const uint8_t *page, uint64_t paddr, uint64_t max_paddr);
/* x86 PAE: a PDPT at `paddr` (32-byte aligned, inside `page` at byte
 * `slot`) whose fourth page directory maps the four directories at its
 * entries 0..3 (the 0xC0000000 self-map).  Needs to read that directory. */
int ms_dtb_is_pae_pdpt(ms_image *image, const uint8_t *page, uint64_t page_paddr, unsigned slot, uint64_t max_paddr);

/* The x64 low stub (PROCESSOR_START_BLOCK) that firmware resume code uses:
 * a page below 1 MiB that starts with a jmp and holds the kernel CR3.
 * Sets *dtb on a match. */
int ms_dtb_from_low_stub(const uint8_t *page, uint64_t *dtb);

#endif

/* memsift: virtual address spaces over a physical image.
 *
 * An ms_vspace translates virtual addresses through Windows page tables
 * rooted at a DTB (CR3): x86 non-PAE (2 levels, 4 MiB large pages), x86 PAE
 * (3 levels, 2 MiB large pages) and x64 (4 levels, 2 MiB and 1 GiB pages).
 * Transition PTEs (bit 11 set, bit 10 clear) are read as valid, as Windows
 * would fault them back in without I/O.  Prototype and pagefile PTEs are
 * reported as paged out; nothing is guessed.
 */
#ifndef MEMSIFT_PAGING_H
#define MEMSIFT_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_paging_mode {
    MS_PAGING_X86 = 1,   /* 32-bit, non-PAE */
    MS_PAGING_PAE,       /* 32-bit, PAE */
    MS_PAGING_X64        /* IA-32e 4-level */
} ms_paging_mode;

const char *ms_paging_mode_name(ms_paging_mode mode);

/* How the final entry of a translation looked. */
typedef enum ms_pte_kind {
    MS_PTE_VALID = 0,     /* hardware valid */
    MS_PTE_TRANSITION,    /* software: on a standby/modified list, still in RAM */
    MS_PTE_PROTOTYPE,     /* software: refers to a prototype PTE */
    MS_PTE_PAGEFILE,      /* software: in a pagefile */
    MS_PTE_DEMAND_ZERO,   /* software: never touched, reads as zeros on fault */
    MS_PTE_NOT_MAPPED     /* zero entry at some level */
} ms_pte_kind;

typedef struct ms_translation {
    uint64_t paddr;       /* valid when kind is VALID or TRANSITION */
    uint64_t page_size;   /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    uint64_t entry;       /* the raw entry that ended the walk */
    int level;            /* level of that entry: 1 = PTE ... 4 = PML4E */
    ms_pte_kind kind;
} ms_translation;

typedef struct ms_vspace ms_vspace;

/* `image` must outlive the address space.  An address space caches
 * translations and is not safe to share between threads.  `dtb` is CR3 (the PDPT address
 * in PAE mode). */
ms_status ms_vspace_create(ms_image *image, ms_paging_mode mode, uint64_t dtb, ms_vspace **out);
void ms_vspace_destroy(ms_vspace *vs);

ms_paging_mode ms_vspace_mode(const ms_vspace *vs);
uint64_t ms_vspace_dtb(const ms_vspace *vs);
ms_image *ms_vspace_image(const ms_vspace *vs);
/* Pointer size in bytes: 4 or 8. */
unsigned ms_vspace_pointer_size(const ms_vspace *vs);

/* Translate one address.  MS_OK with kind VALID or TRANSITION fills paddr;
 * MS_ERR_PAGED_OUT (prototype, pagefile, demand zero) and
 * MS_ERR_NOT_PRESENT (unmapped, or a table outside the image) still fill
 * `out` with what the walk saw. */
ms_status ms_vspace_translate(ms_vspace *vs, uint64_t vaddr, ms_translation *out);

/* Read `len` bytes at `vaddr`, crossing pages.  MS_OK only if every byte
 * was read; otherwise the status of the first page that failed, with the
 * unreadable bytes zeroed. */
ms_status ms_vspace_read(ms_vspace *vs, uint64_t vaddr, void *buf, size_t len);

/* Little-endian helpers built on ms_vspace_read. */
ms_status ms_vspace_read_u16(ms_vspace *vs, uint64_t vaddr, uint16_t *out);
ms_status ms_vspace_read_u32(ms_vspace *vs, uint64_t vaddr, uint32_t *out);
ms_status ms_vspace_read_u64(ms_vspace *vs, uint64_t vaddr, uint64_t *out);
/* A pointer of the address space's width: 8 bytes on x64, 4 bytes
 * zero-extended on x86 and PAE. */
ms_status ms_vspace_read_ptr(ms_vspace *vs, uint64_t vaddr, uint64_t *out);

/* A run of virtual pages that map to physically contiguous memory. */
typedef struct ms_mapping {
    uint64_t vaddr;
    uint64_t paddr;
    uint64_t length;
    ms_pte_kind kind;     /* VALID or TRANSITION */
} ms_mapping;

/* Return non-zero from the callback to stop the walk early. */
typedef int (*ms_mapping_fn)(const ms_mapping *mapping, void *user);

/* Visit every resident mapping with vaddr in [start, end), in ascending
 * virtual order, merging neighbours that are contiguous in both spaces.
 * Canonical x64 addresses are used (upper half sign-extended).  Runs are
 * clipped to [start, end).  Each page table is walked once per level, so
 * a table reached through two entries (other than via the self-map, which
 * reaches tables at other levels) is reported under the first only. */
ms_status ms_vspace_walk(ms_vspace *vs, uint64_t start, uint64_t end, ms_mapping_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif

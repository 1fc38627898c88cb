/* Internal layout of address spaces: one descriptor per paging mode, the
 * software TLB and the helpers shared by translation and the walk. */
#ifndef MS_PAGING_INTERNAL_H
#define MS_PAGING_INTERNAL_H

#include <stdint.h>

#include "memsift/paging.h"

#define MS_PAGE_SHIFT 12
#define MS_PAGE_SIZE 4096u
#define MS_PTE_VALID_BIT 0x1ull
#define MS_PTE_LARGE_BIT 0x80ull
#define MS_PTE_PROTOTYPE_BIT 0x400ull
#define MS_PTE_TRANSITION_BIT 0x800ull

typedef struct ms_paging_desc {
    ms_paging_mode mode;
    const char *name;
    int top_level;               /* 2, 3 or 4 */
    unsigned entry_size;         /* 4 or 8 bytes */
    unsigned index_bits;         /* 10 or 9 */
    unsigned top_entries;        /* entries of the top table */
    unsigned large_levels;       /* bit L set: bit 7 at level L maps a large page */
    uint64_t dtb_max;            /* largest acceptable CR3 value */
    uint64_t root_mask;          /* CR3 bits that locate the top table */
    uint64_t frame_mask;         /* next table or 4 KiB frame of a valid entry */
    uint64_t transition_mask;    /* frame of a transition entry */
    uint64_t (*large_base)(uint64_t entry, int level);
    int (*vaddr_ok)(uint64_t vaddr);
    /* x64: sign-extend a VA built from table indices; identity elsewhere. */
    uint64_t (*canonical)(uint64_t vaddr);
} ms_paging_desc;

extern const ms_paging_desc ms_paging_x86;
extern const ms_paging_desc ms_paging_pae;
extern const ms_paging_desc ms_paging_x64;

static inline unsigned ms_level_shift(const ms_paging_desc *d, int level)
{
    return MS_PAGE_SHIFT + d->index_bits * (unsigned)(level - 1);
}

static inline unsigned ms_level_entries(const ms_paging_desc *d, int level)
{
    return level == d->top_level ? d->top_entries : 1u << d->index_bits;
}

static inline int ms_entry_is_large(const ms_paging_desc *d, uint64_t entry, int level)
{
    return (d->large_levels & (1u << level)) && (entry & MS_PTE_LARGE_BIT);
}

/* Valid (bit 0) clear, Transition (bit 11) set, Prototype (bit 10) clear. */
static inline int ms_entry_is_transition(uint64_t entry)
{
    return (entry & (MS_PTE_VALID_BIT | MS_PTE_PROTOTYPE_BIT | MS_PTE_TRANSITION_BIT)) == MS_PTE_TRANSITION_BIT;
}

/* Kind of an entry that is neither valid nor transition. */
ms_pte_kind ms_pte_software_kind(const ms_paging_desc *d, uint64_t entry);

/* Software TLB: direct mapped, keyed by the 4 KiB virtual page number. */
#define MS_TLB_SIZE 1024u

typedef struct ms_tlb_entry {
    uint64_t tag;                /* vpn + 1; 0 = empty */
    uint64_t page_paddr;         /* physical address of this 4 KiB page */
    uint64_t page_size;
    uint64_t entry;
    int level;
    ms_pte_kind kind;
} ms_tlb_entry;

struct ms_vspace {
    ms_image *image;
    const ms_paging_desc *desc;
    uint64_t dtb;
    uint64_t root;               /* physical address of the top table */
    ms_tlb_entry tlb[MS_TLB_SIZE];
};

uint64_t ms_le_entry(const uint8_t *p, unsigned size);

#endif

/* Test helper: build physical memory with hand-made page tables, write it
 * to a raw image file and open it. */
#ifndef MS_TEST_PAGETABLE_BUILDER_H
#define MS_TEST_PAGETABLE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/image.h"
#include "memsift/paging.h"

#define PTB_MAX_HIGH 4

typedef struct ptb {
    uint8_t *mem;                /* physical memory [0, size) */
    uint64_t size;
    uint64_t next_free;          /* page allocator */
    ms_paging_mode mode;
    uint64_t root;               /* top table (the PDPT in PAE mode) */
    /* Pages written above `size`, making a sparse image file. */
    struct { uint64_t paddr; uint8_t data[4096]; } high[PTB_MAX_HIGH];
    size_t high_count;
    char path[512];
    ms_image *image;
} ptb;

/* Zeroed memory of `size` bytes and an empty top table.  Returns 0 on success. */
int ptb_init(ptb *b, ms_paging_mode mode, uint64_t size);
/* Release memory, close the image, remove the file. */
void ptb_free(ptb *b);

/* A fresh zeroed page; aborts when memory is full. */
uint64_t ptb_alloc(ptb *b);

void ptb_put32(ptb *b, uint64_t paddr, uint32_t v);
void ptb_put64(ptb *b, uint64_t paddr, uint64_t v);
uint64_t ptb_get64(const ptb *b, uint64_t paddr);
/* Store an entry of the mode's width (4 or 8 bytes). */
void ptb_put_entry(ptb *b, uint64_t paddr, uint64_t entry);

/* Physical address of the entry at `level` for `vaddr`, creating missing
 * tables above it as valid, writable entries. */
uint64_t ptb_entry_addr(ptb *b, uint64_t vaddr, int level);
void ptb_set(ptb *b, uint64_t vaddr, int level, uint64_t entry);
/* Map a 4 KiB page valid and writable. */
void ptb_map(ptb *b, uint64_t vaddr, uint64_t paddr);

/* Bytes of one page at a physical address above `size` (sparse file). */
void ptb_put_high(ptb *b, uint64_t paddr, const void *data, size_t len);

/* Write the image file and open it.  Returns 0 on success. */
int ptb_open(ptb *b, ms_image **out);

#endif

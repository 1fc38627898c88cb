#include "pagetable_builder.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned entry_size(const ptb *b)
{
    return b->mode == MS_PAGING_X86 ? 4 : 8;
}

int ptb_init(ptb *b, ms_paging_mode mode, uint64_t size)
{
    memset(b, 0, sizeof *b);
    b->mem = calloc(1, (size_t)size);
    if (b->mem == NULL)
        return -1;
    b->size = size;
    b->mode = mode;
    b->next_free = 0x1000;
    b->root = ptb_alloc(b);
    /* PAE: the PDPT only needs 32-byte alignment; put it off the page start. */
    if (mode == MS_PAGING_PAE)
        b->root += 0x40;
    return 0;
}

void ptb_free(ptb *b)
{
    if (b->image != NULL)
        ms_image_close(b->image);
    if (b->path[0] != '\0')
        unlink(b->path);
    free(b->mem);
    memset(b, 0, sizeof *b);
}

uint64_t ptb_alloc(ptb *b)
{
    if (b->next_free + 0x1000 > b->size) {
        fprintf(stderr, "pagetable_builder: out of pages\n");
        abort();
    }
    uint64_t p = b->next_free;
    b->next_free += 0x1000;
    memset(b->mem + p, 0, 0x1000);
    return p;
}

static uint8_t *at(const ptb *b, uint64_t paddr, size_t len)
{
    if (paddr > b->size || len > b->size - paddr) {
        fprintf(stderr, "pagetable_builder: write at 0x%llx outside memory\n", (unsigned long long)paddr);
        abort();
    }
    return b->mem + paddr;
}

void ptb_put32(ptb *b, uint64_t paddr, uint32_t v)
{
    uint8_t *p = at(b, paddr, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void ptb_put64(ptb *b, uint64_t paddr, uint64_t v)
{
    uint8_t *p = at(b, paddr, 8);
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t ptb_get64(const ptb *b, uint64_t paddr)
{
    const uint8_t *p = at(b, paddr, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_entry(const ptb *b, uint64_t paddr)
{
    uint64_t v = ptb_get64(b, paddr);
    return entry_size(b) == 4 ? (v & 0xFFFFFFFFull) : v;
}

void ptb_put_entry(ptb *b, uint64_t paddr, uint64_t entry)
{
    if (entry_size(b) == 4)
        ptb_put32(b, paddr, (uint32_t)entry);
    else
        ptb_put64(b, paddr, entry);
}

static int top_level(const ptb *b)
{
    return b->mode == MS_PAGING_X86 ? 2 : b->mode == MS_PAGING_PAE ? 3 : 4;
}

static uint64_t index_of(const ptb *b, uint64_t vaddr, int level)
{
    if (b->mode == MS_PAGING_X86)
        return (vaddr >> (12 + 10 * (level - 1))) & 0x3FF;
    if (b->mode == MS_PAGING_PAE && level == 3)
        return (vaddr >> 30) & 3;
    return (vaddr >> (12 + 9 * (level - 1))) & 0x1FF;
}

uint64_t ptb_entry_addr(ptb *b, uint64_t vaddr, int level)
{
    uint64_t frame_mask = b->mode == MS_PAGING_X86 ? 0xFFFFF000ull : 0x000FFFFFFFFFF000ull;
    uint64_t table = b->root;
    for (int l = top_level(b); l > level; l--) {
        uint64_t ea = table + index_of(b, vaddr, l) * entry_size(b);
        uint64_t e = get_entry(b, ea);
        if (e == 0) {
            uint64_t page = ptb_alloc(b);
            /* PAE PDPTEs have bits 1 and 2 reserved. */
            e = page | (b->mode == MS_PAGING_PAE && l == 3 ? 0x1 : 0x3);
            ptb_put_entry(b, ea, e);
        }
        table = e & frame_mask;
    }
    return table + index_of(b, vaddr, level) * entry_size(b);
}

void ptb_set(ptb *b, uint64_t vaddr, int level, uint64_t entry)
{
    ptb_put_entry(b, ptb_entry_addr(b, vaddr, level), entry);
}

void ptb_map(ptb *b, uint64_t vaddr, uint64_t paddr)
{
    ptb_set(b, vaddr, 1, paddr | 0x3);
}

void ptb_put_high(ptb *b, uint64_t paddr, const void *data, size_t len)
{
    if (b->high_count == PTB_MAX_HIGH || len > 4096 - (paddr & 0xFFF) || paddr < b->size) {
        fprintf(stderr, "pagetable_builder: bad high write at 0x%llx\n", (unsigned long long)paddr);
        abort();
    }
    b->high[b->high_count].paddr = paddr & ~0xFFFull;
    memset(b->high[b->high_count].data, 0, 4096);
    memcpy(b->high[b->high_count].data + (paddr & 0xFFF), data, len);
    b->high_count++;
}

static int write_all(int fd, const uint8_t *p, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int ptb_open(ptb *b, ms_image **out)
{
    const char *dir = getenv("MEMSIFT_TEST_TMP");
    snprintf(b->path, sizeof b->path, "%s/ptb-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
    int fd = mkstemp(b->path);
    if (fd < 0) {
        b->path[0] = '\0';
        return -1;
    }
    int rc = write_all(fd, b->mem, (size_t)b->size, 0);
    for (size_t i = 0; rc == 0 && i < b->high_count; i++)
        rc = write_all(fd, b->high[i].data, 4096, (off_t)b->high[i].paddr);
    close(fd);
    if (rc != 0 || ms_image_open(b->path, NULL, &b->image) != MS_OK)
        return -1;
    *out = b->image;
    return 0;
}

/* ms_vspace_walk: enumerate resident mappings table by table. */
#include <stdlib.h>

#include "paging_internal.h"
#include "table_set.h"

/* Page-table pages read per walk; a real x64 system with 1 TiB mapped in
 * 4 KiB pages needs about 2^19. */
#define MS_WALK_MAX_TABLES (1u << 21)

typedef struct walk_ctx {
    ms_vspace *vs;
    const ms_paging_desc *d;
    uint64_t first;              /* inclusive bounds */
    uint64_t last;
    ms_mapping_fn fn;
    void *user;
    ms_mapping pending;
    int have_pending;
    int stop;
    ms_status status;
    ms_table_set visited;
    uint8_t table[5][MS_PAGE_SIZE];   /* one buffer per level */
} walk_ctx;

static void flush(walk_ctx *c)
{
    if (c->have_pending && c->fn(&c->pending, c->user) != 0)
        c->stop = 1;
    c->have_pending = 0;
}

static void emit(walk_ctx *c, uint64_t vaddr, uint64_t paddr, uint64_t length, ms_pte_kind kind)
{
    if (vaddr < c->first) {
        uint64_t cut = c->first - vaddr;
        vaddr += cut;
        paddr += cut;
        length -= cut;
    }
    if (length - 1 > c->last - vaddr)
        length = c->last - vaddr + 1;
    ms_mapping *p = &c->pending;
    if (c->have_pending && p->kind == kind && p->vaddr + p->length == vaddr && p->paddr + p->length == paddr) {
        p->length += length;
        return;
    }
    flush(c);
    if (c->stop)
        return;
    p->vaddr = vaddr;
    p->paddr = paddr;
    p->length = length;
    p->kind = kind;
    c->have_pending = 1;
}

static void walk_table(walk_ctx *c, int level, uint64_t table, uint64_t va_base)
{
    const ms_paging_desc *d = c->d;
    int inserted;
    ms_status st = ms_table_set_insert(&c->visited, table | (uint64_t)level, &inserted);
    if (st != MS_OK) {
        c->status = st;
        c->stop = 1;
        return;
    }
    /* The self-referencing entry and hostile tables can reach one page
     * many times; each (page, level) is walked once. */
    if (!inserted)
        return;
    if (c->visited.count > MS_WALK_MAX_TABLES) {
        c->status = ms_fail(MS_ERR_LIMIT, "walk stopped after %u page tables", MS_WALK_MAX_TABLES);
        c->stop = 1;
        return;
    }

    unsigned count = ms_level_entries(d, level);
    uint8_t *buf = c->table[level];
    st = ms_image_read(c->vs->image, table, buf, (size_t)count * d->entry_size);
    if (st == MS_ERR_NOT_PRESENT)
        return;
    if (st != MS_OK) {
        c->status = ms_fail(MS_ERR_IO, "reading the level-%d table at physical 0x%llx failed", level,
                            (unsigned long long)table);
        c->stop = 1;
        return;
    }

    unsigned shift = ms_level_shift(d, level);
    uint64_t span = 1ull << shift;
    for (unsigned i = 0; i < count && !c->stop; i++) {
        uint64_t entry = ms_le_entry(buf + (size_t)i * d->entry_size, d->entry_size);
        if (entry == 0)
            continue;
        uint64_t va = d->canonical(va_base + ((uint64_t)i << shift));
        if (va > c->last)
            break;
        if (va + (span - 1) < c->first)
            continue;
        if (entry & MS_PTE_VALID_BIT) {
            if (ms_entry_is_large(d, entry, level))
                emit(c, va, d->large_base(entry, level), span, MS_PTE_VALID);
            else if (level == 1)
                emit(c, va, entry & d->frame_mask, span, MS_PTE_VALID);
            else
                walk_table(c, level - 1, entry & d->frame_mask, va);
        } else if (ms_entry_is_transition(entry)) {
            /* As in translation: transition at every level, never large. */
            if (level == 1)
                emit(c, va, entry & d->transition_mask, span, MS_PTE_TRANSITION);
            else
                walk_table(c, level - 1, entry & d->transition_mask, va);
        }
    }
}

ms_status ms_vspace_walk(ms_vspace *vs, uint64_t start, uint64_t end, ms_mapping_fn fn, void *user)
{
    if (vs == NULL || fn == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vspace_walk needs an address space and a callback");
    if (end <= start)
        return MS_OK;
    walk_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory starting a page-table walk");
    c->vs = vs;
    c->d = vs->desc;
    c->first = start;
    c->last = end - 1;
    if (c->d->mode != MS_PAGING_X64 && c->last > 0xFFFFFFFFull)
        c->last = 0xFFFFFFFFull;
    c->fn = fn;
    c->user = user;
    c->status = MS_OK;
    ms_table_set_init(&c->visited);
    if (c->first <= c->last)
        walk_table(c, c->d->top_level, vs->root, 0);
    /* After a stop requested by the callback nothing is pending. */
    if (c->status == MS_OK || c->status == MS_ERR_LIMIT)
        flush(c);
    ms_status st = c->status;
    ms_table_set_free(&c->visited);
    free(c);
    return st;
}

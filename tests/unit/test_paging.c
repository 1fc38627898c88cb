/* Virtual address translation over hand-built page tables in raw images. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memsift/paging.h"
#include "support/pagetable_builder.h"

#define NX (1ull << 63)
#define PAT_LARGE 0x1000ull
#define PS 0x80ull
#define RW_VALID 0x3ull
#define SELF 0x1EDull

typedef struct fixture {
    ptb b;
    ms_image *image;
    ms_vspace *vs;
} fixture;

static void open_fixture(fixture *f)
{
    assert_int_equal(ptb_open(&f->b, &f->image), 0);
    assert_int_equal(ms_vspace_create(f->image, f->b.mode, f->b.root, &f->vs), MS_OK);
}

static void close_fixture(fixture *f)
{
    ms_vspace_destroy(f->vs);
    f->vs = NULL;
    ptb_free(&f->b);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    *state = f;
    return 0;
}

/* Also runs after a failed assertion, so no image file is left behind. */
static int teardown(void **state)
{
    close_fixture(*state);
    free(*state);
    return 0;
}

static void expect_translation(ms_vspace *vs, uint64_t va, uint64_t paddr, uint64_t page_size, int level,
                               ms_pte_kind kind)
{
    ms_translation t;
    assert_int_equal(ms_vspace_translate(vs, va, &t), MS_OK);
    assert_int_equal(t.paddr, paddr);
    assert_int_equal(t.page_size, page_size);
    assert_int_equal(t.level, level);
    assert_int_equal(t.kind, kind);
}

static void expect_failure(ms_vspace *vs, uint64_t va, ms_status status, ms_pte_kind kind, int level, uint64_t entry)
{
    ms_translation t;
    assert_int_equal(ms_vspace_translate(vs, va, &t), status);
    assert_int_equal(t.kind, kind);
    assert_int_equal(t.level, level);
    assert_int_equal(t.entry, entry);
}

static uint64_t x64_self_va(uint64_t i4, uint64_t i3, uint64_t i2, uint64_t i1)
{
    uint64_t va = (i4 << 39) | (i3 << 30) | (i2 << 21) | (i1 << 12);
    return (va & (1ull << 47)) ? va | 0xFFFF000000000000ull : va;
}

/* ---- x64 ---------------------------------------------------------------- */

static void test_x64_4k_pages(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t user = 0x00007FF612345000ull, kernel = 0xFFFFF80000100000ull;
    ptb_set(&f->b, user, 1, 0x20000 | NX | RW_VALID);
    /* Bits 52..62 are ignored by the MMU (Windows keeps working-set data there). */
    ptb_set(&f->b, kernel, 1, 0x21000 | (0x7FFull << 52) | RW_VALID);
    ptb_put64(&f->b, 0x20008, 0x1122334455667788ull);
    ptb_put64(&f->b, 0x21ff8, 0xFFFFF80000001234ull);
    open_fixture(f);

    assert_int_equal(ms_vspace_mode(f->vs), MS_PAGING_X64);
    assert_int_equal(ms_vspace_pointer_size(f->vs), 8);
    assert_ptr_equal(ms_vspace_image(f->vs), f->image);
    assert_string_equal(ms_paging_mode_name(MS_PAGING_X64), "x64");

    expect_translation(f->vs, user + 0x123, 0x20123, 4096, 1, MS_PTE_VALID);
    expect_translation(f->vs, kernel + 0xfff, 0x21fff, 4096, 1, MS_PTE_VALID);
    ms_translation t;
    assert_int_equal(ms_vspace_translate(f->vs, user, &t), MS_OK);
    assert_int_equal(t.entry, 0x20000 | NX | RW_VALID);

    uint64_t v64;
    uint32_t v32;
    uint16_t v16;
    assert_int_equal(ms_vspace_read_u64(f->vs, user + 8, &v64), MS_OK);
    assert_int_equal(v64, 0x1122334455667788ull);
    assert_int_equal(ms_vspace_read_u32(f->vs, user + 8, &v32), MS_OK);
    assert_int_equal(v32, 0x55667788u);
    assert_int_equal(ms_vspace_read_u16(f->vs, user + 14, &v16), MS_OK);
    assert_int_equal(v16, 0x1122);
    assert_int_equal(ms_vspace_read_ptr(f->vs, kernel + 0xff8, &v64), MS_OK);
    assert_int_equal(v64, 0xFFFFF80000001234ull);
    close_fixture(f);
}

static void test_x64_large_pages(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x400000), 0);
    uint64_t va2m = 0xFFFFF80000200000ull, va1g = 0xFFFFF88040000000ull;
    ptb_set(&f->b, va2m, 2, 0x200000 | PAT_LARGE | PS | NX | RW_VALID);
    ptb_set(&f->b, va1g, 3, 0x1C0000000ull | PAT_LARGE | PS | NX | RW_VALID);
    ptb_put64(&f->b, 0x212340, 0xCAFEF00DDEADBEEFull);
    open_fixture(f);

    expect_translation(f->vs, va2m + 0x12345, 0x212345, 2u << 20, 2, MS_PTE_VALID);
    expect_translation(f->vs, va2m + 0x1FFFFF, 0x3FFFFF, 2u << 20, 2, MS_PTE_VALID);
    expect_translation(f->vs, va1g + 0x3FFFF123, 0x1FFFFF123ull, 1u << 30, 3, MS_PTE_VALID);
    uint64_t v;
    assert_int_equal(ms_vspace_read_u64(f->vs, va2m + 0x12340, &v), MS_OK);
    assert_int_equal(v, 0xCAFEF00DDEADBEEFull);
    /* The 1 GiB page lies beyond this small image. */
    assert_int_equal(ms_vspace_read_u64(f->vs, va1g, &v), MS_ERR_NOT_PRESENT);
    close_fixture(f);
}

static void test_x64_software_ptes(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t base = 0x10000000ull;
    /* Transition with protection 4 and bit 45 (a Windows flag, not PFN). */
    uint64_t transition = 0x6000 | 0x800 | (4u << 5) | (1ull << 45);
    uint64_t prototype = 0xFFFFA00012340400ull;
    uint64_t pagefile = (0x1234ull << 32) | (1u << 12) | (4u << 5);
    uint64_t demand_zero = 4u << 5;
    ptb_set(&f->b, base + 0x0000, 1, transition);
    ptb_set(&f->b, base + 0x1000, 1, prototype);
    ptb_set(&f->b, base + 0x2000, 1, pagefile);
    ptb_set(&f->b, base + 0x3000, 1, demand_zero);
    ptb_put64(&f->b, 0x6010, 0x0123456789ABCDEFull);
    open_fixture(f);

    expect_translation(f->vs, base + 0x10, 0x6010, 4096, 1, MS_PTE_TRANSITION);
    uint64_t v;
    assert_int_equal(ms_vspace_read_u64(f->vs, base + 0x10, &v), MS_OK);
    assert_int_equal(v, 0x0123456789ABCDEFull);

    expect_failure(f->vs, base + 0x1000, MS_ERR_PAGED_OUT, MS_PTE_PROTOTYPE, 1, prototype);
    expect_failure(f->vs, base + 0x2000, MS_ERR_PAGED_OUT, MS_PTE_PAGEFILE, 1, pagefile);
    assert_non_null(strstr(ms_last_error(), "page-file"));
    expect_failure(f->vs, base + 0x3000, MS_ERR_PAGED_OUT, MS_PTE_DEMAND_ZERO, 1, demand_zero);
    expect_failure(f->vs, base + 0x4000, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 1, 0);
    /* Nothing below the PML4 for this one. */
    expect_failure(f->vs, 0x0000700000000000ull, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 4, 0);

    /* Paged-out data reads as zeros with the paged-out status. */
    memset(&v, 0xAA, sizeof v);
    assert_int_equal(ms_vspace_read_u64(f->vs, base + 0x2000, &v), MS_ERR_PAGED_OUT);
    close_fixture(f);
}

static void test_x64_transition_tables(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t va = 0x40000000ull;
    ptb_map(&f->b, va, 0x30000);
    uint64_t pde_at = ptb_entry_addr(&f->b, va, 2);
    uint64_t pt = ptb_get64(&f->b, pde_at) & 0x000FFFFFFFFFF000ull;
    /* A page table in transition; bit 7 of a transition entry is not PS. */
    ptb_put64(&f->b, pde_at, pt | 0x800 | PS);
    open_fixture(f);

    expect_translation(f->vs, va + 0x42, 0x30042, 4096, 1, MS_PTE_VALID);
    close_fixture(f);
}

static void test_x64_table_outside_image(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t va = 0x50000000ull;
    ptb_set(&f->b, va, 2, 0x7FFF000000ull | RW_VALID);
    open_fixture(f);

    expect_failure(f->vs, va, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 1, 0);
    assert_non_null(strstr(ms_last_error(), "level-1"));
    assert_non_null(strstr(ms_last_error(), "0x7fff000000"));

    ms_vspace *far;
    assert_int_equal(ms_vspace_create(f->image, MS_PAGING_X64, 0x10000000ull, &far), MS_OK);
    expect_failure(far, va, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 4, 0);
    assert_non_null(strstr(ms_last_error(), "0x10000000"));
    ms_vspace_destroy(far);
    close_fixture(f);
}

static void test_x64_non_canonical(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    /* Map the PML4 slot a non-canonical address would index, to be sure the
     * canonical check comes first. */
    ptb_map(&f->b, 0x0000000000001000ull, 0x20000);
    open_fixture(f);

    ms_translation t;
    assert_int_equal(ms_vspace_translate(f->vs, 0x0001000000001000ull, &t), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "canonical"));
    assert_int_equal(t.kind, MS_PTE_NOT_MAPPED);
    assert_int_equal(ms_vspace_translate(f->vs, 0x0000800000000000ull, &t), MS_ERR_NOT_PRESENT);
    assert_int_equal(ms_vspace_translate(f->vs, 0xFFFF7FFFFFFFF000ull, &t), MS_ERR_NOT_PRESENT);
    uint8_t buf[4];
    memset(buf, 0xAA, sizeof buf);
    assert_int_equal(ms_vspace_read(f->vs, 0x0000800000000000ull, buf, sizeof buf), MS_ERR_NOT_PRESENT);
    assert_int_equal(buf[0] | buf[1] | buf[2] | buf[3], 0);
    expect_translation(f->vs, 0x1000, 0x20000, 4096, 1, MS_PTE_VALID);
    close_fixture(f);
}

static void test_x64_read_across_pages(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t va = 0x7FF000000000ull;
    ptb_map(&f->b, va, 0x21000);
    ptb_map(&f->b, va + 0x1000, 0x35000);  /* physically elsewhere */
    /* va + 0x2000 is unmapped, va + 0x3000 is in the page file. */
    ptb_set(&f->b, va + 0x3000, 1, 0x500000000ull | 0x80);
    ptb_map(&f->b, va + 0x4000, 0x36000);
    for (int i = 0; i < 16; i++) {
        f->b.mem[0x21ff8 + i % 8] = (uint8_t)(0x10 + i % 8);
        f->b.mem[0x35000 + i] = (uint8_t)(0x20 + i);
        f->b.mem[0x35ff8 + i % 8] = (uint8_t)(0x30 + i % 8);
        f->b.mem[0x36000 + i] = (uint8_t)(0x40 + i);
    }
    open_fixture(f);

    uint8_t buf[16];
    assert_int_equal(ms_vspace_read(f->vs, va + 0xff8, buf, 16), MS_OK);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(buf[i], 0x10 + i);
        assert_int_equal(buf[8 + i], 0x20 + i);
    }

    memset(buf, 0xAA, sizeof buf);
    assert_int_equal(ms_vspace_read(f->vs, va + 0x1ff8, buf, 16), MS_ERR_NOT_PRESENT);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(buf[i], 0x30 + i);
        assert_int_equal(buf[8 + i], 0);
    }

    /* Unmapped, then paged out, then readable: the first failure wins and
     * the readable tail is still filled. */
    uint8_t big[0x2010];
    memset(big, 0xAA, sizeof big);
    assert_int_equal(ms_vspace_read(f->vs, va + 0x2000, big, sizeof big), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "not mapped"));
    for (size_t i = 0; i < 0x2000; i++)
        assert_int_equal(big[i], 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(big[0x2000 + i], 0x40 + i);

    memset(big, 0xAA, sizeof big);
    assert_int_equal(ms_vspace_read(f->vs, va + 0x3ff0, big, 0x20), MS_ERR_PAGED_OUT);
    assert_int_equal(big[0], 0);
    assert_int_equal(big[0x10], 0x40);
    assert_int_equal(ms_vspace_read(f->vs, va, big, 0), MS_OK);
    close_fixture(f);
}

static void test_x64_self_reference(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    uint64_t va = 0x0000000012345000ull;
    ptb_map(&f->b, va, 0x22000);
    ptb_put64(&f->b, f->b.root + SELF * 8, f->b.root | NX | RW_VALID);
    /* A PCID in the low CR3 bits must not move the root. */
    assert_int_equal(ptb_open(&f->b, &f->image), 0);
    assert_int_equal(ms_vspace_create(f->image, MS_PAGING_X64, f->b.root | 0x2, &f->vs), MS_OK);
    assert_int_equal(ms_vspace_dtb(f->vs), f->b.root | 0x2);

    uint64_t pml4_va = x64_self_va(SELF, SELF, SELF, SELF);
    assert_int_equal(pml4_va, 0xFFFFF6FB7DBED000ull);
    expect_translation(f->vs, pml4_va, f->b.root, 4096, 1, MS_PTE_VALID);

    /* The PTE of `va` through the self map. */
    uint64_t pte_va = 0xFFFFF68000000000ull + ((va >> 9) & 0x7FFFFFFFF8ull);
    uint64_t pte;
    assert_int_equal(ms_vspace_read_u64(f->vs, pte_va, &pte), MS_OK);
    assert_int_equal(pte, 0x22000 | RW_VALID);
    close_fixture(f);
}

static void test_x64_tlb_consistent(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x100000), 0);
    /* 4096 pages cannot all fit a 1024-entry TLB: slots are reused. */
    enum { N = 4096 };
    uint64_t base = 0xFFFFF80000000000ull;
    for (uint64_t i = 0; i < N; i++)
        ptb_map(&f->b, base + i * 0x1000, 0x100000000ull + ((i * 7919) % N) * 0x1000);
    open_fixture(f);

    for (int round = 0; round < 3; round++) {
        for (uint64_t k = 0; k < N; k++) {
            uint64_t i = round == 1 ? (N - 1 - k) : (k * 37) % N;
            ms_translation t;
            assert_int_equal(ms_vspace_translate(f->vs, base + i * 0x1000 + 0x10, &t), MS_OK);
            assert_int_equal(t.paddr, 0x100000000ull + ((i * 7919) % N) * 0x1000 + 0x10);
            assert_int_equal(t.level, 1);
            assert_int_equal(t.kind, MS_PTE_VALID);
        }
    }
    /* A failed translation is not remembered as a success. */
    for (int round = 0; round < 2; round++)
        expect_failure(f->vs, base + N * 0x1000ull, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 2, 0);
    close_fixture(f);
}

/* ---- walk ----------------------------------------------------------------- */

typedef struct collected {
    ms_mapping m[600];
    size_t n;
    size_t stop_after;
} collected;

static int collect(const ms_mapping *m, void *user)
{
    collected *c = user;
    if (c->n < sizeof c->m / sizeof c->m[0])
        c->m[c->n] = *m;
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static void expect_mapping(const collected *c, size_t i, uint64_t vaddr, uint64_t paddr, uint64_t length,
                           ms_pte_kind kind)
{
    assert_true(i < c->n);
    assert_int_equal(c->m[i].vaddr, vaddr);
    assert_int_equal(c->m[i].paddr, paddr);
    assert_int_equal(c->m[i].length, length);
    assert_int_equal(c->m[i].kind, kind);
}

static void build_walk_hierarchy(ptb *b)
{
    ptb_map(b, 0x10000, 0x20000);
    ptb_map(b, 0x11000, 0x21000);                     /* merges with the previous */
    ptb_map(b, 0x12000, 0x30000);                     /* not physically contiguous */
    ptb_set(b, 0x13000, 1, 0x31000 | 0x800);          /* contiguous, but transition */
    ptb_set(b, 0x14000, 1, 0x500000000ull | 0x80);    /* page file: not reported */
    ptb_set(b, 0x15000, 1, 0x80);                     /* demand zero: not reported */
    ptb_map(b, 0x1FF000, 0x3FF000);
    ptb_set(b, 0x200000, 2, 0x400000 | PAT_LARGE | PS | NX | RW_VALID);
    ptb_map(b, 0x400000, 0x600000);                   /* 4K, 2M, 4K: one run */
    ptb_set(b, 0x800000, 2, 0x7FFF000000ull | RW_VALID); /* table outside the image */
    ptb_set(b, 0xFFFFF80000000000ull, 3, 0x40000000ull | PS | RW_VALID);
}

static void test_x64_walk(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    build_walk_hierarchy(&f->b);
    open_fixture(f);

    collected c = {0};
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 5);
    expect_mapping(&c, 0, 0x10000, 0x20000, 0x2000, MS_PTE_VALID);
    expect_mapping(&c, 1, 0x12000, 0x30000, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 2, 0x13000, 0x31000, 0x1000, MS_PTE_TRANSITION);
    expect_mapping(&c, 3, 0x1FF000, 0x3FF000, 0x202000, MS_PTE_VALID);
    expect_mapping(&c, 4, 0xFFFFF80000000000ull, 0x40000000ull, 1u << 30, MS_PTE_VALID);

    /* Limits clip the runs at both ends. */
    memset(&c, 0, sizeof c);
    assert_int_equal(ms_vspace_walk(f->vs, 0x11800, 0x201000, collect, &c), MS_OK);
    assert_int_equal(c.n, 4);
    expect_mapping(&c, 0, 0x11800, 0x21800, 0x800, MS_PTE_VALID);
    expect_mapping(&c, 1, 0x12000, 0x30000, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 2, 0x13000, 0x31000, 0x1000, MS_PTE_TRANSITION);
    expect_mapping(&c, 3, 0x1FF000, 0x3FF000, 0x2000, MS_PTE_VALID);

    memset(&c, 0, sizeof c);
    assert_int_equal(ms_vspace_walk(f->vs, 0xFFFF800000000000ull, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 1);
    expect_mapping(&c, 0, 0xFFFFF80000000000ull, 0x40000000ull, 1u << 30, MS_PTE_VALID);

    memset(&c, 0, sizeof c);
    assert_int_equal(ms_vspace_walk(f->vs, 0x20000, 0x1FF000, collect, &c), MS_OK);
    assert_int_equal(c.n, 0);

    /* The callback stops the walk. */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 2);
    close_fixture(f);
}

static void test_x64_walk_self_reference(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    ptb_map(&f->b, 0x10000, 0x20000);
    uint64_t pml4 = f->b.root;
    uint64_t pdpt = ptb_get64(&f->b, pml4) & ~0xFFFull;
    uint64_t pd = ptb_get64(&f->b, pdpt) & ~0xFFFull;
    uint64_t pt = ptb_get64(&f->b, pd) & ~0xFFFull;
    ptb_put64(&f->b, pml4 + SELF * 8, pml4 | RW_VALID);
    open_fixture(f);

    collected c = {0};
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 5);
    expect_mapping(&c, 0, 0x10000, 0x20000, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 1, x64_self_va(SELF, 0, 0, 0), pt, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 2, x64_self_va(SELF, SELF, 0, 0), pd, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 3, x64_self_va(SELF, SELF, SELF, 0), pdpt, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 4, x64_self_va(SELF, SELF, SELF, SELF), pml4, 0x1000, MS_PTE_VALID);
    close_fixture(f);
}

static void test_x64_walk_fan_out(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X64, 0x40000), 0);
    /* Every entry of every level points at the same next table: 2^36 paths
     * to one page table.  Each (table, level) is walked once. */
    uint64_t pdpt = ptb_alloc(&f->b), pd = ptb_alloc(&f->b), pt = ptb_alloc(&f->b);
    for (uint64_t i = 0; i < 512; i++) {
        ptb_put64(&f->b, f->b.root + i * 8, pdpt | RW_VALID);
        ptb_put64(&f->b, pdpt + i * 8, pd | RW_VALID);
        ptb_put64(&f->b, pd + i * 8, pt | RW_VALID);
        ptb_put64(&f->b, pt + i * 8, 0x30000 | RW_VALID);
    }
    open_fixture(f);

    collected c = {0};
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 512);
    expect_mapping(&c, 0, 0, 0x30000, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 511, 511 * 0x1000, 0x30000, 0x1000, MS_PTE_VALID);
    /* Translation is unaffected. */
    expect_translation(f->vs, 0xFFFFFFFFFFFFF123ull, 0x30123, 4096, 1, MS_PTE_VALID);
    close_fixture(f);
}

/* ---- x86 non-PAE ------------------------------------------------------------ */

static void test_x86_pages(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X86, 0x40000), 0);
    ptb_map(&f->b, 0x00401000, 0x20000);
    ptb_put32(&f->b, 0x20010, 0xFFFFFFF0u);
    /* 4 MiB page at physical 0x1_0040_0000 (PSE-36 bits 13..20 = 1), PAT set. */
    ptb_set(&f->b, 0x80000000u, 2, 0x00400000u | (0x01u << 13) | PAT_LARGE | PS | RW_VALID);
    /* Physical bits 32..39 = 0xAB. */
    ptb_set(&f->b, 0x80400000u, 2, 0x00C00000u | (0xABu << 13) | PS | RW_VALID);
    uint32_t marker = 0x5EED5EEDu;
    ptb_put_high(&f->b, 0x100412344ull, &marker, sizeof marker);
    ptb_set(&f->b, 0x00402000, 1, 0x7000 | 0x800 | 0x80);            /* transition */
    ptb_set(&f->b, 0x00403000, 1, 0x8ABCD400u);                      /* prototype */
    ptb_set(&f->b, 0x00404000, 1, (0x1234u << 12) | (1u << 1) | 0x80); /* page file */
    ptb_set(&f->b, 0x00405000, 1, 0x80);                             /* demand zero */
    ptb_put32(&f->b, 0x7abc, 0x600DF00Du);
    /* Self map: PD[0x300] points at the PD. */
    ptb_put32(&f->b, f->b.root + 0x300 * 4, (uint32_t)f->b.root | RW_VALID);
    open_fixture(f);

    assert_int_equal(ms_vspace_pointer_size(f->vs), 4);
    expect_translation(f->vs, 0x00401010, 0x20010, 4096, 1, MS_PTE_VALID);
    uint64_t ptr;
    assert_int_equal(ms_vspace_read_ptr(f->vs, 0x00401010, &ptr), MS_OK);
    assert_int_equal(ptr, 0xFFFFFFF0ull);

    expect_translation(f->vs, 0x80012344u, 0x100412344ull, 4u << 20, 2, MS_PTE_VALID);
    expect_translation(f->vs, 0x807FFFFFu, 0xAB00FFFFFFull, 4u << 20, 2, MS_PTE_VALID);
    uint32_t v;
    assert_int_equal(ms_vspace_read_u32(f->vs, 0x80012344u, &v), MS_OK);
    assert_int_equal(v, marker);

    expect_translation(f->vs, 0x00402abc, 0x7abc, 4096, 1, MS_PTE_TRANSITION);
    assert_int_equal(ms_vspace_read_u32(f->vs, 0x00402abc, &v), MS_OK);
    assert_int_equal(v, 0x600DF00Du);
    expect_failure(f->vs, 0x00403000, MS_ERR_PAGED_OUT, MS_PTE_PROTOTYPE, 1, 0x8ABCD400u);
    expect_failure(f->vs, 0x00404000, MS_ERR_PAGED_OUT, MS_PTE_PAGEFILE, 1, (0x1234u << 12) | (1u << 1) | 0x80);
    expect_failure(f->vs, 0x00405000, MS_ERR_PAGED_OUT, MS_PTE_DEMAND_ZERO, 1, 0x80);
    expect_failure(f->vs, 0x00406000, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 1, 0);
    expect_failure(f->vs, 0x40000000, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 2, 0);

    ms_translation t;
    assert_int_equal(ms_vspace_translate(f->vs, 0x100000000ull, &t), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "32-bit"));

    /* The PD through the self map, and a PTE read through it. */
    expect_translation(f->vs, 0xC0300000u + 0x300 * 4, f->b.root + 0x300 * 4, 4096, 1, MS_PTE_VALID);
    uint32_t pte;
    assert_int_equal(ms_vspace_read_u32(f->vs, 0xC0000000u + (0x00401000u >> 10), &pte), MS_OK);
    assert_int_equal(pte, 0x20000 | RW_VALID);
    close_fixture(f);
}

static void test_x86_walk(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X86, 0x40000), 0);
    ptb_map(&f->b, 0x003FE000, 0x3FE000);
    ptb_map(&f->b, 0x003FF000, 0x3FF000);
    ptb_set(&f->b, 0x00400000, 2, 0x00400000u | PS | RW_VALID);
    ptb_set(&f->b, 0x00800000, 1, 0x800000 | 0x800);
    ptb_set(&f->b, 0xFFC00000u, 2, 0x00C00000u | (0x2u << 13) | PS | RW_VALID);
    open_fixture(f);

    collected c = {0};
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    assert_int_equal(c.n, 3);
    expect_mapping(&c, 0, 0x003FE000, 0x3FE000, 0x402000, MS_PTE_VALID);
    expect_mapping(&c, 1, 0x00800000, 0x800000, 0x1000, MS_PTE_TRANSITION);
    expect_mapping(&c, 2, 0xFFC00000u, 0x200C00000ull, 4u << 20, MS_PTE_VALID);
    close_fixture(f);
}

/* ---- PAE -------------------------------------------------------------------- */

static void test_pae_pages(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_PAE, 0x40000), 0);
    assert_int_equal(f->b.root & 0xFFF, 0x40);  /* PDPT not page aligned */
    ptb_set(&f->b, 0x00401000, 1, 0x20000 | NX | RW_VALID);
    ptb_set(&f->b, 0x80200000u, 2, 0x600000 | PAT_LARGE | PS | NX | RW_VALID);
    ptb_set(&f->b, 0x00402000, 1, 0x9000 | 0x800 | 0x80);
    ptb_set(&f->b, 0x00403000, 1, 0x0000123400000400ull);
    ptb_set(&f->b, 0x00404000, 1, (0x4321ull << 32) | 0x80);
    ptb_set(&f->b, 0x00405000, 1, 0x80);
    ptb_set(&f->b, 0x00600000, 2, 0x3000000000ull | RW_VALID);
    ptb_put32(&f->b, 0x20ffc, 0x80001234u);
    open_fixture(f);

    assert_int_equal(ms_vspace_pointer_size(f->vs), 4);
    expect_translation(f->vs, 0x00401ffc, 0x20ffc, 4096, 1, MS_PTE_VALID);
    uint64_t ptr;
    assert_int_equal(ms_vspace_read_ptr(f->vs, 0x00401ffc, &ptr), MS_OK);
    assert_int_equal(ptr, 0x80001234ull);
    expect_translation(f->vs, 0x80212345u, 0x612345, 2u << 20, 2, MS_PTE_VALID);
    expect_translation(f->vs, 0x00402010, 0x9010, 4096, 1, MS_PTE_TRANSITION);
    expect_failure(f->vs, 0x00403000, MS_ERR_PAGED_OUT, MS_PTE_PROTOTYPE, 1, 0x0000123400000400ull);
    expect_failure(f->vs, 0x00404000, MS_ERR_PAGED_OUT, MS_PTE_PAGEFILE, 1, (0x4321ull << 32) | 0x80);
    expect_failure(f->vs, 0x00405000, MS_ERR_PAGED_OUT, MS_PTE_DEMAND_ZERO, 1, 0x80);
    expect_failure(f->vs, 0x00600000, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 1, 0);
    assert_non_null(strstr(ms_last_error(), "0x3000000000"));
    /* PDPT entry 1 is empty. */
    expect_failure(f->vs, 0x40000000u, MS_ERR_NOT_PRESENT, MS_PTE_NOT_MAPPED, 3, 0);
    close_fixture(f);
}

static void test_pae_self_map(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_PAE, 0x40000), 0);
    uint64_t pd[4];
    for (int i = 0; i < 4; i++)
        pd[i] = ptb_entry_addr(&f->b, (uint64_t)i << 30, 2) & ~0xFFFull;
    for (int i = 1; i < 4; i++)
        assert_int_equal(pd[i], pd[0] + (uint64_t)i * 0x1000);
    ptb_map(&f->b, 0x00401000, 0x20000);
    /* Windows PAE: PD 3 entries 0..3 point at the four PDs, so the PTEs
     * appear at 0xC0000000 and the PDs at 0xC0600000. */
    for (int i = 0; i < 4; i++)
        ptb_put64(&f->b, pd[3] + (uint64_t)i * 8, pd[i] | RW_VALID);
    open_fixture(f);

    for (int i = 0; i < 4; i++)
        expect_translation(f->vs, 0xC0600000u + (uint64_t)i * 0x1000, pd[i], 4096, 1, MS_PTE_VALID);
    uint64_t pte;
    assert_int_equal(ms_vspace_read_u64(f->vs, 0xC0000000u + ((0x00401000u >> 9) & ~7u), &pte), MS_OK);
    assert_int_equal(pte, 0x20000 | RW_VALID);

    collected c = {0};
    assert_int_equal(ms_vspace_walk(f->vs, 0, UINT64_MAX, collect, &c), MS_OK);
    /* The user page, the PT of 0x00400000 at 0xC0000000 + 2 pages, the four
     * PDs as one run at 0xC0600000. */
    uint64_t pt = ptb_get64(&f->b, pd[0] + 2 * 8) & ~0xFFFull;
    assert_int_equal(c.n, 3);
    expect_mapping(&c, 0, 0x00401000, 0x20000, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 1, 0xC0000000u + 2 * 0x1000, pt, 0x1000, MS_PTE_VALID);
    expect_mapping(&c, 2, 0xC0600000u, pd[0], 0x4000, MS_PTE_VALID);
    close_fixture(f);
}

static void test_create_arguments(void **state)
{
    fixture *f = *state;
    assert_int_equal(ptb_init(&f->b, MS_PAGING_X86, 0x2000), 0);
    assert_int_equal(ptb_open(&f->b, &f->image), 0);
    ms_vspace *vs = NULL;
    assert_int_equal(ms_vspace_create(f->image, MS_PAGING_X86, 0x100000000ull, &vs), MS_ERR_ARG);
    assert_int_equal(ms_vspace_create(f->image, MS_PAGING_PAE, 0x100000000ull, &vs), MS_ERR_ARG);
    assert_int_equal(ms_vspace_create(f->image, (ms_paging_mode)7, 0x1000, &vs), MS_ERR_ARG);
    assert_int_equal(ms_vspace_create(NULL, MS_PAGING_X64, 0x1000, &vs), MS_ERR_ARG);
    assert_null(vs);
        close_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_x64_4k_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_large_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_software_ptes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_transition_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_table_outside_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_non_canonical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_read_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_self_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_tlb_consistent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_walk_self_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x64_walk_fan_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x86_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x86_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pae_self_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

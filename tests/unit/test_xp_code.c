/* XP / 2003 tcpip.sys code analysis: hand-assembled x86 and x64 lookups,
 * insertions and removals that must be recognised, decoys that must not,
 * the grouping and the whole-image entry point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/xp_code.h"

#define TCB_TABLE 0x3100u
#define TCB_COUNT 0x3010u
#define AO_TABLE 0x3200u
#define AO_COUNT 0x3208u      /* AddrObjTableSize follows AddrObjTable */
#define RO_TABLE 0x4100u      /* in read-only data */
#define RO_COUNT 0x4108u
#define LOAD_BASE 0xF8A00000u
#define IMAGE_SIZE 0x6000u

typedef struct code {
    uint8_t b[4096];
    size_t len;
    uint32_t rva;             /* of b[0] */
    int x64;
    uint32_t sites[16];       /* RVAs of the site instructions written */
    size_t nsites;
} code;

static void put(code *c, const uint8_t *p, size_t n)
{
    assert_true(c->len + n <= sizeof c->b);
    memcpy(c->b + c->len, p, n);
    c->len += n;
}

#define PUT(c, ...) do { static const uint8_t b_[] = {__VA_ARGS__}; put((c), b_, sizeof b_); } while (0)

/* The global operand ending the instruction being written. */
static void g(code *c, uint32_t rva)
{
    uint32_t v = c->x64 ? rva - (c->rva + (uint32_t)c->len + 4) : LOAD_BASE + rva;
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(c, x, 4);
}

static void mark(code *c)
{
    c->sites[c->nsites++] = c->rva + (uint32_t)c->len;
}

static void nops(code *c, int n)
{
    for (int i = 0; i < n; i++)
        PUT(c, 0x90);
}

/* xor edx,edx; div dword [count]; mov eax/rcx,[table]; mov esi/rbx,[eax+edx*4 / rcx+rdx*8] */
static void lookup(code *c, uint32_t table, uint32_t count)
{
    PUT(c, 0x33, 0xD2, 0xF7, 0x35);
    g(c, count);
    if (c->x64) {
        PUT(c, 0x48, 0x8B, 0x0D);
        g(c, table);
        mark(c);
        PUT(c, 0x48, 0x8B, 0x1C, 0xD1, 0xC3);
    } else {
        PUT(c, 0xA1);
        g(c, table);
        mark(c);
        PUT(c, 0x8B, 0x34, 0x90, 0xC3);
    }
}

/* mov edi/r8d,[count]; ...; div edi/r8d; mov ecx/r9,[table]; lea eax/rax,[slot] */
static void insert(code *c, uint32_t table, uint32_t count)
{
    if (c->x64) {
        PUT(c, 0x44, 0x8B, 0x05);
        g(c, count);
        PUT(c, 0x8B, 0x41, 0x10, 0x33, 0xD2, 0x41, 0xF7, 0xF0, 0x4C, 0x8B, 0x0D);
        g(c, table);
        mark(c);
        PUT(c, 0x49, 0x8D, 0x04, 0xD1, 0x48, 0x89, 0x08, 0xC3);
    } else {
        PUT(c, 0x8B, 0x3D);
        g(c, count);
        PUT(c, 0x8B, 0x46, 0x10, 0x33, 0xD2, 0xF7, 0xF7, 0x8B, 0x0D);
        g(c, table);
        mark(c);
        PUT(c, 0x8D, 0x04, 0x91, 0x89, 0x30, 0xC3);
    }
}

/* div dword [count]; (mov eax,edx;) shl by log2(ptr); add reg,[table] */
static void removal(code *c, uint32_t table, uint32_t count)
{
    PUT(c, 0x33, 0xD2, 0xF7, 0x35);
    g(c, count);
    if (c->x64) {
        PUT(c, 0x8B, 0xC2, 0x48, 0xC1, 0xE0, 0x03);
        mark(c);
        PUT(c, 0x48, 0x03, 0x05);
        g(c, table);
        PUT(c, 0x48, 0x8B, 0x00, 0xC3);
    } else {
        PUT(c, 0xC1, 0xE2, 0x02);
        mark(c);
        PUT(c, 0x03, 0x15);
        g(c, table);
        PUT(c, 0x8B, 0x02, 0xC3);
    }
}

static ms_xp_code_scan *scan_of(const code *c)
{
    ms_xp_code_scan *s = NULL;
    assert_int_equal(ms_xp_code_scan_create(c->x64 ? MS_PE_MACHINE_AMD64 : MS_PE_MACHINE_I386,
                                            c->x64 ? 0x10000 : LOAD_BASE, IMAGE_SIZE, &s),
                     MS_OK);
    assert_int_equal(ms_xp_code_scan_code(s, c->b, c->len, c->rva), MS_OK);
    return s;
}

static void check_real(int x64)
{
    code c = {.rva = 0x1000, .x64 = x64};
    PUT(&c, 0x55, 0x8B, 0xEC);
    lookup(&c, TCB_TABLE, TCB_COUNT);
    nops(&c, 3);
    insert(&c, TCB_TABLE, TCB_COUNT);
    removal(&c, TCB_TABLE, TCB_COUNT);
    insert(&c, AO_TABLE, AO_COUNT);
    lookup(&c, AO_TABLE, AO_COUNT);
    removal(&c, 0x3300, 0x3308); /* a table used once */
    ms_xp_code_scan *s = scan_of(&c);
    ms_xp_code_result r;
    assert_int_equal(ms_xp_code_scan_decide(s, NULL, &r), MS_OK);
    ms_xp_code_scan_destroy(s);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.lone_sites, 1);
    assert_int_equal(r.tables[0].table_rva, TCB_TABLE);
    assert_int_equal(r.tables[0].count_rva, TCB_COUNT);
    assert_int_equal(r.tables[0].sites, 3);
    assert_int_equal(r.tables[0].site_count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.tables[0].site_rva[i], c.sites[i]);
    assert_int_equal(r.tables[1].table_rva, AO_TABLE);
    assert_int_equal(r.tables[1].count_rva, AO_COUNT);
    assert_int_equal(r.tables[1].sites, 2);
    assert_int_equal(r.tables[1].site_rva[0], c.sites[3]);
    assert_int_equal(r.tables[1].site_rva[1], c.sites[4]);
}

static void test_x86_sites(void **state)
{
    (void)state;
    check_real(0);
}

static void test_x64_sites(void **state)
{
    (void)state;
    check_real(1);
}

/* Each decoy is written twice: were it recognised it would form a pair. */
static void decoys_x86(code *c)
{
    for (int k = 0; k < 2; k++) {
        /* scale 8: an array of 8-byte entries */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0xA1); g(c, TCB_TABLE); PUT(c, 0x8B, 0x34, 0xD0);
        /* a field of the entry: [eax+edx*4+4] */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0xA1); g(c, TCB_TABLE); PUT(c, 0x8B, 0x74, 0x90, 0x04);
        /* the remainder goes stale */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); nops(c, 45); PUT(c, 0xA1); g(c, TCB_TABLE);
        PUT(c, 0x8B, 0x34, 0x90);
        /* a call between the division and the use */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0xE8, 0, 0, 0, 0, 0xA1); g(c, TCB_TABLE);
        PUT(c, 0x8B, 0x34, 0x90);
        /* div word [count]: not a LONG */
        PUT(c, 0x33, 0xD2, 0x66, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0xA1); g(c, TCB_TABLE); PUT(c, 0x8B, 0x34, 0x90);
        /* div by a register that holds no global */
        PUT(c, 0x8B, 0x4D, 0x08, 0x33, 0xD2, 0xF7, 0xF1, 0xA1); g(c, TCB_TABLE); PUT(c, 0x8B, 0x34, 0x90);
        /* a mask instead of a division */
        PUT(c, 0x23, 0x15); g(c, TCB_COUNT); PUT(c, 0xA1); g(c, TCB_TABLE); PUT(c, 0x8B, 0x34, 0x90);
        /* the table read as a WORD */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x0F, 0xB7, 0x05); g(c, TCB_TABLE);
        PUT(c, 0x8B, 0x34, 0x90);
        /* the table pointer from a stack slot */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x8B, 0x45, 0x0C, 0x8B, 0x34, 0x90, 0xC3);
    }
}

static void decoys_x64(code *c)
{
    for (int k = 0; k < 2; k++) {
        /* the table read as a DWORD */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x8B, 0x0D); g(c, TCB_TABLE);
        PUT(c, 0x48, 0x8B, 0x1C, 0xD1);
        /* scale 4 */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x48, 0x8B, 0x0D); g(c, TCB_TABLE);
        PUT(c, 0x48, 0x8B, 0x1C, 0x91);
        /* shl by 2 and add: slots of 4 bytes */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x8B, 0xC2, 0x48, 0xC1, 0xE0, 0x02, 0x48, 0x03, 0x05);
        g(c, TCB_TABLE);
        /* div rcx where rcx holds a QWORD global */
        PUT(c, 0x48, 0x8B, 0x0D); g(c, TCB_COUNT); PUT(c, 0x33, 0xD2, 0x48, 0xF7, 0xF1, 0x48, 0x8B, 0x0D);
        g(c, TCB_TABLE); PUT(c, 0x48, 0x8B, 0x1C, 0xD1);
        /* the table from a non-global register */
        PUT(c, 0x33, 0xD2, 0xF7, 0x35); g(c, TCB_COUNT); PUT(c, 0x48, 0x8B, 0x4F, 0x10, 0x48, 0x8B, 0x1C, 0xD1, 0xC3);
    }
}

static void check_decoys(int x64)
{
    code c = {.rva = 0x1000, .x64 = x64};
    if (x64)
        decoys_x64(&c);
    else
        decoys_x86(&c);
    ms_xp_code_scan *s = scan_of(&c);
    ms_xp_code_result r;
    assert_int_equal(ms_xp_code_scan_decide(s, NULL, &r), MS_ERR_NOT_FOUND);
    assert_int_equal(r.lone_sites, 0);
    ms_xp_code_scan_destroy(s);
    /* the same buffer with one real site: it alone is seen */
    lookup(&c, TCB_TABLE, TCB_COUNT);
    s = scan_of(&c);
    assert_int_equal(ms_xp_code_scan_decide(s, NULL, &r), MS_ERR_NOT_FOUND);
    assert_int_equal(r.lone_sites, 1);
    ms_xp_code_scan_destroy(s);
}

static void test_x86_decoys(void **state)
{
    (void)state;
    check_decoys(0);
}

static void test_x64_decoys(void **state)
{
    (void)state;
    check_decoys(1);
}

/* ---- a whole PE32 image read through the callback ---- */

typedef struct image {
    uint8_t b[IMAGE_SIZE];
    uint32_t hole;            /* RVA of a page reported paged out, 0 = none */
} image;

static ms_status read_image(void *user, uint64_t rva, void *buf, size_t len)
{
    image *im = user;
    if (rva + len > sizeof im->b)
        return MS_ERR_FORMAT;
    if (im->hole && rva < im->hole + 0x1000u && rva + len > im->hole)
        return MS_ERR_PAGED_OUT;
    memcpy(buf, im->b + rva, len);
    return MS_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void section(uint8_t *h, const char *name, uint32_t rva, uint32_t size, uint32_t chars)
{
    memcpy(h, name, strlen(name));
    put32(h + 8, size);
    put32(h + 12, rva);
    put32(h + 16, size);
    put32(h + 20, rva);
    put32(h + 36, chars);
}

static void build_image(image *im)
{
    memset(im, 0, sizeof *im);
    uint8_t *b = im->b;
    b[0] = 'M';
    b[1] = 'Z';
    put32(b + 0x3C, 0x80);
    memcpy(b + 0x80, "PE\0\0", 4);
    b[0x84] = 0x4C;
    b[0x85] = 0x01;                 /* I386 */
    b[0x86] = 3;                    /* sections */
    b[0x94] = 0xE0;                 /* SizeOfOptionalHeader */
    uint8_t *opt = b + 0x98;
    opt[0] = 0x0B;
    opt[1] = 0x01;
    put32(opt + 28, 0x10000);       /* ImageBase: the code uses LOAD_BASE */
    put32(opt + 32, 0x1000);
    put32(opt + 36, 0x200);
    put32(opt + 56, IMAGE_SIZE);
    put32(opt + 60, 0x400);
    put32(opt + 92, 16);
    uint8_t *sec = opt + 0xE0;
    section(sec, ".text", 0x1000, 0x2000, 0x60000020);
    section(sec + 40, ".data", 0x3000, 0x1000, 0xC0000040);
    section(sec + 80, ".rdata", 0x4000, 0x1000, 0x40000040);
    memset(b + 0x1000, 0xCC, 0x2000); /* int3 padding between functions */
    code c = {.rva = 0x1000, .x64 = 0};
    lookup(&c, TCB_TABLE, TCB_COUNT);
    insert(&c, TCB_TABLE, TCB_COUNT);
    lookup(&c, AO_TABLE, AO_COUNT);
    removal(&c, AO_TABLE, AO_COUNT);
    lookup(&c, RO_TABLE, RO_COUNT);
    insert(&c, RO_TABLE, RO_COUNT);
    memcpy(b + 0x1000, c.b, c.len);
    /* more sites on the second code page, for the hole test */
    code d = {.rva = 0x2000, .x64 = 0};
    removal(&d, TCB_TABLE, TCB_COUNT);
    lookup(&d, 0x3400, 0x3404);
    lookup(&d, 0x3400, 0x3404);
    memcpy(b + 0x2000, d.b, d.len);
}

static void test_find_image(void **state)
{
    (void)state;
    image *im = malloc(sizeof *im);
    assert_non_null(im);
    build_image(im);
    ms_pe pe;
    assert_int_equal(ms_pe_parse(read_image, im, &pe), MS_OK);
    ms_xp_code_result r;
    assert_int_equal(ms_xp_code_find(&pe, LOAD_BASE, &r), MS_OK);
    assert_int_equal(r.count, 3);
    assert_int_equal(r.not_data, 1); /* the pair in .rdata */
    assert_int_equal(r.tables[0].table_rva, TCB_TABLE);
    assert_int_equal(r.tables[0].sites, 3);
    assert_int_equal(r.tables[1].sites, 2);
    assert_int_equal(r.tables[2].sites, 2);
    assert_true((r.tables[1].table_rva == AO_TABLE && r.tables[2].table_rva == 0x3400) ||
                (r.tables[2].table_rva == AO_TABLE && r.tables[1].table_rva == 0x3400));
    /* at the header's ImageBase the absolute operands name nothing */
    assert_int_equal(ms_xp_code_find(&pe, 0, &r), MS_ERR_NOT_FOUND);

    /* the second code page paged out: its sites are not seen */
    im->hole = 0x2000;
    assert_int_equal(ms_xp_code_find(&pe, LOAD_BASE, &r), MS_OK);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.tables[0].sites, 2);
    assert_int_equal(r.tables[1].sites, 2);

    /* the globals' section made executable: nothing is data */
    im->hole = 0;
    put32(im->b + 0x98 + 0xE0 + 40 + 36, 0xE0000020);
    assert_int_equal(ms_pe_parse(read_image, im, &pe), MS_OK);
    assert_int_equal(ms_xp_code_find(&pe, LOAD_BASE, &r), MS_ERR_NOT_FOUND);
    assert_int_equal(r.not_data, 4);
    free(im);
}

static void test_garbage_and_args(void **state)
{
    (void)state;
    uint8_t *junk = malloc(1 << 16);
    assert_non_null(junk);
    uint32_t x = 12345;
    for (size_t i = 0; i < (1u << 16); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    for (int m = 0; m < 2; m++) {
        ms_xp_code_scan *s = NULL;
        assert_int_equal(ms_xp_code_scan_create(m ? MS_PE_MACHINE_AMD64 : MS_PE_MACHINE_I386, 0, 1 << 16, &s), MS_OK);
        assert_int_equal(ms_xp_code_scan_code(s, junk, 1 << 16, 0), MS_OK);
        assert_int_equal(ms_xp_code_scan_code(s, junk, 0, 0), MS_OK);
        ms_xp_code_result r;
        assert_int_equal(ms_xp_code_scan_decide(s, NULL, &r), MS_ERR_NOT_FOUND);
        assert_int_equal(ms_xp_code_scan_code(s, NULL, 4, 0), MS_ERR_ARG);
        ms_xp_code_scan_destroy(s);
    }
    free(junk);
    ms_xp_code_scan *s = NULL;
    assert_int_equal(ms_xp_code_scan_create(MS_PE_MACHINE_ARM64, 0, 0x1000, &s), MS_ERR_UNSUPPORTED);
    assert_null(s);
    assert_int_equal(ms_xp_code_scan_create(MS_PE_MACHINE_I386, 0, 0x1000, NULL), MS_ERR_ARG);
    assert_int_equal(ms_xp_code_find(NULL, 0, NULL), MS_ERR_ARG);
    ms_xp_code_scan_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x86_sites),      cmocka_unit_test(test_x64_sites),
        cmocka_unit_test(test_x86_decoys),     cmocka_unit_test(test_x64_decoys),
        cmocka_unit_test(test_find_image),     cmocka_unit_test(test_garbage_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

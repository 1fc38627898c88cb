/* tcpip.sys code analysis: hand-assembled x64 and x86 sequences that must
 * and must not be recognised, the vote, and the real tcpip.sys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "symbols/tcpip_code.h"

#define COUNT_RVA 0x3000
#define TABLE_RVA 0x3008

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* RIP-relative displacement field at `field` of an instruction ending at
 * `next`, both offsets from `rva`. */
static void rip(uint8_t *code, uint32_t rva, uint32_t field, uint32_t next, uint32_t target)
{
    put32(code + field, target - (rva + next));
}

/* movzx ecx, word [rip+count]; xor edx, edx; mov rax, rbx; div rcx;
 * lea rax, [rdx+rdx*2]; shl rax, 6; add rax, [rip+table]; mov rax, [rax]; ret
 * The add (the site) is at +0x17. */
static const uint8_t hash64[] = {0x0f, 0xb7, 0x0d, 0, 0, 0, 0, 0x33, 0xd2, 0x48, 0x8b, 0xc3,
                                 0x48, 0xf7, 0xf1, 0x48, 0x8d, 0x04, 0x52, 0x48, 0xc1, 0xe0, 0x06,
                                 0x48, 0x03, 0x05, 0, 0, 0, 0, 0x48, 0x8b, 0x00, 0xc3};

static size_t emit_hash64(uint8_t *out, uint32_t rva, uint32_t count, uint32_t table)
{
    memcpy(out, hash64, sizeof hash64);
    rip(out, rva, 3, 7, count);
    rip(out, rva, 0x1a, 0x1e, table);
    return sizeof hash64;
}

/* Same with imul rax, rdx, 0x80 in place of lea+shl (one byte shorter). */
static size_t emit_hash64_imul(uint8_t *out, uint32_t rva, uint32_t count, uint32_t table)
{
    static const uint8_t imul[] = {0x48, 0x69, 0xc2, 0x80, 0x00, 0x00, 0x00};
    memcpy(out, hash64, 0x0f);
    memcpy(out + 0x0f, imul, sizeof imul);
    memcpy(out + 0x16, hash64 + 0x17, sizeof hash64 - 0x17);
    rip(out, rva, 3, 7, count);
    rip(out, rva, 0x19, 0x1d, table);
    return sizeof hash64 - 1;
}

/* movzx eax, word [rip+count]; cmp esi, eax; jge +0x10; movsxd rax, esi;
 * lea rcx, [rax+rax*2]; shl rcx, 6; add rcx, [rip+table]; call +0; ret */
static size_t emit_loop64(uint8_t *out, uint32_t rva, uint32_t count, uint32_t table)
{
    static const uint8_t loop[] = {0x0f, 0xb7, 0x05, 0, 0, 0, 0, 0x39, 0xc6, 0x7d, 0x10, 0x48, 0x63, 0xc6,
                                   0x48, 0x8d, 0x0c, 0x40, 0x48, 0xc1, 0xe1, 0x06, 0x48, 0x03, 0x0d, 0, 0, 0, 0,
                                   0xe8, 0, 0, 0, 0, 0xc3};
    memcpy(out, loop, sizeof loop);
    rip(out, rva, 3, 7, count);
    rip(out, rva, 0x19, 0x1d, table);
    return sizeof loop;
}

/* x86: movzx ecx, word [count]; xor edx, edx; div ecx; imul edx, edx, 0x48;
 * add edx, [table]; mov eax, [edx]; ret -- absolute addresses. */
static size_t emit_hash32(uint8_t *out, uint32_t base, uint32_t count, uint32_t table)
{
    static const uint8_t h[] = {0x0f, 0xb7, 0x0d, 0, 0, 0, 0, 0x33, 0xd2, 0xf7, 0xf1, 0x6b, 0xd2,
                                0x48, 0x03, 0x15, 0, 0, 0, 0, 0x8b, 0x02, 0xc3};
    memcpy(out, h, sizeof h);
    put32(out + 3, base + count);
    put32(out + 0x10, base + table);
    return sizeof h;
}

static ms_tcpip_scan *scan64(void)
{
    ms_tcpip_scan *s;
    assert_int_equal(ms_tcpip_scan_create(MS_PE_MACHINE_AMD64, 0x1c0000000ull, 0x10000, &s), MS_OK);
    return s;
}

static void test_hash_site_x64(void **state)
{
    (void)state;
    uint8_t code[64];
    size_t n = emit_hash64(code, 0x1000, COUNT_RVA, TABLE_RVA);
    ms_tcpip_scan *s = scan64();
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1000), MS_OK);
    assert_int_equal(ms_tcpip_scan_count(s), 1);
    const ms_tcpip_candidate *c = ms_tcpip_scan_get(s, 0);
    assert_int_equal(c->kind, MS_TCPIP_SITE_HASH);
    assert_int_equal(c->site_rva, 0x1017);
    assert_int_equal(c->count_rva, COUNT_RVA);
    assert_int_equal(c->table_rva, TABLE_RVA);
    assert_int_equal(c->size, 0xC0);
    assert_int_equal(c->count_width, 2);
    assert_null(ms_tcpip_scan_get(s, 1));

    n = emit_hash64_imul(code, 0x2000, 0x3100, 0x3200);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x2000), MS_OK);
    assert_int_equal(ms_tcpip_scan_count(s), 2);
    c = ms_tcpip_scan_get(s, 1);
    assert_int_equal(c->size, 0x80);
    assert_int_equal(c->count_rva, 0x3100);
    assert_int_equal(c->table_rva, 0x3200);
    ms_tcpip_scan_destroy(s);
}

static void test_loop_site_x64(void **state)
{
    (void)state;
    uint8_t code[64];
    size_t n = emit_loop64(code, 0x1800, COUNT_RVA, TABLE_RVA);
    ms_tcpip_scan *s = scan64();
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1800), MS_OK);
    assert_int_equal(ms_tcpip_scan_count(s), 1);
    const ms_tcpip_candidate *c = ms_tcpip_scan_get(s, 0);
    assert_int_equal(c->kind, MS_TCPIP_SITE_LOOP);
    assert_int_equal(c->site_rva, 0x1816);
    assert_int_equal(c->count_rva, COUNT_RVA);
    assert_int_equal(c->table_rva, TABLE_RVA);
    assert_int_equal(c->size, 0xC0);
    ms_tcpip_scan_destroy(s);
}

static size_t scan_one(const uint8_t *code, size_t n)
{
    ms_tcpip_scan *s = scan64();
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1000), MS_OK);
    size_t count = ms_tcpip_scan_count(s);
    ms_tcpip_scan_destroy(s);
    return count;
}

static void test_decoys_x64(void **state)
{
    (void)state;
    uint8_t code[64];
    size_t n = emit_hash64(code, 0x1000, COUNT_RVA, TABLE_RVA);
    assert_int_equal(scan_one(code, n), 1);

    /* The "table" is a dword, not a pointer: nop; add eax, dword [rip+x]. */
    uint8_t d[64];
    memcpy(d, code, n);
    d[0x17] = 0x90;
    assert_int_equal(scan_one(d, n), 0);

    /* Partition size 3 << 2 = 12: too small for a _PARTITION. */
    memcpy(d, code, n);
    d[0x16] = 0x02;
    assert_int_equal(scan_one(d, n), 0);

    /* The divisor comes from a structure field, not a global:
     * movzx ecx, word [rcx+8]; nop; nop; nop. */
    memcpy(d, code, n);
    memcpy(d, "\x0f\xb7\x49\x08\x90\x90\x90", 7);
    assert_int_equal(scan_one(d, n), 0);

    /* The remainder is clobbered before scaling (xor rdx, rdx; nop): what
     * is left is "pointer + index * 0x40" with no count compare nearby. */
    memcpy(d, code, n);
    memcpy(d + 0x0f, "\x48\x31\xd2\x90", 4);
    assert_int_equal(scan_one(d, n), 0);

    /* A return between the division and the add ends the chain. */
    memcpy(d, code, n);
    d[0x09] = 0xc3;
    d[0x0a] = 0x90;
    d[0x0b] = 0x90;
    assert_int_equal(scan_one(d, n), 0);

    /* Byte division leaves the remainder in AH: div cl. */
    memcpy(d, code, n);
    memcpy(d + 0x0c, "\x90\xf6\xf1", 3);
    assert_int_equal(scan_one(d, n), 0);

    /* Noise: pseudo-random bytes decide nothing. */
    static uint8_t noise[1 << 16];
    uint32_t x = 0x12345678;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
    ms_tcpip_scan *s = scan64();
    assert_int_equal(ms_tcpip_scan_code(s, noise, sizeof noise, 0x1000), MS_OK);
    ms_tcpip_partitions p;
    assert_int_equal(ms_tcpip_scan_decide(s, NULL, &p), MS_ERR_NOT_FOUND);
    ms_tcpip_scan_destroy(s);
}

static void test_hash_site_x86(void **state)
{
    (void)state;
    uint8_t code[64];
    size_t n = emit_hash32(code, 0x400000, COUNT_RVA, TABLE_RVA);
    ms_tcpip_scan *s;
    assert_int_equal(ms_tcpip_scan_create(MS_PE_MACHINE_I386, 0x400000, 0x10000, &s), MS_OK);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1000), MS_OK);
    assert_int_equal(ms_tcpip_scan_count(s), 1);
    const ms_tcpip_candidate *c = ms_tcpip_scan_get(s, 0);
    assert_int_equal(c->kind, MS_TCPIP_SITE_HASH);
    assert_int_equal(c->site_rva, 0x100e);
    assert_int_equal(c->count_rva, COUNT_RVA);
    assert_int_equal(c->table_rva, TABLE_RVA);
    assert_int_equal(c->size, 0x48);
    ms_tcpip_scan_destroy(s);

    /* Addresses relative to another base are outside the image. */
    assert_int_equal(ms_tcpip_scan_create(MS_PE_MACHINE_I386, 0x800000, 0x10000, &s), MS_OK);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1000), MS_OK);
    assert_int_equal(ms_tcpip_scan_count(s), 0);
    ms_tcpip_scan_destroy(s);

    assert_int_equal(ms_tcpip_scan_create(MS_PE_MACHINE_ARM64, 0, 0x10000, &s), MS_ERR_UNSUPPORTED);
}

static void test_vote(void **state)
{
    (void)state;
    uint8_t code[512];
    size_t n = 0;
    ms_tcpip_partitions p;
    ms_tcpip_scan *s = scan64();

    n = emit_hash64(code, 0x1000, COUNT_RVA, TABLE_RVA);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1000), MS_OK);
    assert_int_equal(ms_tcpip_scan_decide(s, NULL, &p), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "thin"));

    n = emit_hash64(code, 0x1100, COUNT_RVA, TABLE_RVA);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1100), MS_OK);
    n = emit_loop64(code, 0x1200, COUNT_RVA, TABLE_RVA);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1200), MS_OK);
    assert_int_equal(ms_tcpip_scan_decide(s, NULL, &p), MS_OK);
    assert_int_equal(p.table_rva, TABLE_RVA);
    assert_int_equal(p.count_rva, COUNT_RVA);
    assert_int_equal(p.count_width, 2);
    assert_int_equal(p.partition_size, 0xC0);
    assert_int_equal(p.hash_sites, 2);
    assert_int_equal(p.loop_sites, 1);
    assert_int_equal(p.other_sites, 0);
    assert_int_equal(p.site_count, 3);
    assert_int_equal(p.sites[0].rva, 0x1017);
    assert_int_equal(p.sites[1].rva, 0x1117);
    assert_int_equal(p.sites[2].kind, MS_TCPIP_SITE_LOOP);
    assert_int_equal(p.sites[2].rva, 0x1216);

    /* Another triple with as much evidence makes it ambiguous. */
    for (uint32_t k = 0; k < 2; k++) {
        n = emit_hash64(code, 0x1400 + 0x100 * k, 0x3100, 0x3108);
        assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1400 + 0x100 * k), MS_OK);
    }
    n = emit_loop64(code, 0x1600, 0x3100, 0x3108);
    assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1600), MS_OK);
    assert_int_equal(ms_tcpip_scan_decide(s, NULL, &p), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "ambiguous"));

    /* Outvoted, it is only reported. */
    for (uint32_t k = 0; k < 4; k++) {
        n = emit_hash64(code, 0x1800 + 0x100 * k, COUNT_RVA, TABLE_RVA);
        assert_int_equal(ms_tcpip_scan_code(s, code, n, 0x1800 + 0x100 * k), MS_OK);
    }
    assert_int_equal(ms_tcpip_scan_decide(s, NULL, &p), MS_OK);
    assert_int_equal(p.table_rva, TABLE_RVA);
    assert_int_equal(p.hash_sites, 6);
    assert_int_equal(p.other_sites, 2);
    ms_tcpip_scan_destroy(s);
}

/* A minimal PE32+/PE32 image in memory: .text at 0x1000, .data at 0x3000
 * (writable or not), .pdata at 0x4000 with one function per 0x100. */
#define MINI_SIZE 0x5000
static uint8_t *mini_pe(int is64, int data_writable)
{
    uint8_t *img = calloc(1, MINI_SIZE);
    assert_non_null(img);
    uint32_t nt = 0x80, opt = is64 ? 0xF0 : 0xE0;
    img[0] = 'M';
    img[1] = 'Z';
    put32(img + 0x3c, nt);
    memcpy(img + nt, "PE\0\0", 4);
    uint16_t machine = is64 ? MS_PE_MACHINE_AMD64 : MS_PE_MACHINE_I386;
    img[nt + 4] = (uint8_t)machine;
    img[nt + 5] = (uint8_t)(machine >> 8);
    img[nt + 6] = 3;
    img[nt + 20] = (uint8_t)opt;
    img[nt + 24] = 0x0b;
    img[nt + 25] = is64 ? 2 : 1;
    put32(img + nt + 24 + (is64 ? 24 : 28), 0x400000);
    put32(img + nt + 24 + 56, MINI_SIZE);
    put32(img + nt + 24 + 60, 0x400);
    put32(img + nt + 24 + (is64 ? 108 : 92), 16);
    uint32_t dd = nt + 24 + (is64 ? 112 : 96);
    put32(img + dd + 8 * MS_PE_DIR_EXCEPTION, 0x4000);
    put32(img + dd + 8 * MS_PE_DIR_EXCEPTION + 4, 16 * 12);
    const struct {
        const char *name;
        uint32_t rva, chars;
    } secs[3] = {{".text", 0x1000, 0x60000020},
                 {".data", 0x3000, data_writable ? 0xC0000040 : 0x40000040},
                 {".pdata", 0x4000, 0x40000040}};
    for (int i = 0; i < 3; i++) {
        uint8_t *h = img + nt + 24 + opt + 40 * i;
        memcpy(h, secs[i].name, strlen(secs[i].name));
        put32(h + 8, 0x1000);
        put32(h + 12, secs[i].rva);
        put32(h + 16, 0x1000);
        put32(h + 20, secs[i].rva);
        put32(h + 36, secs[i].chars);
    }
    for (uint32_t k = 0; k < 16; k++) {
        put32(img + 0x4000 + 12 * k, 0x1000 + 0x100 * k);
        put32(img + 0x4000 + 12 * k + 4, 0x1100 + 0x100 * k);
    }
    memset(img + 0x1000, 0xcc, 0x1000);
    return img;
}

typedef struct mem {
    const uint8_t *bytes;
    size_t len;
} mem;

static ms_status mem_read(void *user, uint64_t rva, void *buf, size_t len)
{
    mem *m = user;
    if (rva > m->len || len > m->len - rva)
        return MS_ERR_NOT_PRESENT;
    memcpy(buf, m->bytes + rva, len);
    return MS_OK;
}

static void test_whole_image(void **state)
{
    (void)state;
    for (int writable = 1; writable >= 0; writable--) {
        uint8_t *img = mini_pe(1, writable);
        emit_hash64(img + 0x1000, 0x1000, COUNT_RVA, TABLE_RVA);
        emit_hash64(img + 0x1340, 0x1340, COUNT_RVA, TABLE_RVA);
        emit_loop64(img + 0x1500, 0x1500, COUNT_RVA, TABLE_RVA);
        mem m = {img, MINI_SIZE};
        ms_pe pe;
        assert_int_equal(ms_pe_parse(mem_read, &m, &pe), MS_OK);
        ms_tcpip_partitions p;
        ms_status st = ms_tcpip_find_partitions(&pe, 0, &p);
        if (!writable) {
            assert_int_equal(st, MS_ERR_FORMAT);
            assert_non_null(strstr(ms_last_error(), "writable"));
            free(img);
            continue;
        }
        assert_int_equal(st, MS_OK);
        assert_int_equal(p.table_rva, TABLE_RVA);
        assert_int_equal(p.count_rva, COUNT_RVA);
        assert_int_equal(p.hash_sites, 2);
        assert_int_equal(p.loop_sites, 1);
        assert_int_equal(p.sites[0].function_rva, 0x1000);
        assert_int_equal(p.sites[1].rva, 0x1357);
        assert_int_equal(p.sites[1].function_rva, 0x1300);
        assert_int_equal(p.sites[2].function_rva, 0x1500);
        free(img);
    }

    /* x86, loaded at a base other than the header's ImageBase. */
    uint8_t *img = mini_pe(0, 1);
    emit_hash32(img + 0x1000, 0x80000000u, COUNT_RVA, TABLE_RVA);
    emit_hash32(img + 0x1100, 0x80000000u, COUNT_RVA, TABLE_RVA);
    mem m = {img, MINI_SIZE};
    ms_pe pe;
    assert_int_equal(ms_pe_parse(mem_read, &m, &pe), MS_OK);
    ms_tcpip_partitions p;
    assert_int_equal(ms_tcpip_find_partitions(&pe, 0, &p), MS_ERR_NOT_FOUND);
    assert_int_equal(ms_tcpip_find_partitions(&pe, 0x80000000u, &p), MS_OK);
    assert_int_equal(p.table_rva, TABLE_RVA);
    assert_int_equal(p.count_rva, COUNT_RVA);
    assert_int_equal(p.partition_size, 0x48);
    assert_int_equal(p.hash_sites, 2);
    assert_int_equal(p.sites[0].function_rva, 0);
    free(img);
}

/* The real file, read through a callback that hides some code pages. */
typedef struct holey {
    ms_pe_file *file;
    uint32_t hide_from, hide_to;
} holey;

static ms_status holey_read(void *user, uint64_t rva, void *buf, size_t len)
{
    holey *h = user;
    if (rva < h->hide_to && rva + len > h->hide_from && ((rva >> 12) & 1))
        return MS_ERR_PAGED_OUT;
    return ms_pe_file_read(h->file, rva, buf, len);
}

static void test_real_tcpip(void **state)
{
    (void)state;
    const char *shared = getenv("MEMSIFT_SHARED");
    char path[4096];
    snprintf(path, sizeof path, "%s/samples/tcpip-10.0.19041.4780-x64.sys", shared ? shared : "../shared");
    FILE *probe = fopen(path, "rb");
    if (probe == NULL) {
        fprintf(stderr, "skipping: %s is absent\n", path);
        skip();
    }
    fclose(probe);
    ms_pe_file *f;
    assert_int_equal(ms_pe_file_open(path, &f), MS_OK);
    ms_tcpip_partitions p;
    assert_int_equal(ms_tcpip_find_partitions(ms_pe_file_pe(f), 0, &p), MS_OK);
    assert_int_equal(p.table_rva, 0x207208);
    assert_int_equal(p.count_rva, 0x207200);
    assert_int_equal(p.count_width, 2);
    assert_int_equal(p.partition_size, 0xC0);
    assert_true(p.hash_sites >= 40);
    assert_true(p.loop_sites >= 5);
    assert_int_equal(p.other_sites, 0);
    assert_int_equal(p.sites[0].kind, MS_TCPIP_SITE_HASH);
    assert_int_equal(p.sites[0].rva, 0xa0e5);
    assert_int_equal(p.sites[0].function_rva, 0x9ce4);

    /* Every other page of .text paged out: still enough evidence. */
    holey h = {f, 0x1000, 0x1c3000};
    ms_pe pe;
    assert_int_equal(ms_pe_parse(holey_read, &h, &pe), MS_OK);
    ms_tcpip_partitions q;
    assert_int_equal(ms_tcpip_find_partitions(&pe, 0, &q), MS_OK);
    assert_int_equal(q.table_rva, 0x207208);
    assert_int_equal(q.count_rva, 0x207200);
    assert_true(q.hash_sites < p.hash_sites);
    ms_pe_file_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_site_x64), cmocka_unit_test(test_loop_site_x64),
        cmocka_unit_test(test_decoys_x64),    cmocka_unit_test(test_hash_site_x86),
        cmocka_unit_test(test_vote),          cmocka_unit_test(test_whole_image),
        cmocka_unit_test(test_real_tcpip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

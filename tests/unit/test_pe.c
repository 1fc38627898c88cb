/* PE parser: hand-built PE32 and PE32+ images, malformed variants, missing
 * pages, and the real tcpip.sys when ../shared is present. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pe/pe.h"

#define IMG_SIZE 0x5000
#define NT 0x80
#define DEBUG_RVA 0x2000
#define CV_RVA 0x2100
#define EXPORT_RVA 0x2200
#define RSRC_RVA 0x2400
#define VERSION_RVA 0x2500

static void put16(uint8_t *p, uint32_t off, uint16_t v)
{
    p[off] = (uint8_t)v;
    p[off + 1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t off, uint32_t v)
{
    put16(p, off, (uint16_t)v);
    put16(p, off + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint32_t off, uint64_t v)
{
    put32(p, off, (uint32_t)v);
    put32(p, off + 4, (uint32_t)(v >> 32));
}

static const uint8_t test_guid[16] = {0xA4, 0xBB, 0xC0, 0xFB, 0x83, 0x50, 0x95, 0xA5,
                                      0xE3, 0x89, 0xFB, 0x48, 0xC1, 0xAB, 0x9A, 0x20};

static uint32_t opt_size(int is64)
{
    return is64 ? 0xF0 : 0xE0;
}

/* Section `i` header offset. */
static uint32_t sec_hdr(int is64, int i)
{
    return NT + 24 + opt_size(is64) + 40 * (uint32_t)i;
}

static uint32_t datadir_off(int is64, int index)
{
    return NT + 24 + (is64 ? 112 : 96) + 8 * (uint32_t)index;
}

static void add_section(uint8_t *img, int is64, int i, const char *name, uint32_t rva, uint32_t size,
                        uint32_t chars)
{
    uint32_t h = sec_hdr(is64, i);
    memcpy(img + h, name, strlen(name));
    put32(img, h + 8, size);
    put32(img, h + 12, rva);
    put32(img, h + 16, size);
    put32(img, h + 20, rva);
    put32(img, h + 36, chars);
}

/* An image laid out as in memory (file offset == RVA): .text, .rdata with
 * debug directory, CodeView, exports and a version resource, .data. */
static uint8_t *build_image(int is64, int nb10)
{
    uint8_t *img = calloc(1, IMG_SIZE);
    assert_non_null(img);
    img[0] = 'M';
    img[1] = 'Z';
    put32(img, 0x3c, NT);
    memcpy(img + NT, "PE\0\0", 4);
    put16(img, NT + 4, is64 ? MS_PE_MACHINE_AMD64 : MS_PE_MACHINE_I386);
    put16(img, NT + 6, 3);
    put32(img, NT + 8, 0x5f1e2d3c);
    put16(img, NT + 20, (uint16_t)opt_size(is64));
    put16(img, NT + 22, 0x22);
    uint32_t o = NT + 24;
    put16(img, o, is64 ? 0x20b : 0x10b);
    put32(img, o + 16, 0x1000);
    if (is64)
        put64(img, o + 24, 0x1c0000000ull);
    else
        put32(img, o + 28, 0x10000);
    put32(img, o + 32, 0x1000);
    put32(img, o + 36, 0x1000);
    put32(img, o + 56, IMG_SIZE);
    put32(img, o + 60, 0x400);
    put16(img, o + 68, 1);
    put32(img, o + (is64 ? 108 : 92), 16);
    put32(img, datadir_off(is64, MS_PE_DIR_EXPORT), EXPORT_RVA);
    put32(img, datadir_off(is64, MS_PE_DIR_EXPORT) + 4, 0x100);
    put32(img, datadir_off(is64, MS_PE_DIR_RESOURCE), RSRC_RVA);
    put32(img, datadir_off(is64, MS_PE_DIR_RESOURCE) + 4, 0x100);
    put32(img, datadir_off(is64, MS_PE_DIR_DEBUG), DEBUG_RVA);
    put32(img, datadir_off(is64, MS_PE_DIR_DEBUG) + 4, 56);
    add_section(img, is64, 0, ".text", 0x1000, 0x1000, 0x60000020);
    add_section(img, is64, 1, ".rdata", 0x2000, 0x2000, 0x40000040);
    add_section(img, is64, 2, ".data", 0x4000, 0x1000, 0xC0000040);

    /* Debug directory: a non-CodeView entry (type 13, POGO) then CodeView. */
    put32(img, DEBUG_RVA + 12, 13);
    put32(img, DEBUG_RVA + 28 + 12, 2);
    if (nb10) {
        memcpy(img + CV_RVA, "NB10", 4);
        put32(img, CV_RVA + 8, 0x3b7d8410);
        put32(img, CV_RVA + 12, 7);
        memcpy(img + CV_RVA + 16, "tcpip.pdb", 10);
        put32(img, DEBUG_RVA + 28 + 16, 26);
    } else {
        memcpy(img + CV_RVA, "RSDS", 4);
        memcpy(img + CV_RVA + 4, test_guid, 16);
        put32(img, CV_RVA + 20, 1);
        memcpy(img + CV_RVA + 24, "tcpip.pdb", 10);
        put32(img, DEBUG_RVA + 28 + 16, 34);
    }
    put32(img, DEBUG_RVA + 28 + 20, CV_RVA);

    /* Exports: two named functions. */
    put32(img, EXPORT_RVA + 12, 0x2280);
    put32(img, EXPORT_RVA + 16, 1);
    put32(img, EXPORT_RVA + 20, 2);
    put32(img, EXPORT_RVA + 24, 2);
    put32(img, EXPORT_RVA + 28, 0x2240);
    put32(img, EXPORT_RVA + 32, 0x2250);
    put32(img, EXPORT_RVA + 36, 0x2260);
    put32(img, 0x2240, 0x1010);
    put32(img, 0x2244, 0x1020);
    put32(img, 0x2250, 0x2290);
    put32(img, 0x2254, 0x22a0);
    put16(img, 0x2260, 1);
    put16(img, 0x2262, 0);
    memcpy(img + 0x2280, "test.sys", 9);
    memcpy(img + 0x2290, "Alpha", 6);
    memcpy(img + 0x22a0, "Beta", 5);

    /* Resources: RT_VERSION -> id 1 -> language 0x409 -> data. */
    put16(img, RSRC_RVA + 14, 1);
    put32(img, RSRC_RVA + 16, 16);
    put32(img, RSRC_RVA + 20, 0x80000018);
    put16(img, RSRC_RVA + 0x18 + 14, 1);
    put32(img, RSRC_RVA + 0x28, 1);
    put32(img, RSRC_RVA + 0x2c, 0x80000030);
    put16(img, RSRC_RVA + 0x30 + 14, 1);
    put32(img, RSRC_RVA + 0x40, 0x409);
    put32(img, RSRC_RVA + 0x44, 0x48);
    put32(img, RSRC_RVA + 0x48, VERSION_RVA);
    put32(img, RSRC_RVA + 0x4c, 0x5c);
    put16(img, VERSION_RVA, 0x5c);
    put16(img, VERSION_RVA + 2, 52);
    const char *key = "VS_VERSION_INFO";
    for (uint32_t i = 0; key[i]; i++)
        img[VERSION_RVA + 6 + 2 * i] = (uint8_t)key[i];
    put32(img, VERSION_RVA + 40, 0xFEEF04BD);
    put32(img, VERSION_RVA + 44, 0x10000);
    put32(img, VERSION_RVA + 48, 10u << 16);
    put32(img, VERSION_RVA + 52, 19041u << 16 | 4780);
    put32(img, VERSION_RVA + 56, 10u << 16 | 1);
    put32(img, VERSION_RVA + 60, 2u << 16 | 3);
    return img;
}

/* A module in "memory": pages listed in `missing` read as `missing_status`. */
typedef struct mem_image {
    const uint8_t *bytes;
    size_t len;
    uint32_t missing[4];
    size_t nmissing;
    ms_status missing_status;
} mem_image;

static ms_status mem_read(void *user, uint64_t rva, void *buf, size_t len)
{
    mem_image *m = user;
    if (rva > m->len || len > m->len - rva)
        return MS_ERR_NOT_PRESENT;
    for (uint64_t page = rva & ~0xfffull; page < rva + len; page += 0x1000)
        for (size_t i = 0; i < m->nmissing; i++)
            if (m->missing[i] == page) {
                memset(buf, 0, len);
                return m->missing_status;
            }
    memcpy(buf, m->bytes + rva, len);
    return MS_OK;
}

static ms_status parse_mem(mem_image *m, ms_pe *pe)
{
    return ms_pe_parse(mem_read, m, pe);
}

static void check_common(const ms_pe *pe)
{
    assert_int_equal(pe->size_of_image, IMG_SIZE);
    assert_int_equal(pe->timestamp, 0x5f1e2d3c);
    assert_int_equal(pe->section_count, 3);
    assert_string_equal(pe->sections[0].name, ".text");
    assert_string_equal(pe->sections[2].name, ".data");
    assert_int_equal(pe->sections[1].rva, 0x2000);
    assert_int_equal(pe->sections[1].virtual_size, 0x2000);
    assert_int_equal(pe->sections[2].characteristics, 0xC0000040);
    assert_ptr_equal(ms_pe_section_at(pe, 0x4abc), &pe->sections[2]);
    assert_null(ms_pe_section_at(pe, 0x800));
    assert_null(ms_pe_section_at(pe, IMG_SIZE));

    ms_pe_codeview cv;
    assert_int_equal(ms_pe_codeview_get(pe, &cv), MS_OK);
    assert_int_equal(cv.kind, MS_PE_CV_RSDS);
    assert_string_equal(cv.guid, "FBC0BBA45083A595E389FB48C1AB9A20");
    assert_int_equal(cv.age, 1);
    assert_string_equal(cv.pdb_name, "tcpip.pdb");

    char name[32];
    assert_int_equal(ms_pe_export_name(pe, name, sizeof name), MS_OK);
    assert_string_equal(name, "test.sys");
    uint32_t rva = 0;
    assert_int_equal(ms_pe_export_find(pe, "Alpha", &rva), MS_OK);
    assert_int_equal(rva, 0x1020);
    assert_int_equal(ms_pe_export_find(pe, "Beta", &rva), MS_OK);
    assert_int_equal(rva, 0x1010);
    assert_int_equal(ms_pe_export_find(pe, "Gamma", &rva), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "Gamma"));

    ms_pe_version v;
    assert_int_equal(ms_pe_version_get(pe, &v), MS_OK);
    assert_string_equal(v.file_string, "10.0.19041.4780");
    assert_int_equal(v.product[0], 10);
    assert_int_equal(v.product[1], 1);
    assert_int_equal(v.product[2], 2);
    assert_int_equal(v.product[3], 3);
}

static void test_pe32plus(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    mem_image m = {img, IMG_SIZE, {0}, 0, MS_OK};
    ms_pe pe;
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    assert_true(pe.is_64);
    assert_int_equal(pe.machine, MS_PE_MACHINE_AMD64);
    assert_int_equal(pe.image_base, 0x1c0000000ull);
    assert_int_equal(pe.datadir_count, 16);
    check_common(&pe);
    free(img);
}

static void test_pe32(void **state)
{
    (void)state;
    uint8_t *img = build_image(0, 0);
    mem_image m = {img, IMG_SIZE, {0}, 0, MS_OK};
    ms_pe pe;
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    assert_false(pe.is_64);
    assert_int_equal(pe.machine, MS_PE_MACHINE_I386);
    assert_int_equal(pe.image_base, 0x10000);
    check_common(&pe);
    free(img);
}

static void test_nb10(void **state)
{
    (void)state;
    uint8_t *img = build_image(0, 1);
    mem_image m = {img, IMG_SIZE, {0}, 0, MS_OK};
    ms_pe pe;
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    ms_pe_codeview cv;
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_OK);
    assert_int_equal(cv.kind, MS_PE_CV_NB10);
    assert_int_equal(cv.signature, 0x3b7d8410);
    assert_string_equal(cv.guid, "3B7D8410");
    assert_int_equal(cv.age, 7);
    assert_string_equal(cv.pdb_name, "tcpip.pdb");
    free(img);
}

/* The image packed as a file: headers, then each section's raw data at
 * 0x200-aligned offsets; .data has no raw data (all zeros when loaded). */
static void test_file_layout(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    size_t file_len = 0x400 + 0x1000 + 0x2000;
    uint8_t *file = calloc(1, file_len);
    assert_non_null(file);
    memcpy(file, img, 0x400);
    memcpy(file + 0x400, img + 0x1000, 0x3000);
    put32(file, sec_hdr(1, 0) + 20, 0x400);
    put32(file, sec_hdr(1, 1) + 20, 0x1400);
    put32(file, sec_hdr(1, 2) + 16, 0);
    put32(file, sec_hdr(1, 2) + 20, 0);
    img[0x1234] = 0x5a;
    file[0x634] = 0x5a;

    ms_pe_file *f;
    assert_int_equal(ms_pe_file_from_buffer(file, file_len, &f), MS_OK);
    const ms_pe *pe = ms_pe_file_pe(f);
    check_common(pe);
    uint8_t b[4];
    assert_int_equal(ms_pe_read(pe, 0x1234, b, 1), MS_OK);
    assert_int_equal(b[0], 0x5a);
    memset(b, 0xff, sizeof b);
    assert_int_equal(ms_pe_read(pe, 0x4ffc, b, 4), MS_OK);
    assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
    assert_int_equal(ms_pe_read(pe, 0x4ffc, b, 8), MS_ERR_FORMAT);
    /* Between the headers and .text nothing is mapped. */
    assert_int_equal(ms_pe_file_read(f, 0x800, b, 4), MS_ERR_NOT_PRESENT);
    ms_pe_file_close(f);
    free(file);
    free(img);
}

static ms_status parse_bytes(const uint8_t *img, size_t len)
{
    ms_pe_file *f = NULL;
    ms_status st = ms_pe_file_from_buffer(img, len, &f);
    ms_pe_file_close(f);
    return st;
}

static void test_bad_headers(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    uint8_t *bad = malloc(IMG_SIZE);
    assert_non_null(bad);

    assert_int_equal(parse_bytes(img, 0x20), MS_ERR_NOT_PRESENT);
    assert_int_equal(parse_bytes(img, NT + 10), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "NT headers"));
    assert_int_equal(parse_bytes(img, NT + 24 + 0x20), MS_ERR_NOT_PRESENT);
    assert_int_equal(parse_bytes(img, sec_hdr(1, 2)), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "section table"));
    assert_int_equal(parse_bytes(img, 0), MS_ERR_NOT_PRESENT);

#define MUTATE(stmt, expect)                         \
    do {                                             \
        memcpy(bad, img, IMG_SIZE);                  \
        stmt;                                        \
        assert_int_equal(parse_bytes(bad, IMG_SIZE), expect); \
    } while (0)

    MUTATE(bad[1] = 'X', MS_ERR_FORMAT);
    MUTATE(put32(bad, 0x3c, 0xFFFFFF00u), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "e_lfanew"));
    MUTATE(put32(bad, 0x3c, 0xFFF0), MS_ERR_NOT_PRESENT);
    MUTATE(put32(bad, 0x3c, 0x82), MS_ERR_FORMAT);
    MUTATE(bad[NT + 1] = 'X', MS_ERR_FORMAT);
    MUTATE(put16(bad, NT + 20, 8), MS_ERR_FORMAT);
    MUTATE(put16(bad, NT + 20, 0xFFFF), MS_ERR_FORMAT);
    MUTATE(put16(bad, NT + 24, 0x107), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "magic"));
    MUTATE(put16(bad, NT + 6, 0xFFFF), MS_ERR_LIMIT);
    assert_non_null(strstr(ms_last_error(), "NumberOfSections"));
    MUTATE(put16(bad, NT + 6, 97), MS_ERR_LIMIT);
    MUTATE(put32(bad, NT + 24 + 56, 0), MS_ERR_FORMAT);
    MUTATE(put32(bad, NT + 24 + 56, 0xF0000000u), MS_ERR_LIMIT);
    /* PE32 magic inside a 0xF0-byte header is fine; a 64-bit magic in a
     * header too short for PE32+ is not. */
    MUTATE((put16(bad, NT + 24, 0x20b), put16(bad, NT + 20, 100)), MS_ERR_FORMAT);

    /* Absurd NumberOfRvaAndSizes is clipped to what the header holds. */
    memcpy(bad, img, IMG_SIZE);
    put32(bad, NT + 24 + 108, 0xFFFFFFFFu);
    mem_image m = {bad, IMG_SIZE, {0}, 0, MS_OK};
    ms_pe pe;
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    assert_int_equal(pe.datadir_count, 16);
    /* A section past SizeOfImage is kept with no extent. */
    put32(bad, sec_hdr(1, 2) + 12, 0x90000);
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    assert_int_equal(pe.sections[2].virtual_size, 0);
    assert_null(ms_pe_section_at(&pe, 0x90000));
    free(bad);
    free(img);
}

static void parse_ok(uint8_t *img, ms_pe *pe, mem_image *m)
{
    *m = (mem_image){img, IMG_SIZE, {0}, 0, MS_OK};
    assert_int_equal(parse_mem(m, pe), MS_OK);
}

static void test_bad_debug(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    mem_image m;
    ms_pe pe;
    ms_pe_codeview cv;

    put32(img, DEBUG_RVA + 28 + 20, 0x7FFFFFF0u);
    parse_ok(img, &pe, &m);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "SizeOfImage"));

    put32(img, DEBUG_RVA + 28 + 20, CV_RVA);
    memcpy(img + CV_RVA, "XXXX", 4);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "RSDS"));

    /* A name without a NUL is cut at the record's end; a huge size is capped. */
    memcpy(img + CV_RVA, "RSDS", 4);
    memset(img + CV_RVA + 24, 'A', 0x1000);
    put32(img, DEBUG_RVA + 28 + 16, 0xFFFFFFFFu);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_OK);
    assert_int_equal(strlen(cv.pdb_name), sizeof cv.pdb_name - 1);

    /* No CodeView entry at all. */
    put32(img, DEBUG_RVA + 28 + 12, 4);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_ERR_NOT_FOUND);

    /* Debug directory size of 0xFFFFFFFF: capped entry count, no hang. */
    put32(img, datadir_off(1, MS_PE_DIR_DEBUG) + 4, 0xFFFFFFFFu);
    parse_ok(img, &pe, &m);
    assert_int_not_equal(ms_pe_codeview_get(&pe, &cv), MS_OK);

    put32(img, datadir_off(1, MS_PE_DIR_DEBUG), 0);
    parse_ok(img, &pe, &m);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_ERR_NOT_FOUND);
    free(img);
}

static void test_bad_exports(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    mem_image m;
    ms_pe pe;
    uint32_t rva;
    char name[8];
    parse_ok(img, &pe, &m);

    assert_int_equal(ms_pe_export_name(&pe, name, sizeof name), MS_ERR_LIMIT);
    put32(img, EXPORT_RVA + 24, 0x7FFFFFFFu);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_LIMIT);
    put32(img, EXPORT_RVA + 24, 60000);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_FORMAT);
    put32(img, EXPORT_RVA + 24, 2);
    put32(img, EXPORT_RVA + 20, 1);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "ordinal"));
    put32(img, EXPORT_RVA + 20, 2);
    put32(img, 0x2244, EXPORT_RVA + 0x10);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_UNSUPPORTED);
    put32(img, 0x2244, 0xFFFFFF);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_FORMAT);
    /* A name pointing outside the image is skipped, not fatal. */
    put32(img, 0x2244, 0x1020);
    put32(img, 0x2250, 0xFFFFFFF0u);
    assert_int_equal(ms_pe_export_find(&pe, "Alpha", &rva), MS_ERR_NOT_FOUND);
    assert_int_equal(ms_pe_export_find(&pe, "Beta", &rva), MS_OK);
    assert_int_equal(rva, 0x1010);
    /* A name that never ends. */
    put32(img, EXPORT_RVA + 12, 0x4000);
    memset(img + 0x4000, 'x', 0x1000);
    assert_int_equal(ms_pe_export_name(&pe, name, sizeof name), MS_ERR_LIMIT);
    char big[0x2000];
    assert_int_equal(ms_pe_export_name(&pe, big, sizeof big), MS_ERR_FORMAT);
    free(img);
}

static void test_bad_resources(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    mem_image m;
    ms_pe pe;
    ms_pe_version v;
    parse_ok(img, &pe, &m);

    /* The name level points back at the root: a loop. */
    put32(img, RSRC_RVA + 0x2c, 0x80000000u);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "loop"));
    /* The language level points at itself. */
    put32(img, RSRC_RVA + 0x2c, 0x80000030u);
    put32(img, RSRC_RVA + 0x44, 0x80000030u);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put32(img, RSRC_RVA + 0x44, 0x48);
    /* A type directory pointing at data. */
    put32(img, RSRC_RVA + 20, 0x18);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put32(img, RSRC_RVA + 20, 0x80000018u);
    /* Offsets outside the resource directory. */
    put32(img, RSRC_RVA + 0x2c, 0x80FFFFF0u);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put32(img, RSRC_RVA + 0x2c, 0x80000030u);
    /* Absurd entry counts. */
    put16(img, RSRC_RVA + 12, 0xFFFF);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_LIMIT);
    put16(img, RSRC_RVA + 12, 100);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put16(img, RSRC_RVA + 12, 0);
    /* No RT_VERSION. */
    put32(img, RSRC_RVA + 16, 3);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_NOT_FOUND);
    put32(img, RSRC_RVA + 16, 16);
    /* Bad version blobs. */
    put32(img, RSRC_RVA + 0x4c, 0xFFFFFFFFu);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put32(img, RSRC_RVA + 0x4c, 0x5c);
    put32(img, VERSION_RVA + 40, 0x12345678);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "signature"));
    put32(img, VERSION_RVA + 40, 0xFEEF04BD);
    img[VERSION_RVA + 6] = 'X';
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    img[VERSION_RVA + 6] = 'V';
    put32(img, RSRC_RVA + 0x48, 0xFFFFFFF0u);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_FORMAT);
    put32(img, RSRC_RVA + 0x48, VERSION_RVA);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_OK);
    free(img);
}

static void test_missing_pages(void **state)
{
    (void)state;
    uint8_t *img = build_image(1, 0);
    ms_pe pe;
    ms_pe_codeview cv;
    ms_pe_version v;
    uint32_t rva;

    mem_image m = {img, IMG_SIZE, {0}, 1, MS_ERR_NOT_PRESENT};
    assert_int_equal(parse_mem(&m, &pe), MS_ERR_NOT_PRESENT);
    assert_non_null(strstr(ms_last_error(), "DOS header"));
    m.missing_status = MS_ERR_PAGED_OUT;
    assert_int_equal(parse_mem(&m, &pe), MS_ERR_PAGED_OUT);

    /* .rdata's second page holds the version data: everything else reads. */
    m = (mem_image){img, IMG_SIZE, {0x3000}, 1, MS_ERR_PAGED_OUT};
    put32(img, RSRC_RVA + 0x48, 0x3000);
    memcpy(img + 0x3000, img + VERSION_RVA, 0x5c);
    assert_int_equal(parse_mem(&m, &pe), MS_OK);
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_OK);
    assert_int_equal(ms_pe_export_find(&pe, "Beta", &rva), MS_OK);
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_ERR_PAGED_OUT);
    m.nmissing = 0;
    assert_int_equal(ms_pe_version_get(&pe, &v), MS_OK);

    /* A string ending just before a missing page still reads. */
    memcpy(img + 0x2ffa, "e.sys", 6);
    put32(img, EXPORT_RVA + 12, 0x2ffa);
    m.nmissing = 1;
    m.missing_status = MS_ERR_NOT_PRESENT;
    char name[32];
    assert_int_equal(ms_pe_export_name(&pe, name, sizeof name), MS_OK);
    assert_string_equal(name, "e.sys");
    /* One that runs into it fails with the page status. */
    memcpy(img + 0x2ffa, "abcdef", 6);
    assert_int_equal(ms_pe_export_name(&pe, name, sizeof name), MS_ERR_NOT_PRESENT);

    /* The CodeView page missing: reported as such, not as "no record". */
    m.missing[0] = 0x2000;
    assert_int_equal(ms_pe_codeview_get(&pe, &cv), MS_ERR_NOT_PRESENT);
    free(img);
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
    const ms_pe *pe = ms_pe_file_pe(f);
    assert_int_equal(pe->machine, 0x8664);
    assert_true(pe->is_64);
    assert_int_equal(pe->size_of_image, 0x2ed000);
    assert_int_equal(pe->section_count, 16);
    assert_string_equal(pe->sections[2].name, ".data");
    assert_int_equal(pe->sections[2].rva, 0x1f4000);
    assert_int_equal(pe->sections[2].virtual_size, 0x17d24);
    ms_pe_codeview cv;
    assert_int_equal(ms_pe_codeview_get(pe, &cv), MS_OK);
    assert_int_equal(cv.kind, MS_PE_CV_RSDS);
    assert_string_equal(cv.guid, "FBC0BBA45083A595E389FB48C1AB9A20");
    assert_int_equal(cv.age, 1);
    assert_string_equal(cv.pdb_name, "tcpip.pdb");
    ms_pe_version v;
    assert_int_equal(ms_pe_version_get(pe, &v), MS_OK);
    assert_string_equal(v.file_string, "10.0.19041.4780");
    char name[32];
    assert_int_equal(ms_pe_export_name(pe, name, sizeof name), MS_OK);
    assert_string_equal(name, "TCPIP.SYS");
    ms_pe_file_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pe32plus),     cmocka_unit_test(test_pe32),
        cmocka_unit_test(test_nb10),         cmocka_unit_test(test_file_layout),
        cmocka_unit_test(test_bad_headers),  cmocka_unit_test(test_bad_debug),
        cmocka_unit_test(test_bad_exports),  cmocka_unit_test(test_bad_resources),
        cmocka_unit_test(test_missing_pages), cmocka_unit_test(test_real_tcpip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

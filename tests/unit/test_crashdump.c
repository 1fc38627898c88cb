/* Windows crash dumps through the public image API, on files built by
 * support/crashdump_builder.c, plus the real triage samples in ../shared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsift/image.h"
#include "support/crashdump_builder.h"

#define PAGE 0x1000u

/* Write buf to a temporary file and open it; the file is unlinked at once
 * (the image keeps its descriptor). */
static ms_status open_buf(const uint8_t *buf, size_t len, ms_image **img)
{
    char path[512];
    assert_int_equal(cdb_write_temp(buf, len, path, sizeof path), 0);
    ms_status st = ms_image_open(path, NULL, img);
    unlink(path);
    return st;
}

static void build(const cdb_spec *s, uint8_t **buf, size_t *len)
{
    assert_int_equal(cdb_build(s, buf, len), 0);
}

static ms_image *open_spec(const cdb_spec *s)
{
    uint8_t *buf;
    size_t len;
    build(s, &buf, &len);
    ms_image *img = NULL;
    ms_status st = open_buf(buf, len, &img);
    free(buf);
    if (st != MS_OK)
        fail_msg("ms_image_open: %s: %s", ms_status_name(st), ms_last_error());
    return img;
}

static void expect_fail(const uint8_t *buf, size_t len, ms_status want, const char *needle1, const char *needle2)
{
    ms_image *img = NULL;
    ms_status st = open_buf(buf, len, &img);
    if (st == MS_OK) {
        ms_image_close(img);
        fail_msg("expected %s (%s), but the image opened", ms_status_name(want), needle1);
    }
    if (st != want)
        fail_msg("expected %s, got %s: %s", ms_status_name(want), ms_status_name(st), ms_last_error());
    if (strstr(ms_last_error(), needle1) == NULL || (needle2 && strstr(ms_last_error(), needle2) == NULL))
        fail_msg("message '%s' lacks '%s'/'%s'", ms_last_error(), needle1, needle2 ? needle2 : "");
}

static void expect_spec_fail(const cdb_spec *s, ms_status want, const char *n1, const char *n2)
{
    uint8_t *buf;
    size_t len;
    build(s, &buf, &len);
    expect_fail(buf, len, want, n1, n2);
    free(buf);
}

/* Every page of every run reads back as the builder wrote it. */
static void check_runs(ms_image *img, const cdb_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)runs[i].page_count * PAGE;
        uint64_t start = runs[i].base_page * PAGE;
        uint8_t *got = malloc(len);
        assert_non_null(got);
        assert_int_equal(ms_image_read(img, start, got, len), MS_OK);
        for (size_t k = 0; k < len; k++)
            if (got[k] != cdb_page_byte(start + k))
                fail_msg("byte at 0x%llx: got %02x want %02x", (unsigned long long)(start + k), got[k],
                         cdb_page_byte(start + k));
        free(got);
    }
}

static uint64_t run_pages(const cdb_run *runs, size_t n)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t += runs[i].page_count;
    return t;
}

/* A read straddling two runs and the gap between them: data, zeros, data. */
static void check_gap_read(ms_image *img, uint64_t before_end, uint64_t after_start)
{
    uint64_t from = before_end - 0x800, to = after_start + 0x800;
    size_t len = (size_t)(to - from);
    uint8_t *got = malloc(len);
    assert_non_null(got);
    memset(got, 0xcc, len);
    assert_int_equal(ms_image_read(img, from, got, len), MS_ERR_NOT_PRESENT);
    for (size_t k = 0; k < len; k++) {
        uint64_t pa = from + k;
        uint8_t want = (pa < before_end || pa >= after_start) ? cdb_page_byte(pa) : 0;
        if (got[k] != want)
            fail_msg("gap read at 0x%llx: got %02x want %02x", (unsigned long long)pa, got[k], want);
    }
    free(got);
}

static const cdb_run full_runs[] = {{0x1, 0x9e}, {0x100, 0x20}, {0x200, 0x3}, {0x1000, 0x1}};

static void check_full(int is_64bit)
{
    cdb_spec s;
    cdb_spec_init(&s, is_64bit, 1);
    s.runs = full_runs;
    s.run_count = 4;
    s.comment = "manual crash for testing";
    s.attributes_set = 1;
    s.attributes = 0x2;
    ms_image *img = open_spec(&s);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, is_64bit ? MS_FORMAT_CRASH64 : MS_FORMAT_CRASH32);
    assert_int_equal(info->has_physical_memory, 1);
    assert_int_equal(info->range_count, 4);
    assert_int_equal(info->present_bytes, run_pages(full_runs, 4) * PAGE);
    assert_int_equal(info->max_address, 0x1001000);
    const ms_dump_header *h = &info->header;
    assert_int_equal(h->has_header, 1);
    assert_int_equal(h->is_64bit, is_64bit);
    assert_int_equal(h->dump_type, MS_DUMP_FULL);
    assert_int_equal(h->major_version, 0xf);
    assert_int_equal(h->minor_version, is_64bit ? 19041 : 2600);
    assert_int_equal(h->machine_type, is_64bit ? MS_MACHINE_AMD64 : MS_MACHINE_I386);
    assert_int_equal(h->num_processors, 2);
    assert_int_equal(h->bugcheck_code, 0xe2);
    assert_int_equal(h->bugcheck_params[0], 0x11);
    assert_int_equal(h->bugcheck_params[1], 0);
    assert_int_equal(h->bugcheck_params[3], 0x44);
    assert_int_equal(h->system_time, 0x01d707f23dbb3399ull);
    assert_int_equal(h->system_uptime, 0x23bc1e9ull);
    assert_int_equal(h->attributes, 0x2);
    assert_int_equal(h->product_type, 1);
    assert_int_equal(h->suite_mask, 0x110);
    assert_string_equal(h->comment, "manual crash for testing");
    assert_int_equal(h->bitmap_pages, 0);
    if (is_64bit) {
        assert_int_equal(h->directory_table_base, 0x1ad000);
        assert_int_equal(h->pfn_database, 0xfffffa8000000000ull);
        assert_int_equal(h->ps_loaded_module_list, 0xfffff8047c62a390ull);
        assert_int_equal(h->ps_active_process_head, 0xfffff8047c61e200ull);
        assert_int_equal(h->kd_debugger_data_block, 0xfffff8047c600b20ull);
        assert_int_equal(h->pae_enabled, -1);
    } else {
        /* 32-bit pointers are kept as stored, not sign-extended */
        assert_int_equal(h->directory_table_base, 0x39000);
        assert_int_equal(h->pfn_database, 0x80c00000u);
        assert_int_equal(h->ps_loaded_module_list, 0x8055a420u);
        assert_int_equal(h->ps_active_process_head, 0x80560bd8u);
        assert_int_equal(h->kd_debugger_data_block, 0x80545ae0u);
        assert_int_equal(h->pae_enabled, 1);
    }
    check_runs(img, full_runs, 4);
    check_gap_read(img, 0x9f000, 0x100000);
    check_gap_read(img, 0x120000, 0x200000);

    ms_phys_range r;
    assert_int_equal(ms_image_range(img, 1, &r), MS_OK);
    assert_int_equal(r.start, 0x100000);
    assert_int_equal(r.length, 0x20000);

    uint8_t b[16];
    memset(b, 0xcc, sizeof b);
    assert_int_equal(ms_image_read(img, 0, b, sizeof b), MS_ERR_NOT_PRESENT);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], 0);
    assert_int_equal(ms_image_read(img, 0x2000000, b, sizeof b), MS_ERR_NOT_PRESENT);
    ms_image_close(img);
}

static void test_full64(void **state)
{
    (void)state;
    check_full(1);
}

static void test_full32(void **state)
{
    (void)state;
    check_full(0);
}

/* Runs crossing a 64-bit word, a whole word, and isolated pages. */
static const cdb_run bitmap_runs[] = {{1, 3}, {60, 10}, {128, 64}, {200, 1}, {255, 2}, {300, 1}};

static void check_bitmap(int is_64bit, uint32_t dump_type, uint32_t signature, int summary_layout)
{
    cdb_spec s;
    cdb_spec_init(&s, is_64bit, dump_type);
    s.runs = bitmap_runs;
    s.run_count = 6;
    s.bitmap_signature = signature;
    s.summary_layout = summary_layout;
    s.bitmap_bits = 0x1000;
    ms_image *img = open_spec(&s);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, is_64bit ? MS_FORMAT_CRASH64 : MS_FORMAT_CRASH32);
    assert_int_equal(info->header.dump_type, dump_type);
    assert_int_equal(info->has_physical_memory, 1);
    assert_int_equal(info->range_count, 6);
    assert_int_equal(info->header.bitmap_pages, run_pages(bitmap_runs, 6));
    assert_int_equal(info->header.bitmap_bits, 0x1000);
    assert_int_equal(info->present_bytes, run_pages(bitmap_runs, 6) * PAGE);
    assert_int_equal(info->max_address, 301 * PAGE);
    /* the PhysicalMemoryBlock is PAGE fill in bitmap dumps and is ignored */
    assert_int_equal(info->header.minor_version, is_64bit ? 19041 : 2600);
    check_runs(img, bitmap_runs, 6);
    check_gap_read(img, 4 * PAGE, 60 * PAGE);
    check_gap_read(img, 192 * PAGE, 200 * PAGE);
    uint8_t b[8];
    assert_int_equal(ms_image_read(img, 0, b, sizeof b), MS_ERR_NOT_PRESENT);
    ms_image_close(img);
}

static void test_bitmap5_fdmp_64(void **state)
{
    (void)state;
    check_bitmap(1, 5, CDB_FDMP, 0);
}

static void test_bitmap6_sdmp_64(void **state)
{
    (void)state;
    check_bitmap(1, 6, CDB_SDMP, 0);
}

static void test_bitmap5_sdmp_32(void **state)
{
    (void)state;
    check_bitmap(0, 5, CDB_SDMP, 0);
}

static void test_bitmap6_fdmp_32(void **state)
{
    (void)state;
    check_bitmap(0, 6, CDB_FDMP, 0);
}

static void test_summary32_legacy(void **state)
{
    (void)state;
    check_bitmap(0, 2, CDB_SDMP, CDB_SUMMARY_LEGACY);
}

static void test_summary64_both_layouts(void **state)
{
    (void)state;
    check_bitmap(1, 2, CDB_SDMP, CDB_SUMMARY_LEGACY);
    check_bitmap(1, 2, CDB_SDMP, CDB_SUMMARY_BITMAP);
}

/* A 64 GiB machine: 16M bits, mostly all-zero and all-one words. */
static void test_bitmap_large(void **state)
{
    (void)state;
    static const cdb_run runs[] = {{0, 256}, {0x400000, 3}, {0xfffff0, 16}};
    cdb_spec s;
    cdb_spec_init(&s, 1, 6);
    s.runs = runs;
    s.run_count = 3;
    s.bitmap_bits = 1u << 24;
    ms_image *img = open_spec(&s);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->range_count, 3);
    assert_int_equal(info->header.bitmap_bits, 1u << 24);
    assert_int_equal(info->header.bitmap_pages, 275);
    assert_int_equal(info->max_address, 64ull << 30);
    check_runs(img, runs, 3);
    ms_image_close(img);
}

static void check_no_memory(int is_64bit, uint32_t dump_type)
{
    cdb_spec s;
    cdb_spec_init(&s, is_64bit, dump_type);
    ms_image *img = open_spec(&s);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, is_64bit ? MS_FORMAT_CRASH64 : MS_FORMAT_CRASH32);
    assert_int_equal(info->header.dump_type, dump_type);
    assert_int_equal(info->has_physical_memory, 0);
    assert_int_equal(info->range_count, 0);
    assert_int_equal(info->header.num_processors, 2);
    assert_int_equal(info->header.attributes, 0);
    assert_string_equal(info->header.comment, "");
    uint8_t b[4];
    assert_int_equal(ms_image_read(img, 0x1000, b, sizeof b), MS_ERR_NOT_PRESENT);
    ms_image_close(img);
}

static void test_triage_and_header_only(void **state)
{
    (void)state;
    check_no_memory(1, 4);
    check_no_memory(0, 4);
    check_no_memory(1, 3);
    check_no_memory(0, 3);
}

static void test_encrypted(void **state)
{
    (void)state;
    for (int is_64bit = 0; is_64bit <= 1; is_64bit++) {
        cdb_spec s;
        cdb_spec_init(&s, is_64bit, 6);
        s.runs = bitmap_runs;
        s.run_count = 6;
        s.attributes_set = 1;
        s.attributes = 1u << 8;
        expect_spec_fail(&s, MS_ERR_UNSUPPORTED, "encrypted", "without the key");
    }
}

static void test_comment_not_printable(void **state)
{
    (void)state;
    cdb_spec s;
    cdb_spec_init(&s, 1, 4);
    s.comment = "bad\x01text";
    ms_image *img = open_spec(&s);
    assert_string_equal(ms_image_get_info(img)->header.comment, "");
    ms_image_close(img);
}

static void test_truncated_header(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    cdb_spec_init(&s, 1, 1);
    s.runs = full_runs;
    s.run_count = 1;
    build(&s, &buf, &len);
    expect_fail(buf, 0x1800, MS_ERR_TRUNCATED, "0x2000", "0x1800");
    free(buf);
    cdb_spec_init(&s, 0, 1);
    s.runs = full_runs;
    s.run_count = 1;
    build(&s, &buf, &len);
    expect_fail(buf, 0x200, MS_ERR_TRUNCATED, "0x1000", "0x200");
    free(buf);
}

static void test_bad_run_count(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    cdb_spec_init(&s, 1, 1);
    s.runs = full_runs;
    s.run_count = 2;
    build(&s, &buf, &len);
    cdb_put32(buf, 0x88, 43);
    expect_fail(buf, len, MS_ERR_FORMAT, "NumberOfRuns is 43", "at most 42");
    cdb_put32(buf, 0x88, 0);
    expect_fail(buf, len, MS_ERR_FORMAT, "no physical memory runs", NULL);
    cdb_put32(buf, 0x88, CDB_PAGE_FILL);
    expect_fail(buf, len, MS_ERR_FORMAT, "PAGE fill", NULL);
    free(buf);

    cdb_spec_init(&s, 0, 1);
    s.runs = full_runs;
    s.run_count = 2;
    build(&s, &buf, &len);
    cdb_put32(buf, 0x64, 87);
    expect_fail(buf, len, MS_ERR_FORMAT, "NumberOfRuns is 87", "at most 86");
    cdb_put32(buf, 0x64, 0xffffffffu);
    expect_fail(buf, len, MS_ERR_FORMAT, "NumberOfRuns is 4294967295", NULL);
    free(buf);
}

static void test_runs_past_eof(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    cdb_spec_init(&s, 1, 1);
    s.runs = full_runs;
    s.run_count = 2;
    build(&s, &buf, &len);
    /* drop the last page of run 1 */
    expect_fail(buf, len - PAGE, MS_ERR_TRUNCATED, "run 1", "truncated");
    /* a run count that needs far more pages than the file has */
    cdb_put64(buf, 0xa0, 0xffffffffull);
    expect_fail(buf, len, MS_ERR_TRUNCATED, "run 0", "the file ends at");
    free(buf);
}

static void test_runs_out_of_order(void **state)
{
    (void)state;
    static const cdb_run runs[] = {{0x100, 2}, {0x10, 2}};
    cdb_spec s;
    cdb_spec_init(&s, 0, 1);
    s.runs = runs;
    s.run_count = 2;
    expect_spec_fail(&s, MS_ERR_FORMAT, "run 1 starts at page 0x10", "must ascend");
    static const cdb_run huge[] = {{0xffffffffffffull, 1}};
    cdb_spec_init(&s, 1, 1);
    s.runs = huge;
    s.run_count = 1;
    expect_spec_fail(&s, MS_ERR_FORMAT, "beyond physical page", NULL);
}

static void bitmap_spec(cdb_spec *s, int is_64bit)
{
    cdb_spec_init(s, is_64bit, 5);
    s->runs = bitmap_runs;
    s->run_count = 6;
    s->bitmap_bits = 0x1000;
}

static void test_bitmap_too_many_bits(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    bitmap_spec(&s, 1);
    build(&s, &buf, &len);
    /* 81 pages present, file cut after 79 of them */
    expect_fail(buf, len - 2 * PAGE, MS_ERR_TRUNCATED, "marks 0x51 pages present", "only 0x4f pages");
    free(buf);
}

static void test_bitmap_size_absurd(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    bitmap_spec(&s, 1);
    build(&s, &buf, &len);
    cdb_put64(buf, 0x2000 + 0x30, 1ull << 41);
    expect_fail(buf, len, MS_ERR_FORMAT, "BitmapSize 0x20000000000 bits is absurd", NULL);
    cdb_put64(buf, 0x2000 + 0x30, 0);
    expect_fail(buf, len, MS_ERR_FORMAT, "BitmapSize 0x0 bits", NULL);
    /* big, but the bitmap would then run over the first page */
    cdb_put64(buf, 0x2000 + 0x30, 0x100000);
    expect_fail(buf, len, MS_ERR_FORMAT, "ends at", "after the first page");
    free(buf);

    bitmap_spec(&s, 0);
    build(&s, &buf, &len);
    cdb_put64(buf, 0x1000 + 0x28, 0x1001);
    expect_fail(buf, len, MS_ERR_FORMAT, "Pages 0x1001 is more than BitmapSize 0x1000", NULL);
    free(buf);
}

static void test_bitmap_header_size_bad(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    bitmap_spec(&s, 1);
    build(&s, &buf, &len);
    size_t off = cdb_bitmap_header_size_offset(&s);
    cdb_put64(buf, off, 0x3010);
    expect_fail(buf, len, MS_ERR_FORMAT, "HeaderSize 0x3010 is not a multiple", NULL);
    cdb_put64(buf, off, 0x100000000ull);
    expect_fail(buf, len, MS_ERR_TRUNCATED, "HeaderSize 0x100000000 is past the end", NULL);
    free(buf);

    /* legacy 32-bit summary: the u32 HeaderSize at +0x0c */
    cdb_spec_init(&s, 0, 2);
    s.runs = bitmap_runs;
    s.run_count = 6;
    build(&s, &buf, &len);
    off = cdb_bitmap_header_size_offset(&s);
    assert_int_equal(off, 0x100c);
    cdb_put32(buf, off, 0x2004);
    expect_fail(buf, len, MS_ERR_FORMAT, "SUMMARY_DUMP32 header: HeaderSize 0x2004 is not a multiple",
                "bitmap header does not fit either");
    free(buf);
}

static void test_bitmap_bad_signature(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    bitmap_spec(&s, 1);
    build(&s, &buf, &len);
    memcpy(buf + 0x2000, "PAGE", 4);
    expect_fail(buf, len, MS_ERR_FORMAT, "SDMPDUMP or FDMPDUMP", "45474150");
    free(buf);
}

static void test_unknown_dump_type(void **state)
{
    (void)state;
    uint8_t *buf;
    size_t len;
    cdb_spec s;
    cdb_spec_init(&s, 1, 4);
    build(&s, &buf, &len);
    cdb_put32(buf, 0xf98, 0x42);
    expect_fail(buf, len, MS_ERR_FORMAT, "unknown DumpType 0x42", "expected 1 (full)");
    cdb_put32(buf, 0xf98, 8);
    expect_fail(buf, len, MS_ERR_UNSUPPORTED, "DumpType 0x8", "RDMP");
    free(buf);
    cdb_spec_init(&s, 0, 4);
    build(&s, &buf, &len);
    cdb_put32(buf, 0xf88, CDB_PAGE_FILL);
    expect_fail(buf, len, MS_ERR_FORMAT, "unknown DumpType 0x45474150", NULL);
    free(buf);
}

/* ---- real samples ---------------------------------------------------- */

static ms_image *open_sample(const char *name)
{
    const char *shared = getenv("MEMSIFT_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/%s", shared ? shared : "../shared", name);
    if (access(path, R_OK) != 0) {
        print_message("skipping: sample %s is absent (set MEMSIFT_SHARED)\n", path);
        return NULL;
    }
    ms_image *img = NULL;
    ms_status st = ms_image_open(path, NULL, &img);
    if (st != MS_OK)
        fail_msg("%s: %s: %s", path, ms_status_name(st), ms_last_error());
    return img;
}

/* Values checked by hand with xxd against the header offsets. */
static void test_sample_triage_x64(void **state)
{
    (void)state;
    ms_image *img = open_sample("triage_x64.dmp");
    if (img == NULL)
        skip();
    const ms_image_info *info = ms_image_get_info(img);
    const ms_dump_header *h = &info->header;
    assert_int_equal(info->format, MS_FORMAT_CRASH64);
    assert_int_equal(info->has_physical_memory, 0);
    assert_int_equal(h->dump_type, MS_DUMP_TRIAGE);
    assert_int_equal(h->major_version, 0xf);
    assert_int_equal(h->minor_version, 19041);
    assert_int_equal(h->machine_type, MS_MACHINE_AMD64);
    assert_int_equal(h->num_processors, 16);
    assert_int_equal(h->bugcheck_code, 0x1000007e);
    assert_int_equal(h->bugcheck_params[0], 0xffffffffc0000005ull);
    assert_int_equal(h->bugcheck_params[1], 0xfffff8048b58334cull);
    assert_int_equal(h->bugcheck_params[2], 0xffff850429891ee8ull);
    assert_int_equal(h->bugcheck_params[3], 0xffff850429891720ull);
    assert_int_equal(h->directory_table_base, 0x1ad000);
    assert_int_equal(h->pfn_database, 0xfffff8047c6fc500ull);
    assert_int_equal(h->ps_loaded_module_list, 0xfffff8047c62a390ull);
    assert_int_equal(h->ps_active_process_head, 0xfffff8047c61e200ull);
    assert_int_equal(h->kd_debugger_data_block, 0xfffff8047c600b20ull);
    /* 2021-02-21 01:38:22.98 UTC */
    assert_int_equal(h->system_time, 0x01d707f23dbb3399ull);
    assert_int_equal(h->system_uptime, 0x23bc1e9ull);
    assert_int_equal(h->product_type, 1);
    assert_int_equal(h->suite_mask, 0x110);
    /* Attributes is the unset PAGE fill in this file, not "encrypted" */
    assert_int_equal(h->attributes, 0);
    assert_string_equal(h->comment, "");
    assert_int_equal(h->pae_enabled, -1);
    ms_image_close(img);
}

static void test_sample_triage_arm64(void **state)
{
    (void)state;
    ms_image *img = open_sample("triage_arm64.dmp");
    if (img == NULL)
        skip();
    const ms_image_info *info = ms_image_get_info(img);
    const ms_dump_header *h = &info->header;
    assert_int_equal(info->format, MS_FORMAT_CRASH64);
    assert_int_equal(info->has_physical_memory, 0);
    assert_int_equal(h->dump_type, MS_DUMP_TRIAGE);
    assert_int_equal(h->minor_version, 22000);
    assert_int_equal(h->machine_type, MS_MACHINE_ARM64);
    assert_int_equal(h->num_processors, 8);
    assert_int_equal(h->bugcheck_code, 0x1c8);
    assert_int_equal(h->bugcheck_params[0], 0x1b58);
    assert_int_equal(h->bugcheck_params[1], 0xfffff803f3a20860ull);
    assert_int_equal(h->directory_table_base, 0x946aa000ull);
    assert_int_equal(h->pfn_database, 0xfffff803f3b19960ull);
    assert_int_equal(h->ps_loaded_module_list, 0xfffff803f3a2aa20ull);
    assert_int_equal(h->ps_active_process_head, 0xfffff803f3a1d1c0ull);
    assert_int_equal(h->kd_debugger_data_block, 0xfffff803f3a00d00ull);
    /* 2021-09-14 02:51:58 UTC */
    assert_int_equal(h->system_time, 0x01d7a9137c0dbdd7ull);
    assert_int_equal(h->attributes, 0);
    ms_image_close(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full64),
        cmocka_unit_test(test_full32),
        cmocka_unit_test(test_bitmap5_fdmp_64),
        cmocka_unit_test(test_bitmap6_sdmp_64),
        cmocka_unit_test(test_bitmap5_sdmp_32),
        cmocka_unit_test(test_bitmap6_fdmp_32),
        cmocka_unit_test(test_summary32_legacy),
        cmocka_unit_test(test_summary64_both_layouts),
        cmocka_unit_test(test_bitmap_large),
        cmocka_unit_test(test_triage_and_header_only),
        cmocka_unit_test(test_encrypted),
        cmocka_unit_test(test_comment_not_printable),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_bad_run_count),
        cmocka_unit_test(test_runs_past_eof),
        cmocka_unit_test(test_runs_out_of_order),
        cmocka_unit_test(test_bitmap_too_many_bits),
        cmocka_unit_test(test_bitmap_size_absurd),
        cmocka_unit_test(test_bitmap_header_size_bad),
        cmocka_unit_test(test_bitmap_bad_signature),
        cmocka_unit_test(test_unknown_dump_type),
        cmocka_unit_test(test_sample_triage_x64),
        cmocka_unit_test(test_sample_triage_arm64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

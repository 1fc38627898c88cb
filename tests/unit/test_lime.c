/* LiME images: range parsing, reads, and malformed headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memsift/image.h"

#define LIME_MAGIC 0x4C694D45u

static char g_path[600];

static int setup(void **state)
{
    (void)state;
    const char *base = getenv("MEMSIFT_TEST_TMP");
    snprintf(g_path, sizeof g_path, "%s/limetest.XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(g_path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path);
    return 0;
}

/* A LiME file being assembled in memory. */
typedef struct lime_buf {
    uint8_t *data;
    size_t len, cap;
} lime_buf;

static void lb_append(lime_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void lb_header(lime_buf *b, uint32_t magic, uint32_t version, uint64_t s, uint64_t e)
{
    uint8_t h[32] = {0};
    for (int i = 0; i < 4; i++) {
        h[i] = (uint8_t)(magic >> (8 * i));
        h[4 + i] = (uint8_t)(version >> (8 * i));
    }
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (uint8_t)(s >> (8 * i));
        h[16 + i] = (uint8_t)(e >> (8 * i));
    }
    lb_append(b, h, sizeof h);
}

/* A valid range whose bytes are a function of their physical address. */
static uint8_t phys_byte(uint64_t a)
{
    return (uint8_t)((a >> 12) * 31 + (a & 0xfff) * 7 + 1);
}

static void lb_range(lime_buf *b, uint64_t s, uint64_t e)
{
    lb_header(b, LIME_MAGIC, 1, s, e);
    for (uint64_t a = s; a <= e; a++) {
        uint8_t v = phys_byte(a);
        lb_append(b, &v, 1);
    }
}

static void lb_write(lime_buf *b)
{
    FILE *f = fopen(g_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
    assert_int_equal(fclose(f), 0);
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void expect_error(ms_status want, const char *words)
{
    ms_image *img = NULL;
    ms_clear_error();
    ms_status st = ms_image_open(g_path, NULL, &img);
    if (st != want || strstr(ms_last_error(), words) == NULL)
        print_error("got %s '%s', expected %s with '%s'\n", ms_status_name(st), ms_last_error(), ms_status_name(want),
                    words);
    assert_int_equal(st, want);
    assert_null(img);
    assert_non_null(strstr(ms_last_error(), words));
}

static void test_ranges_and_reads(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_range(&b, 0x1000, 0x2fff);
    lb_range(&b, 0x3000, 0x3fff);      /* adjacent in memory, not in the file */
    lb_range(&b, 0x10000, 0x10000);    /* one byte */
    lb_range(&b, 0x20000, 0x21fff);
    lb_write(&b);

    ms_image *img;
    assert_int_equal(ms_image_open(g_path, NULL, &img), MS_OK);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_LIME);
    assert_int_equal(info->compressed, 0);
    assert_int_equal(info->header.has_header, 0);
    assert_int_equal(info->range_count, 4);
    assert_int_equal(info->present_bytes, 0x2000 + 0x1000 + 1 + 0x2000);
    assert_int_equal(info->max_address, 0x22000);

    static const ms_phys_range want[] = {{0x1000, 0x2000}, {0x3000, 0x1000}, {0x10000, 1}, {0x20000, 0x2000}};
    for (size_t i = 0; i < 4; i++) {
        ms_phys_range r;
        assert_int_equal(ms_image_range(img, i, &r), MS_OK);
        assert_int_equal(r.start, want[i].start);
        assert_int_equal(r.length, want[i].length);
    }
    ms_phys_range r;
    assert_int_equal(ms_image_range(img, 4, &r), MS_ERR_ARG);

    /* Across the two adjacent ranges: the header between them is skipped. */
    uint8_t buf[0x2000];
    assert_int_equal(ms_image_read(img, 0x2800, buf, 0x1000), MS_OK);
    for (size_t i = 0; i < 0x1000; i++)
        assert_int_equal(buf[i], phys_byte(0x2800 + i));

    /* Into the gap after a range: zeros and NOT_PRESENT. */
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(ms_image_read(img, 0x3f00, buf, 0x200), MS_ERR_NOT_PRESENT);
    for (size_t i = 0; i < 0x100; i++)
        assert_int_equal(buf[i], phys_byte(0x3f00 + i));
    for (size_t i = 0x100; i < 0x200; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(ms_image_read(img, 0x10000, buf, 1), MS_OK);
    assert_int_equal(buf[0], phys_byte(0x10000));
    assert_int_equal(ms_image_read(img, 0xffff, buf, 3), MS_ERR_NOT_PRESENT);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[1], phys_byte(0x10000));
    assert_int_equal(buf[2], 0);

    const uint8_t *p;
    assert_int_equal(ms_image_map(img, 0x20010, 0x100, &p), MS_OK);
    assert_int_equal(p[0], phys_byte(0x20010));
    assert_int_equal(ms_image_map(img, 0x2f00, 0x200, &p), MS_ERR_UNSUPPORTED);
    ms_image_close(img);
}

static void test_bad_magic_in_second_header(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_range(&b, 0, 0xfff);
    lb_header(&b, 0x12345678, 1, 0x1000, 0x1fff);
    static uint8_t page[0x1000];
    lb_append(&b, page, sizeof page);
    lb_write(&b);
    expect_error(MS_ERR_FORMAT, "magic");
}

static void test_bad_version(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_header(&b, LIME_MAGIC, 2, 0, 0xfff);
    static uint8_t page[0x1000];
    lb_append(&b, page, sizeof page);
    lb_write(&b);
    expect_error(MS_ERR_UNSUPPORTED, "version 2");
}

static void test_end_before_start(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_header(&b, LIME_MAGIC, 1, 0x2000, 0x1fff);
    static uint8_t page[0x1000];
    lb_append(&b, page, sizeof page);
    lb_write(&b);
    expect_error(MS_ERR_FORMAT, "before it starts");
}

static void test_data_past_eof(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_range(&b, 0, 0xfff);
    lb_header(&b, LIME_MAGIC, 1, 0x1000, 0x1fff);
    static uint8_t page[0x800];
    lb_append(&b, page, sizeof page);
    lb_write(&b);
    expect_error(MS_ERR_TRUNCATED, "file ends");
}

static void test_huge_range_does_not_wrap(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_header(&b, LIME_MAGIC, 1, 0, UINT64_MAX - 1);
    lb_append(&b, "x", 1);
    lb_write(&b);
    expect_error(MS_ERR_TRUNCATED, "file ends");

    lb_header(&b, LIME_MAGIC, 1, 0, UINT64_MAX);
    lb_append(&b, "x", 1);
    lb_write(&b);
    expect_error(MS_ERR_FORMAT, "64-bit address space");
}

static void test_short_trailing_header(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_range(&b, 0, 0xfff);
    lb_append(&b, "EMiL\x01\0\0\0", 8);
    lb_write(&b);
    expect_error(MS_ERR_TRUNCATED, "cut short");
}

static void test_ranges_must_ascend(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_range(&b, 0x2000, 0x2fff);
    lb_range(&b, 0x1000, 0x1fff);
    lb_write(&b);
    expect_error(MS_ERR_FORMAT, "ascend");

    lb_range(&b, 0x1000, 0x2fff);
    lb_range(&b, 0x2000, 0x3fff);
    lb_write(&b);
    expect_error(MS_ERR_FORMAT, "ascend");
}

static void test_range_count_limit(void **state)
{
    (void)state;
    const size_t n = (1u << 20) + 1;
    lime_buf b = {0};
    b.cap = n * 33;
    b.data = malloc(b.cap);
    assert_non_null(b.data);
    for (size_t i = 0; i < n; i++)
        lb_range(&b, (uint64_t)i * 2, (uint64_t)i * 2);
    lb_write(&b);
    expect_error(MS_ERR_LIMIT, "more than 1048576 ranges");
}

/* Fewer than 32 bytes starting with the magic is not a LiME image. */
static void test_short_file_is_raw(void **state)
{
    (void)state;
    lime_buf b = {0};
    lb_append(&b, "EMiL\x01\0\0\0 too short", 18);
    lb_write(&b);
    ms_image *img;
    assert_int_equal(ms_image_open(g_path, NULL, &img), MS_OK);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_RAW);
    assert_int_equal(ms_image_get_info(img)->max_address, 18);
    ms_image_close(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ranges_and_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_magic_in_second_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_before_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_past_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_range_does_not_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_trailing_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ranges_must_ascend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_count_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_file_is_raw, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

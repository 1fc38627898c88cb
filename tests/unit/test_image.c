/* The image layer through its public interface: raw images, format
 * detection by content, and files that are not images at all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "memsift/image.h"
#include "support/test_dir.h"

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    ms_test_dir_create(g_dir, sizeof g_dir, "imgtest");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_test_dir_remove(g_dir);
    return 0;
}

static void path_in_dir(char *out, size_t size, const char *name)
{
    ms_test_dir_path(out, size, g_dir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_gzip(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb6");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(g), Z_OK);
}

static uint8_t *noise(size_t len, uint32_t seed)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)(x >> 11);
    }
    return b;
}

static ms_image *open_ok(const char *path, int no_mmap)
{
    ms_image_options opts;
    ms_image_options_init(&opts);
    opts.no_mmap = no_mmap;
    ms_image *img = NULL;
    ms_status st = ms_image_open(path, &opts, &img);
    if (st != MS_OK)
        print_error("%s: %s: %s\n", path, ms_status_name(st), ms_last_error());
    assert_int_equal(st, MS_OK);
    assert_non_null(img);
    return img;
}

static void expect_error(const char *path, ms_status want, const char *words)
{
    ms_image *img = NULL;
    ms_clear_error();
    ms_status st = ms_image_open(path, NULL, &img);
    if (st != want || strstr(ms_last_error(), words) == NULL)
        print_error("%s: got %s '%s', expected %s with '%s'\n", path, ms_status_name(st), ms_last_error(),
                    ms_status_name(want), words);
    assert_int_equal(st, want);
    assert_null(img);
    assert_non_null(strstr(ms_last_error(), words));
}

#define RAW_LEN (1024u * 1024u + 123u)

static void check_raw_image(ms_image *img, const uint8_t *data, size_t len)
{
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_RAW);
    assert_int_equal(info->file_size, len);
    assert_int_equal(info->max_address, len);
    assert_int_equal(info->present_bytes, len);
    assert_int_equal(info->range_count, 1);
    assert_int_equal(info->has_physical_memory, 1);
    assert_int_equal(info->header.has_header, 0);

    static uint8_t buf[20000];
    static const uint64_t offs[] = {0, 1, 4095, 4096, 65537, 1000000, RAW_LEN - 20000};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        assert_int_equal(ms_image_read(img, offs[i], buf, sizeof buf), MS_OK);
        assert_memory_equal(buf, data + offs[i], sizeof buf);
    }
    /* Straddling the end: the held part, then zeros. */
    memset(buf, 0xaa, 100);
    assert_int_equal(ms_image_read(img, len - 40, buf, 100), MS_ERR_NOT_PRESENT);
    assert_memory_equal(buf, data + len - 40, 40);
    for (int i = 40; i < 100; i++)
        assert_int_equal(buf[i], 0);
    /* Wholly past the end. */
    memset(buf, 0xaa, 100);
    assert_int_equal(ms_image_read(img, (uint64_t)len + 4096, buf, 100), MS_ERR_NOT_PRESENT);
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(ms_image_read(img, UINT64_MAX - 10, buf, 100), MS_ERR_NOT_PRESENT);
    assert_int_equal(ms_image_read(img, 5, buf, 0), MS_OK);

    ms_phys_range r;
    assert_int_equal(ms_image_range(img, 0, &r), MS_OK);
    assert_int_equal(r.start, 0);
    assert_int_equal(r.length, len);
    assert_int_equal(ms_image_range(img, 1, &r), MS_ERR_ARG);
    assert_true(strlen(ms_last_error()) > 0);
}

static void test_raw_readback(void **state)
{
    (void)state;
    uint8_t *data = noise(RAW_LEN, 1);
    char path[600];
    path_in_dir(path, sizeof path, "mem.raw");
    write_file(path, data, RAW_LEN);

    ms_image *img = open_ok(path, 0);
    assert_int_equal(ms_image_get_info(img)->compressed, 0);
    check_raw_image(img, data, RAW_LEN);

    const uint8_t *p = NULL;
    assert_int_equal(ms_image_map(img, 0, RAW_LEN, &p), MS_OK);
    assert_memory_equal(p, data, RAW_LEN);
    assert_int_equal(ms_image_map(img, 777, 4096, &p), MS_OK);
    assert_memory_equal(p, data + 777, 4096);
    assert_int_equal(ms_image_map(img, RAW_LEN - 10, 11, &p), MS_ERR_UNSUPPORTED);
    assert_int_equal(ms_image_map(img, RAW_LEN + 10, 1, &p), MS_ERR_UNSUPPORTED);
    ms_image_close(img);
    free(data);
}

static void test_no_mmap_same_bytes(void **state)
{
    (void)state;
    uint8_t *data = noise(RAW_LEN, 2);
    char path[600];
    path_in_dir(path, sizeof path, "mem.raw");
    write_file(path, data, RAW_LEN);

    ms_image *mapped = open_ok(path, 0);
    ms_image *pread_img = open_ok(path, 1);
    check_raw_image(pread_img, data, RAW_LEN);
    const uint8_t *p;
    assert_int_equal(ms_image_map(pread_img, 0, 16, &p), MS_ERR_UNSUPPORTED);

    static uint8_t a[9000], b[9000];
    uint32_t x = 12345;
    for (int i = 0; i < 500; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t off = x % (RAW_LEN + 5000);
        size_t n = (x >> 7) % sizeof a;
        memset(a, 1, sizeof a);
        memset(b, 2, sizeof b);
        ms_status sa = ms_image_read(mapped, off, a, n);
        ms_status sb = ms_image_read(pread_img, off, b, n);
        assert_int_equal(sa, sb);
        assert_memory_equal(a, b, n);
    }
    ms_image_close(mapped);
    ms_image_close(pread_img);
    free(data);
}

static void lime_header(uint8_t *h, uint64_t s, uint64_t e)
{
    memset(h, 0, 32);
    memcpy(h, "EMiL", 4);
    h[4] = 1;
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (uint8_t)(s >> (8 * i));
        h[16 + i] = (uint8_t)(e >> (8 * i));
    }
}

/* Names mean nothing: a raw file called .dmp is raw, a LiME file called
 * .raw is LiME, a gzip file called .raw is decompressed. */
static void test_detection_by_content(void **state)
{
    (void)state;
    uint8_t *data = noise(65536, 3);
    char path[600];
    path_in_dir(path, sizeof path, "x.dmp");
    write_file(path, data, 65536);
    ms_image *img = open_ok(path, 0);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_RAW);
    ms_image_close(img);

    uint8_t *lime = malloc(32 + 8192);
    assert_non_null(lime);
    lime_header(lime, 0x100000, 0x100000 + 8191);
    memcpy(lime + 32, data, 8192);
    path_in_dir(path, sizeof path, "x.raw");
    write_file(path, lime, 32 + 8192);
    img = open_ok(path, 0);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_LIME);
    assert_int_equal(info->range_count, 1);
    assert_int_equal(info->max_address, 0x100000 + 8192);
    uint8_t buf[64];
    assert_int_equal(ms_image_read(img, 0x100000 + 100, buf, 64), MS_OK);
    assert_memory_equal(buf, data + 100, 64);
    ms_image_close(img);

    path_in_dir(path, sizeof path, "y.raw");
    write_gzip(path, lime, 32 + 8192);
    img = open_ok(path, 0);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_LIME);
    assert_int_equal(ms_image_get_info(img)->compressed, 1);
    assert_int_equal(ms_image_read(img, 0x100000 + 8160, buf, 64), MS_ERR_NOT_PRESENT);
    assert_memory_equal(buf, data + 8160, 32);
    assert_int_equal(buf[32], 0);
    assert_int_equal(buf[63], 0);
    ms_image_close(img);
    free(lime);
    free(data);
}

static void test_empty_file(void **state)
{
    (void)state;
    char path[600];
    path_in_dir(path, sizeof path, "empty.raw");
    write_file(path, "", 0);
    expect_error(path, MS_ERR_FORMAT, "empty");
    assert_non_null(strstr(ms_last_error(), path));
}

static void test_directory(void **state)
{
    (void)state;
    expect_error(g_dir, MS_ERR_ARG, "is a directory");
    assert_non_null(strstr(ms_last_error(), g_dir));
}

static void test_missing_file(void **state)
{
    (void)state;
    char path[600];
    path_in_dir(path, sizeof path, "does-not-exist.raw");
    expect_error(path, MS_ERR_IO, "No such file");
    assert_non_null(strstr(ms_last_error(), path));
}

static void test_unreadable_file(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip();  /* root reads a mode-000 file anyway */
    char path[600];
    path_in_dir(path, sizeof path, "secret.raw");
    write_file(path, "0123456789abcdef0123", 20);
    assert_int_equal(chmod(path, 0), 0);
    expect_error(path, MS_ERR_IO, "Permission denied");
    assert_non_null(strstr(ms_last_error(), path));
}

static void test_bad_arguments(void **state)
{
    (void)state;
    ms_image *img = NULL;
    assert_int_equal(ms_image_open(NULL, NULL, &img), MS_ERR_ARG);
    assert_true(strlen(ms_last_error()) > 0);
    assert_int_equal(ms_image_open("/x", NULL, NULL), MS_ERR_ARG);
    ms_image_close(NULL);
}

/* Random bytes are a valid raw image: raw has no structure to violate. */
static void test_random_bytes_are_raw(void **state)
{
    (void)state;
    uint8_t *data = noise(3 * 4096 + 5, 4);
    data[0] = 0x1f;  /* not followed by 8b 08: not gzip */
    char path[600];
    path_in_dir(path, sizeof path, "noise.bin");
    write_file(path, data, 3 * 4096 + 5);
    ms_image *img = open_ok(path, 0);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_RAW);
    assert_int_equal(ms_image_get_info(img)->compressed, 0);
    uint8_t buf[4096];
    assert_int_equal(ms_image_read(img, 8192, buf, 4096), MS_OK);
    assert_memory_equal(buf, data + 8192, 4096);
    ms_image_close(img);
    free(data);
}

static void test_truncated_gzip(void **state)
{
    (void)state;
    size_t len = 256 * 1024;
    uint8_t *data = noise(len, 5);
    memset(data + 4096, 0, 65536);
    char path[600];
    path_in_dir(path, sizeof path, "cut.gz");
    write_gzip(path, data, len);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size * 2 / 3), 0);
    expect_error(path, MS_ERR_TRUNCATED, "gzip stream is truncated after");
    free(data);
}

static void test_gzip_of_random_bytes(void **state)
{
    (void)state;
    /* A gzip header over bytes that are not deflate data. */
    uint8_t *junk = noise(50000, 6);
    static const uint8_t head[10] = {0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3};
    memcpy(junk, head, sizeof head);
    char path[600];
    path_in_dir(path, sizeof path, "junk.gz");
    write_file(path, junk, 50000);
    expect_error(path, MS_ERR_FORMAT, "gzip data is corrupt");

    /* Random bytes, properly gzipped: a valid compressed raw image. */
    path_in_dir(path, sizeof path, "random.raw.gz");
    write_gzip(path, junk, 50000);
    ms_image *img = open_ok(path, 0);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_RAW);
    assert_int_equal(info->compressed, 1);
    assert_int_equal(info->file_size, 50000);
    uint8_t buf[1000];
    assert_int_equal(ms_image_read(img, 49000, buf, 1000), MS_OK);
    assert_memory_equal(buf, junk + 49000, 1000);
    ms_image_close(img);
    free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_raw_readback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_mmap_same_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detection_by_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes_are_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_of_random_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

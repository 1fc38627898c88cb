/* gzip-compressed images: random access through the checkpoint index, the
 * index cache file, multi-member files, and broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "image/gzip_index.h"
#include "image/gzip_stream.h"
#include "image/source.h"
#include "memsift/image.h"

#define MiB (1024u * 1024u)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- test files ---- */

static char g_dir[512];

static void make_dir(void)
{
    const char *base = getenv("MEMSIFT_TEST_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/gztest.XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(g_dir));
}

static void remove_dir(void)
{
    DIR *d = opendir(g_dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (rmdir(p) != 0)
            unlink(p);
    }
    closedir(d);
    rmdir(g_dir);
}

static int setup(void **state)
{
    (void)state;
    make_dir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    remove_dir();
    return 0;
}

static void path_in_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", g_dir, name);
}

static void write_file(const char *path, const void *data, size_t len, const char *mode)
{
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Deterministic contents where every 8-byte word depends on its offset, in
 * four kinds of page: zeros, offset stamps, noise, and repeated text. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint8_t gen_byte(uint64_t off, uint64_t seed)
{
    uint64_t page = off >> 12;
    switch (mix(page ^ seed) & 3) {
    case 0:
        return 0;
    case 1:
        return (uint8_t)((off & ~7ull) >> (8 * (off & 7)));
    case 2:
        return (uint8_t)mix(off ^ (seed << 40));
    default:
        return (uint8_t)"memsift gzip test page "[off % 23];
    }
}

static void gen(uint8_t *buf, uint64_t off, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = gen_byte(off + i, seed);
}

static uint8_t *gen_alloc(size_t len, uint64_t seed)
{
    uint8_t *b = malloc(len);
    assert_non_null(b);
    gen(b, 0, len, seed);
    return b;
}

typedef struct gz_opts {
    int level;
    int strategy;
    int fancy_header;     /* FEXTRA, FNAME, FCOMMENT, FHCRC */
} gz_opts;

/* Append one gzip member holding data[0..len) to f. */
static void append_member(FILE *f, const uint8_t *data, size_t len, const gz_opts *o)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, o->level, Z_DEFLATED, 15 + 16, 8, o->strategy), Z_OK);
    gz_header h;
    static unsigned char extra[] = "XYZ extra field";
    static unsigned char name[] = "memory.raw";
    static unsigned char comment[] = "a test comment";
    if (o->fancy_header) {
        memset(&h, 0, sizeof h);
        h.extra = extra;
        h.extra_len = sizeof extra;
        h.name = name;
        h.comment = comment;
        h.hcrc = 1;
        assert_int_equal(deflateSetHeader(&z, &h), Z_OK);
    }
    uint8_t out[65536];
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    int ret;
    do {
        z.next_out = out;
        z.avail_out = sizeof out;
        ret = deflate(&z, Z_FINISH);
        assert_true(ret == Z_OK || ret == Z_STREAM_END || ret == Z_BUF_ERROR);
        size_t n = sizeof out - z.avail_out;
        assert_int_equal(fwrite(out, 1, n, f), n);
    } while (ret != Z_STREAM_END);
    deflateEnd(&z);
}

/* Write data as `members` gzip members of uneven sizes. */
static void write_gzip(const char *path, const uint8_t *data, size_t len, int members, const gz_opts *o)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t off = 0;
    for (int i = 0; i < members; i++) {
        size_t part = (i == members - 1) ? len - off : (len / (size_t)members) * (size_t)(i % 2 ? 1 : 2) / 2 + 12345;
        if (part > len - off)
            part = len - off;
        append_member(f, data + off, part, o);
        off += part;
    }
    assert_int_equal(fclose(f), 0);
}

static ms_image *open_image(const char *path, int cache)
{
    ms_image_options opts;
    ms_image_options_init(&opts);
    opts.gzip_cache_index = cache;
    ms_image *img = NULL;
    ms_status st = ms_image_open(path, &opts, &img);
    if (st != MS_OK)
        print_error("open %s: %s: %s\n", path, ms_status_name(st), ms_last_error());
    assert_int_equal(st, MS_OK);
    return img;
}

/* Random-offset reads of random lengths, sequential 4 KiB reads over a
 * stretch, the last byte, and a read past the end. */
static void check_reads(ms_image *img, const uint8_t *data, size_t len, uint64_t seed)
{
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->compressed, 1);
    assert_int_equal(info->file_size, len);
    static uint8_t buf[70000];
    uint64_t r = seed | 1;
    for (int i = 0; i < 300; i++) {
        r = mix(r);
        uint64_t off = r % len;
        size_t n = (size_t)(mix(r + 1) % sizeof buf);
        if (n > len - off)
            n = len - off;
        assert_int_equal(ms_image_read(img, off, buf, n), MS_OK);
        assert_memory_equal(buf, data + off, n);
    }
    size_t stretch = len < 3 * MiB ? len : 3 * MiB;
    for (size_t off = len - stretch; off + 4096 <= len; off += 4096) {
        assert_int_equal(ms_image_read(img, off, buf, 4096), MS_OK);
        assert_memory_equal(buf, data + off, 4096);
    }
    assert_int_equal(ms_image_read(img, len - 1, buf, 1), MS_OK);
    assert_int_equal(buf[0], data[len - 1]);
    memset(buf, 0xcc, 16);
    assert_int_equal(ms_image_read(img, len - 8, buf, 16), MS_ERR_NOT_PRESENT);
    assert_memory_equal(buf, data + len - 8, 8);
    for (int i = 8; i < 16; i++)
        assert_int_equal(buf[i], 0);
}

/* ---- tests ---- */

static void test_levels_and_strategies(void **state)
{
    (void)state;
    static const gz_opts cases[] = {
        {0, Z_DEFAULT_STRATEGY, 0}, {1, Z_DEFAULT_STRATEGY, 0}, {6, Z_DEFAULT_STRATEGY, 0},
        {9, Z_DEFAULT_STRATEGY, 0}, {6, Z_HUFFMAN_ONLY, 0},     {6, Z_RLE, 0},
        {6, Z_FIXED, 0},
    };
    size_t len = 3 * MiB + 777;
    uint8_t *data = gen_alloc(len, 11);
    char path[600];
    path_in_dir(path, sizeof path, "levels.gz");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_gzip(path, data, len, 1, &cases[i]);
        ms_image *img = open_image(path, 0);
        assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_RAW);
        check_reads(img, data, len, 100 + i);
        const uint8_t *p;
        assert_int_equal(ms_image_map(img, 0, 16, &p), MS_ERR_UNSUPPORTED);
        ms_image_close(img);
    }
    free(data);
}

static void test_multi_member(void **state)
{
    (void)state;
    size_t len = 4 * MiB + 99;
    uint8_t *data = gen_alloc(len, 12);
    char path[600];
    path_in_dir(path, sizeof path, "multi.gz");
    gz_opts o = {6, Z_DEFAULT_STRATEGY, 1};
    write_gzip(path, data, len, 5, &o);
    /* An empty member in the middle of the stream and zero padding at the end. */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    append_member(f, data, 0, &o);
    append_member(f, (const uint8_t *)"tail", 4, &o);
    static const uint8_t zeros[1000];
    assert_int_equal(fwrite(zeros, 1, sizeof zeros, f), sizeof zeros);
    assert_int_equal(fclose(f), 0);

    uint8_t *all = malloc(len + 4);
    assert_non_null(all);
    memcpy(all, data, len);
    memcpy(all + len, "tail", 4);
    ms_image *img = open_image(path, 0);
    check_reads(img, all, len + 4, 7);
    ms_image_close(img);
    free(all);
    free(data);
}

/* Every checkpoint of the index resumes to the right bytes, including when
 * the build thins the points to stay under its limits. */
static void test_checkpoints_resume(void **state)
{
    (void)state;
    size_t len = 6 * MiB;
    uint8_t *data = gen_alloc(len, 13);
    char path[600];
    path_in_dir(path, sizeof path, "points.gz");
    gz_opts o = {1, Z_DEFAULT_STRATEGY, 0};
    write_gzip(path, data, len, 3, &o);

    ms_source *src;
    assert_int_equal(ms_source_open_file(path, 1, &src), MS_OK);
    ms_gz_limits lim = {64 * 1024, 1u << 30, 1000};
    ms_gz_index idx;
    assert_int_equal(ms_gz_index_build(src, &lim, &idx), MS_OK);
    assert_int_equal(idx.size, len);
    assert_true(idx.count > 40);
    assert_int_equal(idx.points[0].out, 0);

    lim = (ms_gz_limits){64 * 1024, 1u << 30, 8};
    ms_gz_index thin;
    assert_int_equal(ms_gz_index_build(src, &lim, &thin), MS_OK);
    assert_true(thin.count <= 8 && thin.count >= 2);
    assert_true(thin.spacing >= 512 * 1024);

    ms_gz_index *both[2] = {&idx, &thin};
    uint8_t window[MS_GZ_WINDOW], buf[5000];
    ms_gz_stream s;
    assert_int_equal(ms_gz_stream_init(&s, src, 0), MS_OK);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < both[k]->count; i++) {
            const ms_gz_point *p = &both[k]->points[i];
            assert_ptr_equal(ms_gz_index_find(both[k], p->out + 1), p);
            assert_int_equal(ms_gz_point_window(p, window), MS_OK);
            assert_int_equal(ms_gz_stream_resume(&s, p->out, p->in, p->bits, window, p->window_len), MS_OK);
            size_t want = len - p->out < sizeof buf ? len - p->out : sizeof buf, done = 0;
            while (done < want) {
                size_t got;
                assert_int_equal(ms_gz_stream_step(&s, buf + done, want - done, Z_NO_FLUSH, &got), MS_OK);
                done += got;
            }
            assert_memory_equal(buf, data + p->out, want);
        }
    }
    ms_gz_stream_free(&s);
    ms_gz_index_free(&idx);
    ms_gz_index_free(&thin);
    ms_source_close(src);
    free(data);
}

static void write_lime_range(FILE *f, uint64_t s, uint64_t e, const uint8_t *data)
{
    uint8_t h[32] = {0x45, 0x4d, 0x69, 0x4c, 1, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (uint8_t)(s >> (8 * i));
        h[16 + i] = (uint8_t)(e >> (8 * i));
    }
    assert_int_equal(fwrite(h, 1, 32, f), 32);
    assert_int_equal(fwrite(data, 1, e - s + 1, f), e - s + 1);
}

static void test_gzipped_lime(void **state)
{
    (void)state;
    size_t len = 2 * MiB;
    uint8_t *phys = gen_alloc(len, 14);
    char lime[600], gz[600];
    path_in_dir(lime, sizeof lime, "plain.lime");
    path_in_dir(gz, sizeof gz, "lime.gz");
    FILE *f = fopen(lime, "wb");
    assert_non_null(f);
    write_lime_range(f, 0x1000, 0x9ffff, phys + 0x1000);
    write_lime_range(f, 0x100000, 0x1fffff, phys + 0x100000);
    assert_int_equal(fclose(f), 0);
    size_t lime_len = 32 + 0x9f000 + 32 + 0x100000;
    uint8_t *raw = malloc(lime_len);
    f = fopen(lime, "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, lime_len, f), lime_len);
    fclose(f);
    gz_opts o = {6, Z_DEFAULT_STRATEGY, 0};
    write_gzip(gz, raw, lime_len, 2, &o);

    ms_image *img = open_image(gz, 0);
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_LIME);
    assert_int_equal(info->compressed, 1);
    assert_int_equal(info->range_count, 2);
    assert_int_equal(info->max_address, 0x200000);
    assert_int_equal(info->present_bytes, 0x9f000 + 0x100000);
    ms_phys_range r;
    assert_int_equal(ms_image_range(img, 1, &r), MS_OK);
    assert_int_equal(r.start, 0x100000);
    assert_int_equal(r.length, 0x100000);

    uint8_t buf[8192];
    assert_int_equal(ms_image_read(img, 0x9f000, buf, 4096), MS_OK);
    assert_memory_equal(buf, phys + 0x9f000, 4096);
    assert_int_equal(ms_image_read(img, 0x1ff000, buf, 4096), MS_OK);
    assert_memory_equal(buf, phys + 0x1ff000, 4096);
    assert_int_equal(ms_image_read(img, 0x9f800, buf, 4096), MS_ERR_NOT_PRESENT);
    assert_memory_equal(buf, phys + 0x9f800, 0x800);
    assert_int_equal(buf[0x800], 0);
    assert_int_equal(buf[4095], 0);
    ms_image_close(img);
    free(raw);
    free(phys);
}

static int stat_same(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_size == b->st_size;
}

static int index_has_magic(const char *path)
{
    char m[8] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    return n == 8 && memcmp(m, "MSGZIDX", 8) == 0;
}

static void open_check_close(const char *path, const uint8_t *data, size_t len, uint64_t seed)
{
    ms_image *img = open_image(path, 1);
    check_reads(img, data, len, seed);
    ms_image_close(img);
}

static void le32_put(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_gzipped_raw_with_cache(void **state)
{
    (void)state;
    size_t len = 5 * MiB + 3;
    uint8_t *data = gen_alloc(len, 15);
    char gz[600], idx[620];
    path_in_dir(gz, sizeof gz, "cached.raw.gz");
    snprintf(idx, sizeof idx, "%s.msidx", gz);
    gz_opts o = {6, Z_DEFAULT_STRATEGY, 0};
    write_gzip(gz, data, len, 1, &o);

    struct stat s1, s2;
    assert_int_not_equal(stat(idx, &s1), 0);
    open_check_close(gz, data, len, 1);
    assert_int_equal(stat(idx, &s1), 0);
    assert_true(index_has_magic(idx));

    /* Reused: the file is left exactly as it was. */
    open_check_close(gz, data, len, 2);
    assert_int_equal(stat(idx, &s2), 0);
    assert_true(stat_same(&s1, &s2));

    /* Garbage in the index: rebuilt (a new file replaces it). */
    uint8_t *junk = gen_alloc(9000, 99);
    write_file(idx, junk, 9000, "wb");
    free(junk);
    assert_int_equal(stat(idx, &s1), 0);
    open_check_close(gz, data, len, 3);
    assert_int_equal(stat(idx, &s2), 0);
    assert_true(index_has_magic(idx));
    assert_true(s2.st_ino != s1.st_ino);
    open_check_close(gz, data, len, 4);
    assert_int_equal(stat(idx, &s1), 0);
    assert_true(stat_same(&s1, &s2));

    /* A truncated index is rebuilt. */
    assert_int_equal(truncate(idx, s2.st_size / 2), 0);
    open_check_close(gz, data, len, 5);
    assert_int_equal(stat(idx, &s1), 0);
    assert_int_equal(s1.st_size, s2.st_size);

    /* An index whose checksums are right but whose table is not (a point
     * past the end of the data): refused and rebuilt. */
    FILE *f = fopen(idx, "r+b");
    assert_non_null(f);
    uint8_t *whole = malloc((size_t)s1.st_size);
    assert_int_equal(fread(whole, 1, (size_t)s1.st_size, f), (size_t)s1.st_size);
    assert_true(whole[12] >= 2);
    whole[64 + 32 + 7] = 0x7f;
    le32_put(whole + 56, (uint32_t)crc32(0L, whole, 56));
    size_t body = (size_t)s1.st_size - 64 - 4;
    le32_put(whole + 64 + body, (uint32_t)crc32(0L, whole + 64, (uInt)body));
    rewind(f);
    assert_int_equal(fwrite(whole, 1, (size_t)s1.st_size, f), (size_t)s1.st_size);
    fclose(f);
    assert_int_equal(stat(idx, &s1), 0);
    open_check_close(gz, data, len, 6);
    assert_int_equal(stat(idx, &s2), 0);
    assert_true(s2.st_ino != s1.st_ino);
    f = fopen(idx, "rb");
    assert_int_equal(fread(whole, 1, (size_t)s2.st_size, f), (size_t)s2.st_size);
    fclose(f);
    assert_int_not_equal(whole[64 + 32 + 7], 0x7f);
    free(whole);

    /* Stale: the image is replaced by different data of the same length. */
    uint8_t *other = gen_alloc(len, 16);
    write_gzip(gz, other, len, 1, &o);
    assert_int_equal(stat(idx, &s1), 0);
    open_check_close(gz, other, len, 7);
    assert_int_equal(stat(idx, &s2), 0);
    assert_true(s2.st_ino != s1.st_ino);

    /* The index location cannot be written (it is a directory): the image
     * still opens, working from memory. */
    unlink(idx);
    assert_int_equal(mkdir(idx, 0755), 0);
    open_check_close(gz, other, len, 8);
    struct stat sd;
    assert_int_equal(stat(idx, &sd), 0);
    assert_true(S_ISDIR(sd.st_mode));
    assert_int_equal(rmdir(idx), 0);
    free(other);
    free(data);
}

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *b = malloc(*len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void expect_open_error(const char *path, ms_status want, const char *words)
{
    ms_image_options opts;
    ms_image_options_init(&opts);
    ms_image *img = NULL;
    ms_clear_error();
    ms_status st = ms_image_open(path, &opts, &img);
    if (st != want || strstr(ms_last_error(), words) == NULL)
        print_error("%s: got %s '%s', expected %s with '%s'\n", path, ms_status_name(st), ms_last_error(),
                    ms_status_name(want), words);
    assert_int_equal(st, want);
    assert_null(img);
    assert_non_null(strstr(ms_last_error(), words));
    /* No index is cached for a file that does not open. */
    char idx[700];
    snprintf(idx, sizeof idx, "%s.msidx", path);
    assert_int_not_equal(access(idx, F_OK), 0);
}

static void test_broken_gzip(void **state)
{
    (void)state;
    size_t len = 2 * MiB;
    uint8_t *data = gen_alloc(len, 17);
    char good[600], bad[600];
    path_in_dir(good, sizeof good, "good.gz");
    path_in_dir(bad, sizeof bad, "bad.gz");
    gz_opts o = {6, Z_DEFAULT_STRATEGY, 0};
    write_gzip(good, data, len, 1, &o);
    size_t glen;
    uint8_t *g = read_whole(good, &glen);

    write_file(bad, g, glen / 2, "wb");
    expect_open_error(bad, MS_ERR_TRUNCATED, "gzip stream is truncated after");
    write_file(bad, g, glen - 4, "wb");
    expect_open_error(bad, MS_ERR_TRUNCATED, "trailer");
    write_file(bad, g, 20, "wb");
    expect_open_error(bad, MS_ERR_TRUNCATED, "truncated");

    uint8_t *c = malloc(glen + 16);
    assert_non_null(c);
    memcpy(c, g, glen);
    c[glen - 8] ^= 0x01;
    write_file(bad, c, glen, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "CRC");

    memcpy(c, g, glen);
    c[glen - 2] ^= 0x01;
    write_file(bad, c, glen, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "length");

    memcpy(c, g, glen);
    for (size_t i = glen / 2; i < glen / 2 + 64; i++)
        c[i] ^= 0x5a;
    write_file(bad, c, glen, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "gzip");

    memcpy(c, g, glen);
    memcpy(c + glen, "garbage!", 8);
    write_file(bad, c, glen + 8, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "unexpected data");

    memcpy(c, g, glen);
    c[3] = 0x80;
    write_file(bad, c, glen, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "reserved flag");

    memcpy(c, g, glen);
    c[3] = 0x08;  /* FNAME with no terminator before the end */
    memset(c + 10, 'a', glen - 10);
    write_file(bad, c, glen, "wb");
    expect_open_error(bad, MS_ERR_TRUNCATED, "file name");

    /* A valid gzip of nothing. */
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    append_member(f, data, 0, &o);
    fclose(f);
    expect_open_error(bad, MS_ERR_FORMAT, "0 bytes");

    /* gzip header followed by random bytes. */
    memcpy(c, g, 10);
    c[3] = 0;
    gen(c + 10, 0, 4096, 3);
    for (size_t i = 10; i < 4096; i++)
        c[i] = (uint8_t)mix(i);
    write_file(bad, c, 4096, "wb");
    expect_open_error(bad, MS_ERR_FORMAT, "gzip data is corrupt");

    free(c);
    free(g);
    free(data);
}

/* ~96 MiB written and checked through a generator, never held whole. */
static void write_large(const char *path, size_t len, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uint8_t *in = malloc(MiB), *out = malloc(MiB);
    assert_true(in != NULL && out != NULL);
    for (size_t off = 0; off < len; off += MiB) {
        size_t n = len - off < MiB ? len - off : MiB;
        gen(in, off, n, seed);
        z.next_in = in;
        z.avail_in = (uInt)n;
        int flush = off + n == len ? Z_FINISH : Z_NO_FLUSH;
        int ret;
        do {
            z.next_out = out;
            z.avail_out = MiB;
            ret = deflate(&z, flush);
            assert_true(ret != Z_STREAM_ERROR);
            size_t w = MiB - z.avail_out;
            assert_int_equal(fwrite(out, 1, w, f), w);
        } while (z.avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
    }
    deflateEnd(&z);
    free(in);
    free(out);
    assert_int_equal(fclose(f), 0);
}

static void check_span(ms_image *img, uint64_t off, size_t n, uint64_t seed, uint8_t *buf, uint8_t *want)
{
    assert_int_equal(ms_image_read(img, off, buf, n), MS_OK);
    gen(want, off, n, seed);
    assert_memory_equal(buf, want, n);
}

static void large_reads(ms_image *img, size_t len, uint64_t seed)
{
    assert_int_equal(ms_image_get_info(img)->file_size, len);
    uint8_t *buf = malloc(3 * MiB), *want = malloc(3 * MiB);
    assert_true(buf != NULL && want != NULL);
    for (uint64_t off = len - MiB; off < len; off += 4096)
        check_span(img, off, 4096, seed, buf, want);
    check_span(img, len - 1, 1, seed, buf, want);
    check_span(img, len - 3 * MiB + 5, 3 * MiB - 5, seed, buf, want);
    for (uint64_t off = 0; off + 3 * MiB < len; off += 29 * MiB + 12345)
        check_span(img, off, 3 * MiB - 77, seed, buf, want);
    uint64_t r = seed;
    for (int i = 0; i < 200; i++) {
        r = mix(r + (uint64_t)i);
        uint64_t off = r % (len - 9000);
        check_span(img, off, 1 + (size_t)(r >> 50) % 9000, seed, buf, want);
    }
    free(buf);
    free(want);
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_large_image(void **state)
{
    (void)state;
    size_t len = 96 * MiB + 4321;
    char gz[600];
    path_in_dir(gz, sizeof gz, "large.gz");
    write_large(gz, len, 21);
    /* Through pread, so that the resident size measures the heap rather
     * than the mapped compressed file. */
    ms_image_options opts;
    ms_image_options_init(&opts);
    opts.no_mmap = 1;
    ms_image *img = NULL;
    long before = max_rss_kib();
    assert_int_equal(ms_image_open(gz, &opts, &img), MS_OK);
    large_reads(img, len, 21);
    ms_image_close(img);
    if (!UNDER_ASAN)
        assert_true(max_rss_kib() - before < 64 * 1024);
    img = open_image(gz, 1);
    large_reads(img, len, 21);
    ms_image_close(img);
}

/* More than 4 GiB decompressed (ISIZE wraps).  The file is assembled from
 * independently deflated 1 MiB fragments that each end on a full flush, so
 * it is cheap to write; decompressing it still takes several seconds, so it
 * runs only with MEMSIFT_SLOW_TESTS=1. */
static void test_over_4gib(void **state)
{
    (void)state;
    const char *slow = getenv("MEMSIFT_SLOW_TESTS");
    if (slow == NULL || strcmp(slow, "1") != 0)
        skip();
    const uint64_t segs = 4096 + 300;
    uint8_t *seg = malloc(MiB), *out = malloc(MiB);
    uint8_t *frag[256];
    size_t frag_len[256];
    uint32_t frag_crc[256];
    assert_true(seg != NULL && out != NULL);
    for (int v = 0; v < 256; v++) {
        memset(seg, v, MiB);
        frag_crc[v] = (uint32_t)crc32(0L, seg, MiB);
        z_stream z;
        memset(&z, 0, sizeof z);
        assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = seg;
        z.avail_in = MiB;
        z.next_out = out;
        z.avail_out = MiB;
        assert_int_equal(deflate(&z, Z_FULL_FLUSH), Z_OK);
        assert_int_equal(z.avail_in, 0);
        frag_len[v] = MiB - z.avail_out;
        frag[v] = malloc(frag_len[v]);
        assert_non_null(frag[v]);
        memcpy(frag[v], out, frag_len[v]);
        deflateEnd(&z);
    }
    char gz[600];
    path_in_dir(gz, sizeof gz, "huge.gz");
    FILE *f = fopen(gz, "wb");
    assert_non_null(f);
    static const uint8_t head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    fwrite(head, 1, sizeof head, f);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t k = 0; k < segs; k++) {
        int v = (int)((k * 7 + 1) & 0xff);
        fwrite(frag[v], 1, frag_len[v], f);
        crc = crc32_combine(crc, frag_crc[v], MiB);
    }
    static const uint8_t last_block[2] = {0x03, 0x00};
    fwrite(last_block, 1, 2, f);
    uint8_t trailer[8];
    le32_put(trailer, (uint32_t)crc);
    le32_put(trailer + 4, (uint32_t)(segs * MiB));
    fwrite(trailer, 1, 8, f);
    assert_int_equal(fclose(f), 0);
    for (int v = 0; v < 256; v++)
        free(frag[v]);

    ms_image *img = open_image(gz, 1);
    assert_int_equal(ms_image_get_info(img)->file_size, segs * MiB);
    uint64_t offs[] = {0, 4ull << 30, (4ull << 30) - 3, segs * MiB - 4096, 3ull << 30, 17 * MiB + 5, 1ull << 32};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        assert_int_equal(ms_image_read(img, offs[i], seg, 4096), MS_OK);
        for (size_t j = 0; j < 4096; j++)
            assert_int_equal(seg[j], ((offs[i] + j) / MiB * 7 + 1) & 0xff);
    }
    ms_image_close(img);
    free(seg);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_levels_and_strategies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzipped_lime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzipped_raw_with_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over_4gib, setup, teardown),
    };
    const char *filter = getenv("MEMSIFT_TEST_FILTER");
    if (filter != NULL)
        cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The pool-tag scanner: header decoding, rules, and whole scans of
 * synthetic raw, LiME (with holes) and gzip images, with every search
 * routine, 1 to 3 threads and several chunk sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "memsift/image.h"
#include "memsift/scan.h"

#define MIB (1u << 20)

/* ---- building images ---- */

/* Filler that is a function of the physical address, so that any byte a
 * hit reports can be checked. */
static uint8_t filler(uint64_t paddr)
{
    uint64_t x = paddr * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    return (uint8_t)(x * 0xbf58476d1ce4e5b9ull >> 56);
}

static uint8_t *phys_new(size_t len)
{
    uint8_t *p = malloc(len);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = filler(i);
    return p;
}

static void put_x64(uint8_t *phys, uint64_t at, unsigned prev, unsigned size, unsigned type, const char *tag)
{
    phys[at] = (uint8_t)(prev / 16);
    phys[at + 1] = 0;
    phys[at + 2] = (uint8_t)(size / 16);
    phys[at + 3] = (uint8_t)type;
    memcpy(phys + at + 4, tag, 4);
    memset(phys + at + 8, 0, 8);
}

static void put_x86(uint8_t *phys, uint64_t at, unsigned prev, unsigned index, unsigned size, unsigned type,
                    const char *tag)
{
    uint16_t w0 = (uint16_t)((prev / 8) | index << 9), w1 = (uint16_t)((size / 8) | type << 9);
    phys[at] = (uint8_t)w0;
    phys[at + 1] = (uint8_t)(w0 >> 8);
    phys[at + 2] = (uint8_t)w1;
    phys[at + 3] = (uint8_t)(w1 >> 8);
    memcpy(phys + at + 4, tag, 4);
}

static void temp_path(char *out, size_t n)
{
    const char *base = getenv("MEMSIFT_TEST_TMP");
    snprintf(out, n, "%s/scantest.XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
}

static void write_all(const char *path, const uint8_t *data, size_t len, int gzip)
{
    if (gzip) {
        gzFile g = gzopen(path, "wb1");
        assert_non_null(g);
        assert_int_equal(gzwrite(g, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(g), Z_OK);
        return;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

typedef struct prange {
    uint64_t start, len;
} prange;

/* A LiME file holding `ranges` of the physical model. */
static uint8_t *lime_build(const uint8_t *phys, const prange *ranges, size_t n, size_t *out_len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 32 + ranges[i].len;
    uint8_t *f = malloc(total), *p = f;
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        uint32_t magic = 0x4C694D45u, version = 1;
        uint64_t s = ranges[i].start, e = ranges[i].start + ranges[i].len - 1, zero = 0;
        memcpy(p, &magic, 4);
        memcpy(p + 4, &version, 4);
        memcpy(p + 8, &s, 8);
        memcpy(p + 16, &e, 8);
        memcpy(p + 24, &zero, 8);
        memcpy(p + 32, phys + s, ranges[i].len);
        p += 32 + ranges[i].len;
    }
    *out_len = total;
    return f;
}

/* ---- collecting hits ---- */

typedef struct found {
    uint64_t paddr;
    size_t tag_index;
    uint32_t block_size;
    size_t block_len;
} found;

typedef struct collector {
    found hits[256];
    size_t n;
    const uint8_t *phys;       /* the model to check block bytes against */
    size_t stop_after;         /* 0: never stop */
    int bytes_ok;
    uint64_t progress_done, progress_total;
    int progress_backwards;
} collector;

static int on_hit(const ms_pool_hit *hit, void *user)
{
    collector *c = user;
    assert_true(c->n < 256);
    c->hits[c->n++] = (found){hit->paddr, hit->tag_index, hit->header.block_size, hit->block_len};
    if (c->phys != NULL && memcmp(hit->block, c->phys + hit->paddr, hit->block_len) != 0)
        c->bytes_ok = 0;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    collector *c = user;
    if (done < c->progress_done)
        c->progress_backwards = 1;
    c->progress_done = done;
    c->progress_total = total;
}

typedef struct tag_spec {
    const char *tag;
    ms_pool_rule rule;
} tag_spec;

static void scan_file(const char *path, int no_mmap, ms_pool_layout layout, const tag_spec *tags, size_t ntags,
                      unsigned threads, ms_tagscan_kernel kernel, size_t chunk, collector *c)
{
    ms_image_options io;
    ms_image_options_init(&io);
    io.no_mmap = no_mmap;
    io.gzip_cache_index = 0;
    ms_image *img;
    assert_int_equal(ms_image_open(path, &io, &img), MS_OK);
    ms_tagscan_options so;
    ms_tagscan_options_init(&so);
    so.layout = layout;
    so.threads = threads;
    so.kernel = kernel;
    so.chunk_size = chunk;
    ms_tagscan *sc;
    assert_int_equal(ms_tagscan_create(&so, &sc), MS_OK);
    for (size_t t = 0; t < ntags; t++) {
        size_t index = 99;
        assert_int_equal(ms_tagscan_add_tag(sc, tags[t].tag, &tags[t].rule, &index), MS_OK);
        assert_int_equal(index, t);
    }
    c->n = 0;
    c->bytes_ok = 1;
    c->progress_done = 0;
    c->progress_backwards = 0;
    assert_int_equal(ms_tagscan_run(sc, img, on_hit, c, on_progress, c), MS_OK);
    if (c->stop_after == 0) {
        assert_int_equal(c->progress_total, ms_image_get_info(img)->present_bytes);
        assert_int_equal(c->progress_done, c->progress_total);
    }
    assert_false(c->progress_backwards);
    ms_tagscan_destroy(sc);
    ms_image_close(img);
}

static void assert_hits(const collector *c, const found *want, size_t nwant)
{
    if (c->n != nwant) {
        for (size_t i = 0; i < c->n; i++)
            print_message("hit 0x%llx tag %zu size 0x%x len 0x%zx\n", (unsigned long long)c->hits[i].paddr,
                          c->hits[i].tag_index, c->hits[i].block_size, c->hits[i].block_len);
    }
    assert_int_equal(c->n, nwant);
    for (size_t i = 0; i < nwant; i++) {
        assert_int_equal(c->hits[i].paddr, want[i].paddr);
        assert_int_equal(c->hits[i].tag_index, want[i].tag_index);
        assert_int_equal(c->hits[i].block_size, want[i].block_size);
        assert_int_equal(c->hits[i].block_len, want[i].block_len);
    }
    assert_true(c->bytes_ok);
}

static const ms_tagscan_kernel KERNELS[] = {MS_TAGSCAN_PORTABLE, MS_TAGSCAN_SSE2, MS_TAGSCAN_AVX2};

static int kernel_available(ms_tagscan_kernel k)
{
    ms_tagscan_options so;
    ms_tagscan_options_init(&so);
    so.kernel = k;
    ms_tagscan *sc;
    if (ms_tagscan_create(&so, &sc) != MS_OK)
        return 0;
    ms_tagscan_destroy(sc);
    return 1;
}

/* Every routine, 1-3 threads, small and default chunks: same hits. */
static void scan_all_ways(const char *path, int no_mmap, ms_pool_layout layout, const tag_spec *tags, size_t ntags,
                          const uint8_t *phys, const found *want, size_t nwant)
{
    static const size_t chunks[] = {64u << 10, 0};
    collector *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->phys = phys;
    for (size_t k = 0; k < 3; k++) {
        if (!kernel_available(KERNELS[k]))
            continue;
        for (unsigned threads = 1; threads <= 3; threads++)
            for (size_t ch = 0; ch < 2; ch++) {
                scan_file(path, no_mmap, layout, tags, ntags, threads, KERNELS[k], chunks[ch], c);
                assert_hits(c, want, nwant);
            }
    }
    free(c);
}

/* ---- header decoding and rules ---- */

static void test_decode_x64(void **state)
{
    (void)state;
    const uint8_t h[16] = {0x12, 0x03, 0x25, 0x02, 'T', 'c', 'p', 'E', 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    ms_pool_header d;
    ms_pool_decode(MS_POOL_X64, h, &d);
    assert_int_equal(d.previous_size, 0x120);
    assert_int_equal(d.pool_index, 3);
    assert_int_equal(d.block_size, 0x250);
    assert_int_equal(d.pool_type, 2);
    assert_int_equal(d.tag, 0x45706354);
    assert_int_equal(d.tag, ms_pool_tag_value("TcpE"));
    assert_true(d.process_billed == 0x1122334455667788ull);
    assert_int_equal(ms_pool_header_size(MS_POOL_X64), 16);
    assert_int_equal(ms_pool_unit(MS_POOL_X64), 16);
}

static void test_decode_x86(void **state)
{
    (void)state;
    /* PreviousSize 0x1ff units, PoolIndex 0x41; BlockSize 0x123 units, PoolType 0x05. */
    uint16_t w0 = 0x1ff | 0x41 << 9, w1 = 0x123 | 0x05 << 9;
    uint8_t h[8] = {(uint8_t)w0, (uint8_t)(w0 >> 8), (uint8_t)w1, (uint8_t)(w1 >> 8), 'T', 'C', 'P', 'T'};
    ms_pool_header d;
    ms_pool_decode(MS_POOL_X86, h, &d);
    assert_int_equal(d.previous_size, 0x1ff * 8);
    assert_int_equal(d.pool_index, 0x41);
    assert_int_equal(d.block_size, 0x123 * 8);
    assert_int_equal(d.pool_type, 5);
    assert_int_equal(d.tag, ms_pool_tag_value("TCPT"));
    assert_true(d.process_billed == 0);
    assert_int_equal(ms_pool_header_size(MS_POOL_X86), 8);
    assert_int_equal(ms_pool_unit(MS_POOL_X86), 8);
}

static void test_pool_type_classes(void **state)
{
    (void)state;
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_NONPAGED, 0), MS_POOL_CLASS_FREE);
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_NONPAGED, 1), MS_POOL_CLASS_NONPAGED);
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_NONPAGED, 2), MS_POOL_CLASS_PAGED);
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_PAGED, 0), MS_POOL_CLASS_FREE);
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_PAGED, 3), MS_POOL_CLASS_PAGED);
    assert_int_equal(ms_pool_type_class(MS_POOLTYPE_ODD_PAGED, 2), MS_POOL_CLASS_NONPAGED);
    ms_pool_rule r;
    ms_pool_rule_init(&r);
    ms_pool_rule_set_types(&r, MS_POOLTYPE_ODD_PAGED, MS_POOL_CLASS_FREE | MS_POOL_CLASS_NONPAGED);
    assert_int_equal(r.pool_types[0], 0x55); /* 0, 2, 4, 6 */
    assert_int_equal(r.pool_types[31], 0x55);
    ms_pool_rule_set_types(&r, MS_POOLTYPE_ODD_NONPAGED, MS_POOL_CLASS_NONPAGED);
    assert_int_equal(r.pool_types[0], 0xaa);
}

static int accepts(const ms_pool_rule *r, ms_pool_layout layout, const uint8_t *page, uint64_t at)
{
    ms_pool_header h;
    ms_pool_decode(layout, page + at, &h);
    return ms_pool_rule_accepts(r, layout, 0x7000 + at, &h, page + at, 0x2000 - at, at);
}

static void test_rules(void **state)
{
    (void)state;
    uint8_t *page = calloc(1, 0x2000);
    assert_non_null(page);
    /* Three blocks filling a page: 0x100, 0x300, 0xc00. */
    put_x64(page, 0x0, 0, 0x100, 2, "AAAA");
    put_x64(page, 0x100, 0x100, 0x300, 2, "TcpE");
    put_x64(page, 0x400, 0x300, 0xc00, 2, "BBBB");
    ms_pool_rule r;
    ms_pool_rule_init(&r);
    r.checks = MS_POOL_CHECK_PAGE | MS_POOL_CHECK_NEIGHBOURS;
    assert_true(accepts(&r, MS_POOL_X64, page, 0x100));
    assert_true(accepts(&r, MS_POOL_X64, page, 0x400));
    assert_true(accepts(&r, MS_POOL_X64, page, 0x0));

    r.min_block = 0x310;
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    r.min_block = 0x300;
    r.max_block = 0x2f0;
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    r.max_block = 0x300;
    r.object_size = 0x2f8; /* 0x2f8 + 16-byte header > 0x300 */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    r.object_size = 0x2f0;
    assert_true(accepts(&r, MS_POOL_X64, page, 0x100));

    ms_pool_rule_init(&r);
    r.checks = MS_POOL_CHECK_NEIGHBOURS;
    page[0x102] = 0x20;        /* BlockSize 0x200: the next header's PreviousSize disagrees */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    page[0x102] = 0x30;
    page[0x2] = 0x20;          /* the previous block's BlockSize disagrees */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    page[0x2] = 0x10;
    assert_true(accepts(&r, MS_POOL_X64, page, 0x100));

    ms_pool_rule_init(&r);
    r.checks = MS_POOL_CHECK_PAGE;
    page[0x402] = 0xd0;        /* 0xd00 from page offset 0x400 crosses the page */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x400));
    page[0x402] = 0xc0;
    page[0x0] = 0x01;          /* PreviousSize at the start of a page */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x0));
    page[0x0] = 0;

    ms_pool_rule_init(&r);
    r.max_pool_index = 0;
    page[0x101] = 2;
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    page[0x101] = 0;
    assert_true(accepts(&r, MS_POOL_X64, page, 0x100));

    ms_pool_rule_init(&r);
    page[0x102] = 0;           /* BlockSize 0 is never a block */
    assert_false(accepts(&r, MS_POOL_X64, page, 0x100));
    page[0x102] = 0x30;
    ms_pool_header h;
    ms_pool_decode(MS_POOL_X64, page + 0x100, &h);
    r.checks = MS_POOL_CHECK_WHOLE;
    assert_false(ms_pool_rule_accepts(&r, MS_POOL_X64, 0x7100, &h, page + 0x100, 0x2ff, 0x100));
    assert_true(ms_pool_rule_accepts(&r, MS_POOL_X64, 0x7100, &h, page + 0x100, 0x300, 0x100));
    assert_false(ms_pool_rule_accepts(&r, MS_POOL_X64, 0x7108, &h, page + 0x100, 0x300, 0x100));
    assert_false(ms_pool_rule_accepts(&r, MS_POOL_X64, 0x7100, &h, page + 0x100, 15, 0x100));

    /* x86: 8-byte units and a 9-bit BlockSize. */
    memset(page, 0, 0x2000);
    put_x86(page, 0x0, 0, 0, 0x1f8, 1, "TCPT");
    put_x86(page, 0x1f8, 0x1f8, 0, 0xe08, 1, "TCPA");
    ms_pool_rule_init(&r);
    r.checks = MS_POOL_CHECK_PAGE | MS_POOL_CHECK_NEIGHBOURS;
    ms_pool_rule_set_types(&r, MS_POOLTYPE_ODD_NONPAGED, MS_POOL_CLASS_NONPAGED);
    assert_true(accepts(&r, MS_POOL_X86, page, 0x0));
    assert_true(accepts(&r, MS_POOL_X86, page, 0x1f8));
    put_x86(page, 0x1f8, 0x1f8, 0, 0xe08, 2, "TCPA"); /* paged under the XP convention */
    assert_false(accepts(&r, MS_POOL_X86, page, 0x1f8));
    free(page);
}

static void test_api_errors(void **state)
{
    (void)state;
    ms_tagscan_options so;
    ms_tagscan_options_init(&so);
    ms_tagscan *sc;
    so.layout = (ms_pool_layout)7;
    assert_int_equal(ms_tagscan_create(&so, &sc), MS_ERR_ARG);
    ms_tagscan_options_init(&so);
    so.chunk_size = 100;
    assert_int_equal(ms_tagscan_create(&so, &sc), MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "chunk"));
    ms_tagscan_options_init(&so);
    assert_int_equal(ms_tagscan_create(&so, &sc), MS_OK);
    assert_non_null(ms_tagscan_kernel_name(sc));
    char tag[5];
    for (int i = 0; i < MS_TAGSCAN_MAX_TAGS; i++) {
        snprintf(tag, sizeof tag, "T%03d", i);
        assert_int_equal(ms_tagscan_add_tag(sc, tag, NULL, NULL), MS_OK);
    }
    assert_int_equal(ms_tagscan_add_tag(sc, "Xtra", NULL, NULL), MS_ERR_LIMIT);
    ms_tagscan_destroy(sc);
    assert_int_equal(ms_tagscan_create(NULL, &sc), MS_OK);
    assert_int_equal(ms_tagscan_add_tag(sc, "TcpE", NULL, NULL), MS_OK);
    assert_int_equal(ms_tagscan_add_tag(sc, "TcpE", NULL, NULL), MS_ERR_ARG);
    ms_tagscan_destroy(sc);
}

/* ---- whole scans ---- */

static void netscan_x64_tags(tag_spec *t)
{
    static const char *const names[] = {"TcpE", "TcpL", "UdpA", "TTcb", "TcTW"};
    for (size_t i = 0; i < 5; i++) {
        t[i].tag = names[i];
        ms_pool_rule_init(&t[i].rule);
        ms_pool_rule_set_types(&t[i].rule, MS_POOLTYPE_ODD_PAGED, MS_POOL_CLASS_FREE | MS_POOL_CLASS_NONPAGED);
    }
    t[0].rule.min_block = 0x290;
    t[1].rule.min_block = 0x80;
    t[2].rule.min_block = 0xb0;
    t[2].rule.max_block = 0x800;
    t[4].rule.checks = MS_POOL_CHECK_WHOLE;
}

#define RAW_LEN (9 * MIB)

/* A 9 MiB raw x64 image, hits and decoys.  Returns the physical model. */
static uint8_t *raw_x64_image(found *want, size_t *nwant)
{
    uint8_t *p = phys_new(RAW_LEN);
    size_t n = 0;
    put_x64(p, 0x1000, 0, 0x300, 2, "TcpE");                 /* hit */
    want[n++] = (found){0x1000, 0, 0x300, 0x300};
    put_x64(p, 0x2010, 0x10, 0x100, 0, "TcpL");              /* hit: free */
    want[n++] = (found){0x2010, 1, 0x100, 0x100};
    put_x64(p, 0x3000, 0, 0x300, 3, "UdpA");                 /* paged */
    put_x64(p, 0x4000, 0, 0x20, 2, "TcpE");                  /* too small */
    put_x64(p, 0x5000, 0, 0xff0, 2, "UdpA");                 /* too large */
    put_x64(p, 0x6008, 0, 0x300, 2, "TcpE");                 /* header not 16-aligned */
    memcpy(p + 0x7003, "TcpE", 4);                           /* text */
    put_x64(p, 0x8000, 0, 0x0, 2, "TcpE");                   /* BlockSize 0 */
    put_x64(p, 0x9000, 0, 0x300, 2, "TcpX");                 /* another tag */
    put_x64(p, 4 * MIB - 0x10, 0, 0x300, 2, "TcpE");         /* crosses the first 4 MiB boundary */
    want[n++] = (found){4 * MIB - 0x10, 0, 0x300, 0x300};
    put_x64(p, 4 * MIB, 0, 0x100, 2, "TcpL");                /* starts at it */
    want[n++] = (found){4 * MIB, 1, 0x100, 0x100};
    put_x64(p, 8 * MIB - 0x100, 0, 0xff0, 2, "TTcb");        /* crosses the second */
    want[n++] = (found){8 * MIB - 0x100, 3, 0xff0, 0xff0};
    put_x64(p, RAW_LEN - 0x200, 0, 0x100, 2, "UdpA");        /* whole, near the end */
    want[n++] = (found){RAW_LEN - 0x200, 2, 0x100, 0x100};
    put_x64(p, RAW_LEN - 0x40, 0, 0x200, 2, "TcTW");         /* cut by the end: must be whole */
    put_x64(p, RAW_LEN - 0x10, 0, 0x200, 2, "TTcb");         /* cut by the end: reported cut */
    want[n++] = (found){RAW_LEN - 0x10, 3, 0x200, 0x10};
    *nwant = n;
    return p;
}

static void test_raw_x64(void **state)
{
    (void)state;
    found want[32];
    size_t nwant;
    uint8_t *phys = raw_x64_image(want, &nwant);
    char path[512];
    temp_path(path, sizeof path);
    write_all(path, phys, RAW_LEN, 0);
    tag_spec tags[5];
    netscan_x64_tags(tags);
    scan_all_ways(path, 0, MS_POOL_X64, tags, 5, phys, want, nwant);
    scan_all_ways(path, 1, MS_POOL_X64, tags, 5, phys, want, nwant);
    unlink(path);
    free(phys);
}

static void test_raw_x86(void **state)
{
    (void)state;
    size_t len = 5 * MIB;
    uint8_t *p = phys_new(len);
    found want[16];
    size_t n = 0;
    put_x86(p, 0x1008, 0x8, 0, 0x1a0, 1, "TCPT");            /* hit: 8-aligned, non-paged (XP) */
    want[n++] = (found){0x1008, 0, 0x1a0, 0x1a0};
    put_x86(p, 0x2000, 0, 0, 0x1a0, 2, "TCPT");              /* paged */
    put_x86(p, 0x3004, 0, 0, 0x1a0, 1, "TCPT");              /* not 8-aligned */
    put_x86(p, 0x4000, 0, 0, 0x190, 1, "TCPT");              /* smaller than 0x198 */
    put_x86(p, 0x5000, 0, 3, 0x1a0, 1, "TCPA");              /* PoolIndex 3 > 0 */
    put_x86(p, 0x6000, 0, 0, 0x168, 0, "TCPA");              /* hit: free */
    want[n++] = (found){0x6000, 1, 0x168, 0x168};
    put_x86(p, 4 * MIB - 8, 0, 0, 0xff8, 1, "TCPA");         /* crosses 4 MiB */
    want[n++] = (found){4 * MIB - 8, 1, 0xff8, 0xff8};
    put_x86(p, len - 8, 0, 0, 0x1a0, 1, "TCPT");             /* header is the last 8 bytes */
    want[n++] = (found){len - 8, 0, 0x1a0, 8};
    char path[512];
    temp_path(path, sizeof path);
    write_all(path, p, len, 0);
    tag_spec tags[2];
    tags[0].tag = "TCPT";
    tags[1].tag = "TCPA";
    for (size_t i = 0; i < 2; i++) {
        ms_pool_rule_init(&tags[i].rule);
        ms_pool_rule_set_types(&tags[i].rule, MS_POOLTYPE_ODD_NONPAGED, MS_POOL_CLASS_FREE | MS_POOL_CLASS_NONPAGED);
        tags[i].rule.max_pool_index = 0;
    }
    tags[0].rule.min_block = 0x198;
    tags[1].rule.min_block = 0x15c;
    scan_all_ways(path, 0, MS_POOL_X86, tags, 2, p, want, n);
    scan_all_ways(path, 1, MS_POOL_X86, tags, 2, p, want, n);
    unlink(path);
    free(p);
}

#define LIME_PHYS (16 * MIB + 0x1000)

/* Ranges with holes, two ranges that touch (separate in the file), an
 * unaligned range start and a range far away. */
static const prange LIME_RANGES[] = {
    {0x0, 0x100000},
    {0x200000, 0x100000},
    {0x300000, 0x40000},
    {0x400008, 0x1ff8},
    {16 * MIB, 0x1000},
};

static uint8_t *lime_model(found *want, size_t *nwant)
{
    uint8_t *p = phys_new(LIME_PHYS);
    size_t n = 0;
    put_x64(p, 0x800, 0, 0x300, 2, "TcpE");
    want[n++] = (found){0x800, 0, 0x300, 0x300};
    put_x64(p, 0xfff00, 0, 0x300, 2, "TcpE");                /* cut by the hole after it */
    want[n++] = (found){0xfff00, 0, 0x300, 0x100};
    put_x64(p, 0x150000, 0, 0x300, 2, "TcpE");               /* in a hole: not in the file */
    put_x64(p, 0x2fff00, 0, 0x300, 2, "TcpE");               /* crosses into the touching range */
    want[n++] = (found){0x2fff00, 0, 0x300, 0x300};
    put_x64(p, 0x400008, 0, 0x300, 2, "TcpE");               /* range start, not 16-aligned */
    put_x64(p, 0x400010, 0, 0x300, 2, "TcpL");
    want[n++] = (found){0x400010, 1, 0x300, 0x300};
    put_x64(p, 16 * MIB + 0xff0, 0, 0x100, 0, "UdpA");       /* last 16 bytes of the image */
    want[n++] = (found){16 * MIB + 0xff0, 2, 0x100, 0x10};
    *nwant = n;
    return p;
}

static void test_lime_holes(void **state)
{
    (void)state;
    found want[16];
    size_t nwant;
    uint8_t *phys = lime_model(want, &nwant);
    size_t len;
    uint8_t *file = lime_build(phys, LIME_RANGES, sizeof LIME_RANGES / sizeof *LIME_RANGES, &len);
    char path[512];
    temp_path(path, sizeof path);
    write_all(path, file, len, 0);
    tag_spec tags[5];
    netscan_x64_tags(tags);
    scan_all_ways(path, 0, MS_POOL_X64, tags, 5, phys, want, nwant);
    scan_all_ways(path, 1, MS_POOL_X64, tags, 5, phys, want, nwant);

    /* gzip: one read position, reads kept in order whatever the threads. */
    write_all(path, file, len, 1);
    collector *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->phys = phys;
    for (unsigned threads = 1; threads <= 2; threads++) {
        scan_file(path, 0, MS_POOL_X64, tags, 5, threads, MS_TAGSCAN_AUTO, 64u << 10, c);
        assert_hits(c, want, nwant);
    }
    free(c);
    unlink(path);
    free(file);
    free(phys);
}

static void test_stop_and_progress(void **state)
{
    (void)state;
    found want[32];
    size_t nwant;
    uint8_t *phys = raw_x64_image(want, &nwant);
    char path[512];
    temp_path(path, sizeof path);
    write_all(path, phys, RAW_LEN, 0);
    tag_spec tags[5];
    netscan_x64_tags(tags);
    collector *c = calloc(1, sizeof *c);
    assert_non_null(c);
    for (unsigned threads = 1; threads <= 2; threads++) {
        c->stop_after = 3;
        scan_file(path, 0, MS_POOL_X64, tags, 5, threads, MS_TAGSCAN_AUTO, 64u << 10, c);
        assert_int_equal(c->n, 3);
        assert_int_equal(c->hits[2].paddr, want[2].paddr);
        assert_true(c->progress_done < RAW_LEN);
    }
    free(c);
    unlink(path);
    free(phys);
}

/* Every 16 bytes a valid header: the worst case for the hit lists. */
typedef struct dense {
    uint64_t n, next;
    int ordered;
} dense;

static int dense_hit(const ms_pool_hit *hit, void *user)
{
    dense *d = user;
    if (hit->paddr != d->next || hit->block_len != 16)
        d->ordered = 0;
    d->next = hit->paddr + 16;
    d->n++;
    return 0;
}

static void test_dense_hits(void **state)
{
    (void)state;
    size_t len = 2 * MIB;
    uint8_t *p = calloc(1, len);
    assert_non_null(p);
    for (size_t at = 0; at < len; at += 16)
        put_x64(p, at, 0, 0x10, 2, "TcpE");
    char path[512];
    temp_path(path, sizeof path);
    write_all(path, p, len, 0);
    ms_image *img;
    assert_int_equal(ms_image_open(path, NULL, &img), MS_OK);
    for (unsigned threads = 1; threads <= 2; threads++) {
        ms_tagscan_options so;
        ms_tagscan_options_init(&so);
        so.threads = threads;
        so.chunk_size = 256u << 10;
        ms_tagscan *sc;
        assert_int_equal(ms_tagscan_create(&so, &sc), MS_OK);
        assert_int_equal(ms_tagscan_run(sc, img, dense_hit, NULL, NULL, NULL), MS_ERR_ARG); /* no tags yet */
        assert_int_equal(ms_tagscan_add_tag(sc, "TcpE", NULL, NULL), MS_OK);
        assert_int_equal(ms_tagscan_run(sc, img, NULL, NULL, NULL, NULL), MS_ERR_ARG);
        dense d = {0, 0, 1};
        assert_int_equal(ms_tagscan_run(sc, img, dense_hit, &d, NULL, NULL), MS_OK);
        assert_int_equal(d.n, len / 16);
        assert_true(d.ordered);
        ms_tagscan_destroy(sc);
    }
    ms_image_close(img);
    unlink(path);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_x64),
        cmocka_unit_test(test_decode_x86),
        cmocka_unit_test(test_pool_type_classes),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_raw_x64),
        cmocka_unit_test(test_raw_x86),
        cmocka_unit_test(test_lime_holes),
        cmocka_unit_test(test_stop_and_progress),
        cmocka_unit_test(test_dense_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* VMware .vmem images laid out by their .vmss/.vmsn: finding the metadata,
 * the region map around the PCI hole, flat fallbacks and broken metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "image/vmware.h"
#include "memsift/image.h"
#include "support/test_dir.h"

#define PAGE 4096u
#define MAGIC_V0 0xbed2bed0u
#define MAGIC_V1 0xbad1bad1u
#define MAGIC_V2 0xbed2bed2u
#define MAGIC_V3 0xbed3bed3u

/* ---- test directory ---- */

static char g_dir[512];

static int setup(void **state)
{
    (void)state;
    ms_test_dir_create(g_dir, sizeof g_dir, "vmwaretest");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ms_test_dir_remove(g_dir);
    return 0;
}

static void path_of(char *out, size_t size, const char *name)
{
    ms_test_dir_path(out, size, g_dir, name);
}

static void write_file(const char *name, const void *data, size_t len)
{
    char p[1024];
    path_of(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- byte buffers ---- */

typedef struct buf {
    uint8_t *d;
    size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    if (n > 0)
        memcpy(b->d + b->len, p, n);
    b->len += n;
}

static void put_le(buf *b, uint64_t v, unsigned n)
{
    uint8_t x[8];
    assert_true(n <= sizeof x);
    for (unsigned i = 0; i < n; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, n);
}

static void set_le(buf *b, size_t off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        b->d[off + i] = (uint8_t)(v >> (8 * i));
}

static void buf_free(buf *b)
{
    free(b->d);
    memset(b, 0, sizeof *b);
}

/* ---- checkpoint tags ---- */

/* flags = nindx << 6 | value size; then name length, name, indices, value. */
static void tag_raw(buf *b, const char *name, unsigned nindx, const uint32_t *idx, unsigned size, uint64_t value)
{
    put_le(b, (uint64_t)(nindx << 6 | size), 1);
    put_le(b, strlen(name), 1);
    put(b, name, strlen(name));
    for (unsigned i = 0; i < nindx; i++)
        put_le(b, idx[i], 4);
    for (unsigned i = 0; i < size; i++)
        put_le(b, i < 8 ? (uint8_t)(value >> (8 * i)) : 0, 1);
}

static void tag_region(buf *b, const char *name, uint32_t index, unsigned size, uint64_t value)
{
    tag_raw(b, name, 1, &index, size, value);
}

/* A block tag: two sizes of `width` bytes, a u16 pad length, pad, data. */
static void tag_block(buf *b, const char *name, unsigned width, uint64_t nbytes, unsigned pad, int compressed)
{
    put_le(b, compressed ? 62 : 63, 1);
    put_le(b, strlen(name), 1);
    put(b, name, strlen(name));
    put_le(b, nbytes, width);
    put_le(b, nbytes, width);
    put_le(b, pad, 2);
    for (unsigned i = 0; i < pad; i++)
        put_le(b, 0xAA, 1);
    for (uint64_t i = 0; i < nbytes; i++)
        put_le(b, (uint8_t)(0x5A ^ i), 1);
}

static void tag_end(buf *b)
{
    put_le(b, 0, 2);
}

typedef struct region_spec {
    uint64_t ppn, page_num, pages;
} region_spec;

/* The region tags as VMware writes them (4-byte values), listed last index
 * first to show that tag order does not matter, with regionsCount after. */
static void region_tags(buf *b, const region_spec *r, size_t n)
{
    for (size_t i = n; i > 0; i--) {
        tag_region(b, "regionPageNum", (uint32_t)(i - 1), 4, r[i - 1].page_num);
        tag_region(b, "regionPPN", (uint32_t)(i - 1), 4, r[i - 1].ppn);
        tag_region(b, "regionSize", (uint32_t)(i - 1), 4, r[i - 1].pages);
    }
    tag_raw(b, "regionsCount", 0, NULL, 4, n);
}

/* A whole checkpoint file: groups "Checkpoint", "memory" (holding `mem`)
 * and "cpu".  `mem_size` overrides the memory group's recorded size unless
 * it is UINT64_MAX. */
static void wrap(buf *out, uint32_t magic, const buf *mem, uint64_t mem_size)
{
    static const char *const names[3] = {"Checkpoint", "memory", "cpu"};
    put_le(out, magic, 4);
    put_le(out, 0, 4);
    put_le(out, 3, 4);
    size_t table = out->len;
    for (int g = 0; g < 3; g++) {
        char name[64] = {0};
        snprintf(name, sizeof name, "%s", names[g]);
        put(out, name, sizeof name);
        put_le(out, 0, 8);
        put_le(out, 0, 8);
    }
    for (int g = 0; g < 3; g++) {
        size_t start = out->len;
        if (g == 0) {
            tag_raw(out, "version", 0, NULL, 4, 8);
            tag_end(out);
        } else if (g == 1) {
            put(out, mem->d, mem->len);
        } else {
            uint32_t cpu = 0;
            tag_raw(out, "rip", 1, &cpu, 8, 0xfffff80001234567ull);
            tag_end(out);
        }
        uint64_t size = (g == 1 && mem_size != UINT64_MAX) ? mem_size : out->len - start;
        set_le(out, table + 80 * (size_t)g + 64, start, 8);
        set_le(out, table + 80 * (size_t)g + 72, size, 8);
    }
}

/* The usual memory group: a few unrelated tags (one a block) and the
 * regions. */
static void memory_group(buf *mem, unsigned block_width, const region_spec *r, size_t n)
{
    tag_raw(mem, "align_mask", 0, NULL, 4, 0xffff);
    tag_block(mem, "Memory", block_width, 40, 3, 0);
    tag_raw(mem, "hotSetSize", 0, NULL, 8, 0);
    region_tags(mem, r, n);
    tag_end(mem);
}

static void write_meta(const char *name, uint32_t magic, const region_spec *r, size_t n)
{
    buf mem = {0}, meta = {0};
    memory_group(&mem, magic == MAGIC_V0 ? 4 : 8, r, n);
    wrap(&meta, magic, &mem, UINT64_MAX);
    write_file(name, meta.d, meta.len);
    buf_free(&mem);
    buf_free(&meta);
}

/* ---- .vmem contents ---- */

static uint8_t phys_byte(uint64_t a)
{
    return (uint8_t)((a >> 12) * 31 + (a & 0xfff) * 7 + 1);
}

/* A .vmem of `pages` pages where each region's pages hold phys_byte() of
 * their guest address; pages no region claims hold 0xEE. */
static uint8_t *make_vmem(size_t pages, const region_spec *r, size_t n)
{
    uint8_t *v = malloc(pages * PAGE);
    assert_non_null(v);
    memset(v, 0xEE, pages * PAGE);
    for (size_t i = 0; i < n; i++)
        for (uint64_t p = 0; p < r[i].pages; p++)
            for (uint64_t o = 0; o < PAGE; o++)
                v[(r[i].page_num + p) * PAGE + o] = phys_byte((r[i].ppn + p) * PAGE + o);
    return v;
}

static void write_vmem(const char *name, size_t pages, const region_spec *r, size_t n)
{
    uint8_t *v = make_vmem(pages, r, n);
    write_file(name, v, pages * PAGE);
    free(v);
}

/* Guest RAM split by a hole: 16 pages at 0, then 8 pages at 1 MiB, stored
 * back to back in a 24-page .vmem. */
static const region_spec hole_regions[2] = {{0, 0, 16}, {0x100, 16, 8}};
#define HOLE_VMEM_PAGES 24

static ms_image *open_ok(const char *name, const ms_image_options *opts)
{
    char p[1024];
    path_of(p, sizeof p, name);
    ms_image *img = NULL;
    ms_status st = ms_image_open(p, opts, &img);
    if (st != MS_OK)
        fail_msg("opening %s: %s (%s)", name, ms_status_name(st), ms_last_error());
    return img;
}

static void expect_open_fails(const char *name, const ms_image_options *opts, ms_status want, const char *text)
{
    char p[1024];
    path_of(p, sizeof p, name);
    ms_image *img = NULL;
    ms_status st = ms_image_open(p, opts, &img);
    if (st != want || strstr(ms_last_error(), text) == NULL)
        fail_msg("opening %s: expected %s with \"%s\", got %s: %s", name, ms_status_name(want), text,
                 ms_status_name(st), ms_last_error());
    assert_null(img);
}

static const char *base_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Every guest byte of the hole layout reads back, and the hole is absent. */
static void check_hole_layout(ms_image *img)
{
    const ms_image_info *info = ms_image_get_info(img);
    assert_int_equal(info->format, MS_FORMAT_VMWARE);
    assert_int_equal(info->vmware_regions, 2);
    assert_int_equal(info->range_count, 2);
    assert_int_equal(info->present_bytes, 24 * PAGE);
    assert_int_equal(info->max_address, 0x108000);
    assert_int_equal(info->has_physical_memory, 1);
    ms_phys_range r;
    assert_int_equal(ms_image_range(img, 0, &r), MS_OK);
    assert_int_equal(r.start, 0);
    assert_int_equal(r.length, 16 * PAGE);
    assert_int_equal(ms_image_range(img, 1, &r), MS_OK);
    assert_int_equal(r.start, 0x100000);
    assert_int_equal(r.length, 8 * PAGE);

    uint8_t *page = malloc(16 * PAGE);
    assert_non_null(page);
    for (size_t i = 0; i < 2; i++) {
        uint64_t base = hole_regions[i].ppn * PAGE, len = hole_regions[i].pages * PAGE;
        assert_int_equal(ms_image_read(img, base, page, (size_t)len), MS_OK);
        for (uint64_t o = 0; o < len; o += 97)
            assert_int_equal(page[o], phys_byte(base + o));
        assert_int_equal(page[len - 1], phys_byte(base + len - 1));
    }
    /* The first page above the hole is .vmem page 16, not page 256. */
    uint8_t b;
    assert_int_equal(ms_image_read(img, 0x100123, &b, 1), MS_OK);
    assert_int_equal(b, phys_byte(0x100123));
    /* A read running from RAM into the hole: present part, then zeros. */
    memset(page, 0x77, 2 * PAGE);
    assert_int_equal(ms_image_read(img, 15 * PAGE, page, 2 * PAGE), MS_ERR_NOT_PRESENT);
    assert_int_equal(page[0], phys_byte(15 * PAGE));
    assert_int_equal(page[PAGE - 1], phys_byte(16 * PAGE - 1));
    assert_int_equal(page[PAGE], 0);
    assert_int_equal(page[2 * PAGE - 1], 0);
    assert_int_equal(ms_image_read(img, 0x80000, &b, 1), MS_ERR_NOT_PRESENT);
    assert_int_equal(ms_image_read(img, 0x108000, &b, 1), MS_ERR_NOT_PRESENT);
    free(page);
}

/* ---- tests ---- */

static void test_regions_around_hole(void **state)
{
    (void)state;
    write_vmem("win.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    write_meta("win.vmss", MAGIC_V3, hole_regions, 2);
    ms_image *img = open_ok("win.vmem", NULL);
    check_hole_layout(img);
    const ms_image_info *info = ms_image_get_info(img);
    assert_non_null(info->vmware_metadata);
    assert_string_equal(base_of(info->vmware_metadata), "win.vmss");
    assert_string_equal(ms_image_format_name(info->format), "VMware .vmem");
    ms_image_close(img);
}

static void test_every_magic(void **state)
{
    (void)state;
    static const uint32_t magics[] = {MAGIC_V0, MAGIC_V1, MAGIC_V2, MAGIC_V3};
    write_vmem("m.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    for (size_t i = 0; i < 4; i++) {
        /* Version 0 files store block sizes as u32, the others as u64; a
         * wrong width would misplace every tag after the block. */
        write_meta("m.vmss", magics[i], hole_regions, 2);
        ms_image *img = open_ok("m.vmem", NULL);
        check_hole_layout(img);
        ms_image_close(img);
    }
}

static void test_vmsn_any_case(void **state)
{
    (void)state;
    write_vmem("Snap.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    write_meta("Snap.VmSn", MAGIC_V2, hole_regions, 2);
    ms_image *img = open_ok("Snap.vmem", NULL);
    check_hole_layout(img);
    assert_string_equal(base_of(ms_image_get_info(img)->vmware_metadata), "Snap.VmSn");
    ms_image_close(img);
    /* Only the extension's case is free: "snap.vmsn" is another name. */
    char p[1024], q[1024];
    path_of(p, sizeof p, "Snap.VmSn");
    path_of(q, sizeof q, "snap.vmsn");
    assert_int_equal(rename(p, q), 0);
    img = open_ok("Snap.vmem", NULL);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_RAW);
    ms_image_close(img);
}

static void test_vmss_preferred_over_vmsn(void **state)
{
    (void)state;
    write_vmem("both.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    write_meta("both.vmss", MAGIC_V3, hole_regions, 2);
    write_file("both.vmsn", "not a checkpoint", 16);
    ms_image *img = open_ok("both.vmem", NULL);
    check_hole_layout(img);
    assert_string_equal(base_of(ms_image_get_info(img)->vmware_metadata), "both.vmss");
    ms_image_close(img);
}

static void check_flat(const char *name, size_t pages, const char *meta_name, const ms_image_options *opts)
{
    ms_image *img = open_ok(name, opts);
    const ms_image_info *info = ms_image_get_info(img);
    if (meta_name != NULL) {
        assert_int_equal(info->format, MS_FORMAT_VMWARE);
        assert_string_equal(base_of(info->vmware_metadata), meta_name);
    } else {
        assert_int_equal(info->format, MS_FORMAT_RAW);
        assert_null(info->vmware_metadata);
    }
    assert_int_equal(info->vmware_regions, 0);
    assert_int_equal(info->range_count, 1);
    assert_int_equal(info->present_bytes, pages * PAGE);
    /* Flat: physical address 0x10123 is .vmem offset 0x10123, the byte the
     * hole layout put there for guest page 0x100. */
    uint8_t b;
    assert_int_equal(ms_image_read(img, 0x10123, &b, 1), MS_OK);
    assert_int_equal(b, phys_byte(0x100123));
    ms_image_close(img);
}

static void test_regions_count_zero_is_flat(void **state)
{
    (void)state;
    write_vmem("small.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    write_meta("small.vmss", MAGIC_V3, NULL, 0);
    check_flat("small.vmem", HOLE_VMEM_PAGES, "small.vmss", NULL);
}

static void test_regions_count_absent_is_flat(void **state)
{
    (void)state;
    write_vmem("nocount.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    buf mem = {0}, meta = {0};
    tag_raw(&mem, "align_mask", 0, NULL, 4, 0xffff);
    tag_end(&mem);
    wrap(&meta, MAGIC_V3, &mem, UINT64_MAX);
    write_file("nocount.vmss", meta.d, meta.len);
    check_flat("nocount.vmem", HOLE_VMEM_PAGES, "nocount.vmss", NULL);

    /* No memory group at all: only the header and a "cpu" group. */
    buf only = {0};
    put_le(&only, MAGIC_V3, 4);
    put_le(&only, 0, 4);
    put_le(&only, 1, 4);
    char name[64] = "cpu";
    put(&only, name, sizeof name);
    put_le(&only, 92, 8);
    put_le(&only, 2, 8);
    tag_end(&only);
    write_file("nocount.vmss", only.d, only.len);
    check_flat("nocount.vmem", HOLE_VMEM_PAGES, "nocount.vmss", NULL);
    buf_free(&mem);
    buf_free(&meta);
    buf_free(&only);
}

static void test_missing_sidecar_is_raw(void **state)
{
    (void)state;
    write_vmem("alone.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    /* Neighbours with another base name are not its metadata. */
    write_meta("alone2.vmss", MAGIC_V3, hole_regions, 2);
    write_meta("alon.vmss", MAGIC_V3, hole_regions, 2);
    check_flat("alone.vmem", HOLE_VMEM_PAGES, NULL, NULL);
}

static void test_option_none_and_path(void **state)
{
    (void)state;
    write_vmem("opt.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    write_meta("opt.vmss", MAGIC_V3, hole_regions, 2);
    ms_image_options o;
    ms_image_options_init(&o);
    assert_null(o.vmware_metadata);
    o.vmware_metadata = MS_VMWARE_METADATA_NONE;
    check_flat("opt.vmem", HOLE_VMEM_PAGES, NULL, &o);

    /* An explicit file wins over the one beside the image. */
    write_meta("opt.vmss", MAGIC_V3, NULL, 0);
    write_meta("elsewhere.bin", MAGIC_V3, hole_regions, 2);
    char p[1024];
    path_of(p, sizeof p, "elsewhere.bin");
    o.vmware_metadata = p;
    ms_image *img = open_ok("opt.vmem", &o);
    check_hole_layout(img);
    assert_string_equal(ms_image_get_info(img)->vmware_metadata, p);
    ms_image_close(img);

    path_of(p, sizeof p, "absent.vmss");
    expect_open_fails("opt.vmem", &o, MS_ERR_IO, "absent.vmss");
}

static void test_option_path_needs_raw_image(void **state)
{
    (void)state;
    write_meta("meta.vmss", MAGIC_V3, hole_regions, 2);
    /* A one-range LiME image. */
    buf lime = {0};
    put_le(&lime, 0x4C694D45u, 4);
    put_le(&lime, 1, 4);
    put_le(&lime, 0, 8);
    put_le(&lime, PAGE - 1, 8);
    put_le(&lime, 0, 8);
    for (unsigned i = 0; i < PAGE; i++)
        put_le(&lime, 0, 1);
    write_file("lime.vmem", lime.d, lime.len);
    buf_free(&lime);
    ms_image_options o;
    ms_image_options_init(&o);
    char p[1024];
    path_of(p, sizeof p, "meta.vmss");
    o.vmware_metadata = p;
    expect_open_fails("lime.vmem", &o, MS_ERR_ARG, "LiME image");
    /* Without the option a LiME image ignores a .vmss beside it. */
    write_meta("lime.vmss", MAGIC_V3, hole_regions, 2);
    ms_image *img = open_ok("lime.vmem", NULL);
    assert_int_equal(ms_image_get_info(img)->format, MS_FORMAT_LIME);
    ms_image_close(img);
}

static void test_gzip_vmem(void **state)
{
    (void)state;
    uint8_t *v = make_vmem(HOLE_VMEM_PAGES, hole_regions, 2);
    char p[1024];
    path_of(p, sizeof p, "zipped.vmem.gz");
    gzFile gz = gzopen(p, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, v, HOLE_VMEM_PAGES * PAGE), HOLE_VMEM_PAGES * PAGE);
    assert_int_equal(gzclose(gz), Z_OK);
    free(v);
    write_meta("zipped.vmss", MAGIC_V3, hole_regions, 2);
    ms_image_options o;
    ms_image_options_init(&o);
    o.gzip_cache_index = 0;
    ms_image *img = open_ok("zipped.vmem.gz", &o);
    check_hole_layout(img);
    assert_int_equal(ms_image_get_info(img)->compressed, 1);
    ms_image_close(img);
}

static void test_find_sidecar_names(void **state)
{
    (void)state;
    write_file("plain", "x", 1);
    write_file("plain.vmss", "x", 1);
    write_file("two.dots.vmem", "x", 1);
    write_file("two.dots.vmsn", "x", 1);
    write_file("two.vmss", "x", 1);
    char p[1024], *found;
    path_of(p, sizeof p, "plain");
    assert_int_equal(ms_vmware_find_sidecar(p, 0, &found), MS_OK);
    assert_non_null(found);
    assert_string_equal(base_of(found), "plain.vmss");
    free(found);
    /* Only the last extension is replaced. */
    path_of(p, sizeof p, "two.dots.vmem");
    assert_int_equal(ms_vmware_find_sidecar(p, 0, &found), MS_OK);
    assert_non_null(found);
    assert_string_equal(base_of(found), "two.dots.vmsn");
    free(found);
    /* The image itself is never its own metadata. */
    path_of(p, sizeof p, "plain.vmss");
    assert_int_equal(ms_vmware_find_sidecar(p, 0, &found), MS_OK);
    assert_null(found);
    /* ".gz" is stripped only from a compressed image's name. */
    write_file("z.vmem.gz", "x", 1);
    write_file("z.vmem.vmss", "x", 1);
    write_file("z.vmss", "x", 1);
    path_of(p, sizeof p, "z.vmem.gz");
    assert_int_equal(ms_vmware_find_sidecar(p, 1, &found), MS_OK);
    assert_string_equal(base_of(found), "z.vmss");
    free(found);
    assert_int_equal(ms_vmware_find_sidecar(p, 0, &found), MS_OK);
    assert_string_equal(base_of(found), "z.vmem.vmss");
    free(found);
}

/* ---- broken metadata ---- */

typedef struct corrupt_case {
    const char *what;
    void (*build)(buf *meta);
    ms_status want;
    const char *text;
} corrupt_case;

static void wrap_mem(buf *meta, const buf *mem)
{
    wrap(meta, MAGIC_V3, mem, UINT64_MAX);
}

static void c_bad_magic(buf *meta)
{
    put_le(meta, 0xbed4bed4u, 4);
    put_le(meta, 0, 4);
    put_le(meta, 0, 4);
}

static void c_short(buf *meta)
{
    put_le(meta, MAGIC_V3, 4);
    put_le(meta, 1, 2);
}

static void c_many_groups(buf *meta)
{
    put_le(meta, MAGIC_V3, 4);
    put_le(meta, 0, 4);
    put_le(meta, 0xffffffffu, 4);
}

static void c_group_table_cut(buf *meta)
{
    put_le(meta, MAGIC_V3, 4);
    put_le(meta, 0, 4);
    put_le(meta, 3, 4);
    char name[64] = "memory";
    put(meta, name, sizeof name);
    put_le(meta, 100, 8);
    put_le(meta, 2, 8);
}

static void c_group_offset_past_end(buf *meta)
{
    buf mem = {0};
    region_tags(&mem, hole_regions, 2);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    set_le(meta, 12 + 80 + 64, 0x7fffffffffffull, 8);
    buf_free(&mem);
}

static void c_name_past_group(buf *meta)
{
    buf mem = {0};
    region_tags(&mem, hole_regions, 2);
    tag_end(&mem);
    /* The recorded size cuts the group inside the first tag's name. */
    wrap(meta, MAGIC_V3, &mem, 5);
    buf_free(&mem);
}

static void c_file_ends_in_tag(buf *meta)
{
    /* One group, "memory", of recorded size 0: its tags run to the end of
     * the file, which cuts the last value short. */
    put_le(meta, MAGIC_V3, 4);
    put_le(meta, 0, 4);
    put_le(meta, 1, 4);
    char name[64] = "memory";
    put(meta, name, sizeof name);
    put_le(meta, 92, 8);
    put_le(meta, 0, 8);
    region_tags(meta, hole_regions, 2);
    meta->len -= 3;
}

static void c_empty_name(buf *meta)
{
    buf mem = {0};
    put_le(&mem, 4, 1);
    put_le(&mem, 0, 1);
    put_le(&mem, 0, 4);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_count_too_big(buf *meta)
{
    buf mem = {0};
    tag_raw(&mem, "regionsCount", 0, NULL, 4, 4097);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_index_too_big(buf *meta)
{
    buf mem = {0};
    tag_region(&mem, "regionPPN", 100000, 4, 1);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_index_past_count(buf *meta)
{
    buf mem = {0};
    region_tags(&mem, hole_regions, 2);
    tag_region(&mem, "regionSize", 2, 4, 1);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_missing_field(buf *meta)
{
    buf mem = {0};
    tag_region(&mem, "regionPPN", 0, 4, 0);
    tag_region(&mem, "regionPageNum", 0, 4, 0);
    tag_region(&mem, "regionSize", 0, 4, 16);
    tag_region(&mem, "regionPPN", 1, 4, 0x100);
    tag_region(&mem, "regionPageNum", 1, 4, 16);
    tag_raw(&mem, "regionsCount", 0, NULL, 4, 2);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_duplicate(buf *meta)
{
    buf mem = {0};
    region_tags(&mem, hole_regions, 2);
    tag_region(&mem, "regionPPN", 1, 4, 0x200);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_odd_value_size(buf *meta)
{
    buf mem = {0};
    tag_region(&mem, "regionPPN", 0, 3, 0);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_no_index(buf *meta)
{
    buf mem = {0};
    tag_raw(&mem, "regionPPN", 0, NULL, 4, 0);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void with_regions(buf *meta, const region_spec *r, size_t n)
{
    buf mem = {0};
    region_tags(&mem, r, n);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_overlap_guest(buf *meta)
{
    static const region_spec r[2] = {{0, 0, 16}, {15, 16, 8}};
    with_regions(meta, r, 2);
}

static void c_overlap_vmem(buf *meta)
{
    static const region_spec r[2] = {{0, 0, 16}, {0x100, 8, 8}};
    with_regions(meta, r, 2);
}

static void c_past_vmem_end(buf *meta)
{
    static const region_spec r[2] = {{0, 0, 16}, {0x100, 16, 9}};
    with_regions(meta, r, 2);
}

static void c_address_wraps(buf *meta)
{
    buf mem = {0};
    tag_region(&mem, "regionPPN", 0, 8, 0x000fffffffffffffull);
    tag_region(&mem, "regionPageNum", 0, 4, 0);
    tag_region(&mem, "regionSize", 0, 4, 2);
    tag_raw(&mem, "regionsCount", 0, NULL, 4, 1);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_all_empty(buf *meta)
{
    static const region_spec r[2] = {{0, 0, 0}, {0x100, 16, 0}};
    with_regions(meta, r, 2);
}

static void c_block_too_big(buf *meta)
{
    buf mem = {0};
    put_le(&mem, 63, 1);
    put_le(&mem, 6, 1);
    put(&mem, "Memory", 6);
    put_le(&mem, 0x7fffffffffffffffull, 8);
    put_le(&mem, 0, 8);
    put_le(&mem, 0xffff, 2);
    region_tags(&mem, hole_regions, 2);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_block_size_wraps(buf *meta)
{
    buf mem = {0};
    put_le(&mem, 62, 1);
    put_le(&mem, 1, 1);
    put(&mem, "B", 1);
    put_le(&mem, 0xfffffffffffffff0ull, 8);
    put_le(&mem, 0, 8);
    put_le(&mem, 0xffff, 2);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void c_too_many_tags(buf *meta)
{
    buf mem = {0};
    for (uint32_t i = 0; i <= MS_VMWARE_MAX_TAGS; i++)
        tag_raw(&mem, "x", 0, NULL, 0, 0);
    tag_end(&mem);
    wrap_mem(meta, &mem);
    buf_free(&mem);
}

static void test_corrupt_metadata(void **state)
{
    (void)state;
    static const corrupt_case cases[] = {
        {"bad magic", c_bad_magic, MS_ERR_FORMAT, "found 0xbed4bed4"},
        {"short file", c_short, MS_ERR_TRUNCATED, "fewer than its 12-byte header"},
        {"too many groups", c_many_groups, MS_ERR_LIMIT, "4294967295 groups"},
        {"group table cut", c_group_table_cut, MS_ERR_TRUNCATED, "table of 3 groups"},
        {"group offset past end", c_group_offset_past_end, MS_ERR_TRUNCATED, "past the end of the file"},
        {"name past group", c_name_past_group, MS_ERR_TRUNCATED, "the name of tag"},
        {"file ends in tag", c_file_ends_in_tag, MS_ERR_TRUNCATED, "the value of tag 'regionsCount'"},
        {"empty name", c_empty_name, MS_ERR_FORMAT, "empty name"},
        {"regionsCount too big", c_count_too_big, MS_ERR_LIMIT, "regionsCount is 4097"},
        {"index too big", c_index_too_big, MS_ERR_LIMIT, "regionPPN[100000]"},
        {"index past count", c_index_past_count, MS_ERR_FORMAT, "regionSize[2] is past regionsCount (2)"},
        {"missing field", c_missing_field, MS_ERR_FORMAT, "region 1 of 2 has no regionSize"},
        {"duplicate", c_duplicate, MS_ERR_FORMAT, "regionPPN[1] appears twice"},
        {"3-byte value", c_odd_value_size, MS_ERR_FORMAT, "3-byte value"},
        {"no index", c_no_index, MS_ERR_FORMAT, "has 0 indices, expected 1"},
        {"guest overlap", c_overlap_guest, MS_ERR_FORMAT, "overlap in guest physical memory"},
        {"vmem overlap", c_overlap_vmem, MS_ERR_FORMAT, "overlap in the .vmem"},
        {"past .vmem end", c_past_vmem_end, MS_ERR_TRUNCATED, "needs .vmem bytes up to 0x19000, but the .vmem has 0x18000"},
        {"address wraps", c_address_wraps, MS_ERR_FORMAT, "end of the address space"},
        {"all empty", c_all_empty, MS_ERR_FORMAT, "all 2 regions have size 0"},
        {"block too big", c_block_too_big, MS_ERR_TRUNCATED, "the block of tag 'Memory'"},
        {"block size wraps", c_block_size_wraps, MS_ERR_FORMAT, "impossible size"},
        {"too many tags", c_too_many_tags, MS_ERR_LIMIT, "more than 1048576 tags"},
    };
    write_vmem("bad.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf meta = {0};
        cases[i].build(&meta);
        write_file("bad.vmss", meta.d, meta.len);
        buf_free(&meta);
        char p[1024];
        path_of(p, sizeof p, "bad.vmem");
        ms_image *img = NULL;
        ms_status st = ms_image_open(p, NULL, &img);
        const char *msg = ms_last_error();
        if (st != cases[i].want || strstr(msg, cases[i].text) == NULL || strstr(msg, "'bad.vmss'") == NULL ||
            strstr(msg, "--no-vmss") == NULL)
            fail_msg("%s: expected %s with \"%s\", got %s: %s", cases[i].what, ms_status_name(cases[i].want),
                     cases[i].text, ms_status_name(st), msg);
        assert_null(img);
    }
    /* The same broken file named explicitly: no hint about the lookup. */
    ms_image_options o;
    ms_image_options_init(&o);
    char p[1024];
    path_of(p, sizeof p, "bad.vmss");
    o.vmware_metadata = p;
    expect_open_fails("bad.vmem", &o, MS_ERR_LIMIT, "more than 1048576 tags");
    assert_null(strstr(ms_last_error(), "--no-vmss"));
    /* ... and ignoring it reads the .vmem flat. */
    o.vmware_metadata = MS_VMWARE_METADATA_NONE;
    check_flat("bad.vmem", HOLE_VMEM_PAGES, NULL, &o);
}

/* A memory group without the end mark ends at its recorded size. */
static void test_group_size_ends_tags(void **state)
{
    (void)state;
    write_vmem("nomark.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    buf mem = {0}, meta = {0};
    region_tags(&mem, hole_regions, 2);
    wrap(&meta, MAGIC_V1, &mem, UINT64_MAX);
    write_file("nomark.vmss", meta.d, meta.len);
    ms_image *img = open_ok("nomark.vmem", NULL);
    check_hole_layout(img);
    ms_image_close(img);
    buf_free(&mem);
    buf_free(&meta);
}

/* Values of 1, 2 and 8 bytes are numbers too; a compressed block is skipped. */
static void test_value_widths(void **state)
{
    (void)state;
    write_vmem("w.vmem", HOLE_VMEM_PAGES, hole_regions, 2);
    buf mem = {0}, meta = {0};
    tag_block(&mem, "compressed", 8, 7, 0, 1);
    tag_region(&mem, "regionPPN", 0, 1, 0);
    tag_region(&mem, "regionPageNum", 0, 2, 0);
    tag_region(&mem, "regionSize", 0, 8, 16);
    tag_region(&mem, "regionPPN", 1, 2, 0x100);
    tag_region(&mem, "regionPageNum", 1, 8, 16);
    tag_region(&mem, "regionSize", 1, 1, 8);
    tag_raw(&mem, "regionsCount", 0, NULL, 1, 2);
    tag_end(&mem);
    wrap(&meta, MAGIC_V2, &mem, UINT64_MAX);
    write_file("w.vmss", meta.d, meta.len);
    ms_image *img = open_ok("w.vmem", NULL);
    check_hole_layout(img);
    ms_image_close(img);
    buf_free(&mem);
    buf_free(&meta);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_regions_around_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_magic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmsn_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmss_preferred_over_vmsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regions_count_zero_is_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regions_count_absent_is_flat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_sidecar_is_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_option_none_and_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_option_path_needs_raw_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip_vmem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_sidecar_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_size_ends_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_widths, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: pool headers and the tag scanner.
 *
 * The first 12 bytes choose the layout, threads, search routine and a rule;
 * the rest is an image file (raw, LiME, gzip...) written to a memfd.  Every
 * offset of it is decoded and checked as a header, then the whole image is
 * scanned; each hit's block is read in full and the hits must ascend. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memsift/image.h"
#include "memsift/scan.h"

static int input_fd = -1;

static int store_input(const uint8_t *data, size_t size)
{
    if (input_fd < 0)
        input_fd = memfd_create("memsift-fuzz-pool", MFD_CLOEXEC);
    if (input_fd < 0 || ftruncate(input_fd, 0) != 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(input_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

typedef struct check {
    uint64_t last;
    size_t n;
    ms_pool_layout layout;
} check;

static int on_hit(const ms_pool_hit *hit, void *user)
{
    check *c = user;
    if ((c->n > 0 && hit->paddr <= c->last) || hit->paddr % ms_pool_unit(c->layout) != 0 ||
        hit->block_len > hit->header.block_size || hit->block_len < ms_pool_header_size(c->layout))
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < hit->block_len; i++)
        sink ^= hit->block[i];
    (void)sink;
    c->last = hit->paddr;
    c->n++;
    return c->n >= 10000;
}

static void make_rule(const uint8_t *cfg, ms_pool_rule *rule)
{
    ms_pool_rule_init(rule);
    rule->min_block = (uint32_t)cfg[0] * 16u;
    rule->max_block = (uint32_t)cfg[1] * 32u;
    rule->object_size = (uint32_t)cfg[2] * 8u;
    rule->max_pool_index = cfg[3] & 0x80 ? MS_POOL_ANY_INDEX : cfg[3];
    rule->checks = cfg[4] & 7u;
    ms_pool_rule_set_types(rule, (ms_pool_type_convention)(cfg[5] & 1), cfg[5] >> 1 & 7u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 12)
        return 0;
    const uint8_t *cfg = data;
    data += 12;
    size -= 12;
    ms_pool_layout layout = (cfg[6] & 1) ? MS_POOL_X64 : MS_POOL_X86;
    ms_pool_rule rule;
    make_rule(cfg, &rule);

    unsigned hsize = ms_pool_header_size(layout);
    for (size_t off = 0; off + hsize <= size && off < 65536; off++) {
        ms_pool_header h;
        ms_pool_decode(layout, data + off, &h);
        (void)ms_pool_rule_accepts(&rule, layout, off, &h, data + off, size - off, off);
    }

    if (store_input(data, size) != 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", input_fd);
    ms_image_options io;
    ms_image_options_init(&io);
    io.gzip_cache_index = 0;
    io.no_mmap = cfg[6] >> 1 & 1;
    ms_image *img;
    if (ms_image_open(path, &io, &img) != MS_OK)
        return 0;
    ms_tagscan_options so;
    ms_tagscan_options_init(&so);
    so.layout = layout;
    so.threads = 1 + (cfg[6] >> 2 & 1);
    so.kernel = (ms_tagscan_kernel)(cfg[6] >> 3 & 3);
    so.chunk_size = 64u << 10;
    ms_tagscan *sc;
    if (ms_tagscan_create(&so, &sc) != MS_OK) {
        ms_image_close(img);
        return 0;
    }
    char tag[4];
    memcpy(tag, cfg + 8, 4);
    (void)ms_tagscan_add_tag(sc, tag, &rule, NULL);
    (void)ms_tagscan_add_tag(sc, "TcpE", &rule, NULL);
    (void)ms_tagscan_add_tag(sc, "TCPT", NULL, NULL);
    check c = {0, 0, layout};
    (void)ms_tagscan_run(sc, img, on_hit, &c, NULL, NULL);
    ms_tagscan_destroy(sc);
    ms_image_close(img);
    return 0;
}

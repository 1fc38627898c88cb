/* libFuzzer target: the input is an image file.  It is written to a memfd
 * and opened by path, so format detection (gzip, LiME, crash dump, raw) and
 * the container parsers all see it; then a few reads exercise the map. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memsift/image.h"

static int input_fd = -1;

static int store_input(const uint8_t *data, size_t size)
{
    if (input_fd < 0)
        input_fd = memfd_create("memsift-fuzz", MFD_CLOEXEC);
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

static void read_around(ms_image *img, uint64_t paddr)
{
    uint8_t buf[512];
    const uint8_t *p;
    (void)ms_image_read(img, paddr, buf, sizeof buf);
    if (ms_image_map(img, paddr, 64, &p) == MS_OK) {
        volatile uint8_t sink = p[0] ^ p[63];
        (void)sink;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store_input(data, size) != 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", input_fd);

    ms_image_options opts;
    ms_image_options_init(&opts);
    opts.gzip_cache_index = 0;
    opts.no_mmap = size > 0 && (data[size - 1] & 1);

    ms_image *img = NULL;
    if (ms_image_open(path, &opts, &img) != MS_OK)
        return 0;
    const ms_image_info *info = ms_image_get_info(img);
    read_around(img, 0);
    if (info->max_address >= 256)
        read_around(img, info->max_address - 256);
    for (size_t i = 0; i < info->range_count && i < 8; i++) {
        ms_phys_range r;
        if (ms_image_range(img, i, &r) != MS_OK)
            break;
        read_around(img, r.start);
        read_around(img, r.start + r.length - r.length / 2);
        if (r.start >= 256)
            read_around(img, r.start - 256);   /* straddles the gap before the range */
    }
    ms_image_close(img);
    return 0;
}

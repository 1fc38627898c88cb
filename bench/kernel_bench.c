/* Speed of the search routines alone, on bytes already in memory (no page
 * faults, no file): memsift's portable, SSE2 and AVX2 routines and a
 * memchr-based first-byte search, over the first 512 MiB of an image.
 *
 *   kernel_bench IMAGE [--x86] [--tags N]
 *
 * Built against the library's internals (src/scan/tagscan_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scan/tagscan_internal.h"

#define SIZE (512u << 20)
#define ROUNDS 4

static const char *const TAGS[] = {"TcpE", "TTcb", "TcpL", "UdpA", "TcTW", "TCPT", "TCPA", "File",
                                   "MmSt", "Ntfx", "Irp ", "Thre", "Proc", "Even", "Mdl ", "Vad "};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every first byte of the set with memchr, then the alignment and the tag. */
static size_t memchr_search(const ms_tagset *set, const uint8_t *p, size_t len, unsigned stride)
{
    size_t n = 0;
    for (unsigned b = 0; b < 256; b++) {
        if (!set->first_byte[b])
            continue;
        const uint8_t *q = p, *end = p + len - 3;
        while (q < end && (q = memchr(q, (int)b, (size_t)(end - q))) != NULL) {
            if ((size_t)(q - p) % stride == 4) {
                uint32_t v;
                memcpy(&v, q, 4);
                for (unsigned k = 0; k < set->count; k++)
                    n += set->tags[k] == v;
            }
            q++;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE [--x86] [--tags N]\n", argv[0]);
        return 2;
    }
    unsigned stride = 16, ntags = 5;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--x86") == 0)
            stride = 8;
        else if (strcmp(argv[i], "--tags") == 0 && i + 1 < argc)
            ntags = (unsigned)atoi(argv[++i]);
    }
    if (ntags < 1 || ntags > 16)
        ntags = 5;
    uint8_t *buf = malloc(SIZE);
    FILE *f = fopen(argv[1], "rb");
    if (buf == NULL || f == NULL || fread(buf, 1, SIZE, f) != SIZE) {
        fprintf(stderr, "cannot read %u bytes of %s\n", SIZE, argv[1]);
        return 1;
    }
    fclose(f);
    ms_tagset set;
    memset(&set, 0, sizeof set);
    for (unsigned k = 0; k < ntags; k++) {
        set.tags[k] = ms_pool_tag_value(TAGS[k]);
        set.first_byte[(uint8_t)TAGS[k][0]] = 1;
    }
    set.count = ntags;
    size_t nslots = SIZE / stride - 1;
    uint32_t *out = malloc(4096 * sizeof *out);
    static const ms_tagscan_kernel kernels[] = {MS_TAGSCAN_PORTABLE, MS_TAGSCAN_SSE2, MS_TAGSCAN_AVX2};
    for (size_t k = 0; k < 3; k++) {
        ms_tag_searcher s;
        if (ms_tag_searcher_pick(kernels[k], stride, &s) != MS_OK)
            continue;
        size_t hits = 0;
        double t0 = now();
        for (int r = 0; r < ROUNDS; r++)
            for (size_t i = 0; i < nslots; i += 4096) {
                size_t n = nslots - i < 4096 ? nslots - i : 4096;
                hits += s.fn(&set, buf + i * stride, n, out);
            }
        double t = now() - t0;
        printf("%-8s stride %2u tags %2u: %8zu hits %6.2f GB/s\n", s.name, stride, ntags, hits / ROUNDS,
               (double)SIZE * ROUNDS / 1e9 / t);
    }
    size_t hits = 0;
    double t0 = now();
    for (int r = 0; r < ROUNDS; r++)
        hits += memchr_search(&set, buf, SIZE, stride);
    double t = now() - t0;
    printf("%-8s stride %2u tags %2u: %8zu hits %6.2f GB/s\n", "memchr", stride, ntags, hits / ROUNDS,
           (double)SIZE * ROUNDS / 1e9 / t);
    free(out);
    free(buf);
    return 0;
}

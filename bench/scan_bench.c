/* Pool-tag scan benchmark: the netscan tag set over a whole image.
 *
 *   scan_bench IMAGE [--threads N] [--kernel auto|portable|sse2|avx2]
 *              [--x86] [--xp] [--no-mmap] [--chunk BYTES]
 *
 * Prints the hits, the time of the scan itself, GB/s and the largest
 * anonymous resident memory seen during the scan (heap and stacks; the
 * image's file mapping is not counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memsift/image.h"
#include "memsift/scan.h"

static long g_peak_anon_kb;

static long rss_anon_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssAnon: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    (void)user;
    (void)total;
    /* Sample every 64 MiB: reading /proc costs a few microseconds. */
    if (done % (64u << 20) < (4u << 20)) {
        long kb = rss_anon_kb();
        if (kb > g_peak_anon_kb)
            g_peak_anon_kb = kb;
    }
}

typedef struct counts {
    uint64_t hits;
    uint64_t per_tag[MS_TAGSCAN_MAX_TAGS];
    uint64_t last;
    int unordered;
} counts;

static int on_hit(const ms_pool_hit *hit, void *user)
{
    counts *c = user;
    if (c->hits > 0 && hit->paddr <= c->last)
        c->unordered = 1;
    c->last = hit->paddr;
    c->hits++;
    c->per_tag[hit->tag_index]++;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE [--threads N] [--kernel K] [--x86] [--xp] [--no-mmap] [--chunk BYTES]\n",
                argv[0]);
        return 2;
    }
    ms_tagscan_options opts;
    ms_tagscan_options_init(&opts);
    ms_image_options iopts;
    ms_image_options_init(&iopts);
    int xp = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            opts.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            opts.chunk_size = (size_t)strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
            const char *k = argv[++i];
            opts.kernel = strcmp(k, "portable") == 0 ? MS_TAGSCAN_PORTABLE
                          : strcmp(k, "sse2") == 0   ? MS_TAGSCAN_SSE2
                          : strcmp(k, "avx2") == 0   ? MS_TAGSCAN_AVX2
                                                     : MS_TAGSCAN_AUTO;
        } else if (strcmp(argv[i], "--x86") == 0)
            opts.layout = MS_POOL_X86;
        else if (strcmp(argv[i], "--xp") == 0)
            xp = 1;
        else if (strcmp(argv[i], "--no-mmap") == 0)
            iopts.no_mmap = 1;
        else {
            fprintf(stderr, "unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }

    double t0 = now();
    ms_image *img;
    if (ms_image_open(argv[1], &iopts, &img) != MS_OK) {
        fprintf(stderr, "open: %s\n", ms_last_error());
        return 1;
    }
    ms_tagscan *sc;
    if (ms_tagscan_create(&opts, &sc) != MS_OK) {
        fprintf(stderr, "create: %s\n", ms_last_error());
        return 1;
    }
    /* The netscan set with minimum blocks; free or non-paged (Vista+). */
    static const char *const tags[] = {"TcpE", "TTcb", "TcpL", "UdpA", "TcTW", "TCPT", "TCPA"};
    static const unsigned mins[] = {0x290, 0x290, 0x90, 0xb0, 0xa0, 0x198, 0x15c};
    size_t ntags = xp ? 7 : 5;
    for (size_t t = 0; t < ntags; t++) {
        ms_pool_rule rule;
        ms_pool_rule_init(&rule);
        rule.min_block = mins[t];
        ms_pool_rule_set_types(&rule, MS_POOLTYPE_ODD_PAGED, MS_POOL_CLASS_FREE | MS_POOL_CLASS_NONPAGED);
        if (ms_tagscan_add_tag(sc, tags[t], &rule, NULL) != MS_OK) {
            fprintf(stderr, "add: %s\n", ms_last_error());
            return 1;
        }
    }
    counts c;
    memset(&c, 0, sizeof c);
    g_peak_anon_kb = rss_anon_kb();
    double t1 = now();
    ms_status st = ms_tagscan_run(sc, img, on_hit, &c, on_progress, NULL);
    double t2 = now();
    if (st != MS_OK) {
        fprintf(stderr, "scan: %s\n", ms_last_error());
        return 1;
    }
    uint64_t bytes = ms_image_get_info(img)->present_bytes;
    long end_kb = rss_anon_kb();
    if (end_kb > g_peak_anon_kb)
        g_peak_anon_kb = end_kb;
    printf("kernel %s threads %u layout %s\n", ms_tagscan_kernel_name(sc), opts.threads,
           opts.layout == MS_POOL_X64 ? "x64" : "x86");
    printf("hits %llu", (unsigned long long)c.hits);
    for (size_t t = 0; t < ntags; t++)
        printf(" %s=%llu", tags[t], (unsigned long long)c.per_tag[t]);
    printf("%s\n", c.unordered ? " (NOT ASCENDING)" : "");
    printf("scanned %.3f GB in %.3f s: %.2f GB/s (open %.3f s)\n", (double)bytes / 1e9, t2 - t1,
           (double)bytes / 1e9 / (t2 - t1), t1 - t0);
    printf("peak anonymous RSS %ld KiB\n", g_peak_anon_kb);
    ms_tagscan_destroy(sc);
    ms_image_close(img);
    return c.unordered ? 1 : 0;
}

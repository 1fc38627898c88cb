/* Writes a raw x64 memory image for the pool-tag scan benchmark.
 *
 *   make_image PATH [GIB] [SEED]
 *
 * Each 1 MiB region is zeros, random bytes, English-like text, or pages cut
 * into x64 pool blocks with common kernel tags.  About one pool page in 100
 * holds network tags (TcpE TTcb TcpL UdpA TcTW); decoys carry the same
 * tags unaligned, in paged blocks, in blocks too small, or in text.  Prints
 * the number of headers that pass scan_bench's rules, counted here by a
 * plain loop, which scan_bench must find. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGION (1u << 20)
#define PAGE 4096u

static uint64_t g_rng;

static uint64_t next(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static const char *const filler_tags[] = {"File", "MmSt", "Ntfx", "Irp ", "Thre", "Proc", "Even", "Mdl ",
                                          "Vad ", "ObNm", "Toke", "Sema", "CcBc", "FMfc", "NtFs", "AfdE"};
static const char *const net_tags[] = {"TcpE", "TTcb", "TcpL", "UdpA", "TcTW"};
/* Minimum blocks, as scan_bench asks for them. */
static const unsigned net_min[] = {0x290, 0x290, 0x90, 0xb0, 0xa0};

static const char *const words[] = {"the", "memory", "of", "process", "network", "windows", "file", "system",
                                    "Tcp", "connection", "driver", "Udp", "data", "kernel", "pool",
                                    "and", "TCP/IP", "service", "registry", "user"};

static void fill_random(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i += 8) {
        uint64_t v = next();
        memcpy(p + i, &v, 8);
    }
}

static void fill_text(uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        const char *w = next() % 4096 ? words[next() % (sizeof words / sizeof *words)] : "TcpEndpoint UdpA";
        size_t l = strlen(w);
        for (size_t k = 0; k < l && i < n; k++)
            p[i++] = (uint8_t)w[k];
        if (i < n)
            p[i++] = (next() % 12) ? ' ' : '\n';
    }
}

static void put_header(uint8_t *h, unsigned prev, unsigned size, unsigned type, const char *tag)
{
    h[0] = (uint8_t)(prev / 16);
    h[1] = 0;
    h[2] = (uint8_t)(size / 16);
    h[3] = (uint8_t)type;
    memcpy(h + 4, tag, 4);
    uint64_t billed = 0;
    memcpy(h + 8, &billed, 8);
}

/* Valid network headers in a region, counted independently of memsift:
 * 16-byte aligned, block at least the tag's minimum, PoolType free or even. */
static uint64_t count_valid(const uint8_t *p, size_t n)
{
    uint64_t valid = 0;
    for (size_t h = 0; h + 16 <= n; h += 16)
        for (unsigned t = 0; t < 5; t++)
            if (memcmp(p + h + 4, net_tags[t], 4) == 0 && p[h + 2] * 16u >= net_min[t] && p[h + 3] % 2 == 0)
                valid++;
    return valid;
}

static void pool_page(uint8_t *pg)
{
    unsigned off = 0, prev = 0;
    int net_page = next() % 100 == 0;
    while (off + 0x20 <= PAGE) {
        unsigned left = PAGE - off;
        unsigned size = (unsigned)(0x20 + next() % 0x3e0) & ~0xfu;
        if (size > left || left - size < 0x20)
            size = left;
        const char *tag = filler_tags[next() % 16];
        unsigned type = (next() % 3) ? 2 : 3; /* non-paged (Vista+ even) or paged */
        if (net_page && size >= 0x300 && next() % 2 == 0) {
            unsigned t = (unsigned)(next() % 5);
            tag = net_tags[t];
            type = next() % 4 == 0 ? 3 : 2; /* a quarter are paged decoys */
        }
        fill_random(pg + off + 16, size - 16);
        put_header(pg + off, prev, size, type, tag);
        prev = size;
        off += size;
    }
    if (next() % 50 == 0) /* an unaligned decoy */
        memcpy(pg + 0x101, net_tags[next() % 5], 4);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH [GIB] [SEED]\n", argv[0]);
        return 2;
    }
    double gib = argc > 2 ? atof(argv[2]) : 4.0;
    g_rng = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x9e3779b97f4a7c15ull;
    if (g_rng == 0)
        g_rng = 1;
    uint64_t regions = (uint64_t)(gib * 1024.0);
    FILE *f = fopen(argv[1], "wb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    uint8_t *buf = malloc(REGION);
    if (buf == NULL)
        return 1;
    uint64_t valid = 0;
    for (uint64_t r = 0; r < regions; r++) {
        unsigned kind = (unsigned)(next() % 100);
        if (kind < 30) {
            memset(buf, 0, REGION);
        } else if (kind < 55) {
            fill_random(buf, REGION);
        } else if (kind < 70) {
            fill_text(buf, REGION);
        } else {
            for (unsigned p = 0; p < REGION; p += PAGE)
                pool_page(buf + p);
        }
        valid += count_valid(buf, REGION);
        if (fwrite(buf, 1, REGION, f) != REGION) {
            perror("write");
            return 1;
        }
    }
    if (fclose(f) != 0) {
        perror("close");
        return 1;
    }
    free(buf);
    printf("%llu\n", (unsigned long long)valid);
    return 0;
}

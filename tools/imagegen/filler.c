/* Procedural content for frames the generator did not place anything in:
 * a function of (seed, pfn) only, so nothing needs to be kept in memory. */
#include <string.h>

#include "ig.h"

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static const char *const words[] = {
    "the ", "Windows ", "error ", "value ", "system32", "config ", "user ", "http://", "data ", "file ",
    "</div>", "<html>", "function ", "return ", "Microsoft ", "update ", "service ", "0x0000 ", "ERROR_", "ok ",
};

static void text_page(uint64_t *s, uint8_t *buf, int wide)
{
    size_t i = 0;
    while (i < IG_PAGE) {
        const char *w = words[xs(s) % (sizeof words / sizeof *words)];
        for (const char *p = w; *p && i < IG_PAGE; p++) {
            buf[i++] = (uint8_t)*p;
            if (wide && i < IG_PAGE)
                buf[i++] = 0;
        }
        if ((xs(s) & 15) == 0 && i < IG_PAGE)
            buf[i++] = '\n';
    }
}

/* Things that look like what a scanner searches for, in the wrong context:
 * a KDBG header whose KernBase is no image, pool headers with garbage
 * bodies, a kernel path string with no module entry around it. */
static void plant_decoys(uint64_t *s, uint8_t *buf)
{
    int n = 1 + (int)(xs(s) % 3);
    for (int k = 0; k < n; k++) {
        size_t off = (size_t)(xs(s) % (IG_PAGE - 0x80)) & ~(size_t)15;
        switch (xs(s) % 5) {
        case 0: {
            uint64_t flink = 0xFFFFF80000000000ull | (xs(s) & 0x7FFFFFFF0ull);
            memcpy(buf + off, &flink, 8);
            memcpy(buf + off + 8, &flink, 8);
            memcpy(buf + off + 16, "KDBG", 4);
            uint32_t size = 0x368;
            memcpy(buf + off + 20, &size, 4);
            uint64_t base = 0xFFFFF80000000000ull | (xs(s) & 0x7FFFFF000ull);
            memcpy(buf + off + 24, &base, 8);
            break;
        }
        case 1:
            memcpy(buf + off + 4, "TcpE", 4);
            buf[off + 2] = (uint8_t)(xs(s) & 0x3F);
            buf[off + 3] = 1;
            break;
        case 2:
            memcpy(buf + off + 4, "Proc", 4);
            buf[off + 2] = 0xB0;
            buf[off + 3] = 1;
            break;
        case 3: {
            static const char p[] = "\\SystemRoot\\system32\\ntoskrnl.exe";
            for (size_t i = 0; i < sizeof p - 1 && off + 2 * i + 1 < IG_PAGE; i++) {
                buf[off + 2 * i] = (uint8_t)p[i];
                buf[off + 2 * i + 1] = 0;
            }
            break;
        }
        default:
            memcpy(buf + off, "RSDS", 4);
            memcpy(buf + off + 24, "ntkrnlmp.pdb", 13);
            break;
        }
    }
}

int ig_filler(uint64_t seed, uint64_t pfn, uint8_t *buf, int decoys)
{
    uint64_t h = ig_mix64(seed * 0x9E3779B97F4A7C15ull ^ ig_mix64(pfn));
    unsigned r = (unsigned)(h % 100);
    if (r < 62)
        return 0;
    uint64_t s = h | 1;
    uint64_t *q = (uint64_t *)(void *)buf;
    if (r < 77) {
        /* structure-like: zeros, small counters, kernel and user pointers */
        uint64_t region = 0xFFFF800000000000ull | ((h >> 20) & 0x7FFF00000000ull);
        for (size_t i = 0; i < IG_PAGE / 8; i++) {
            uint64_t x = xs(&s);
            switch (x & 7) {
            case 0: case 1: case 2: q[i] = 0; break;
            case 3: case 4: q[i] = region | ((x >> 8) & 0xFFFFFFF0ull); break;
            case 5: q[i] = (x >> 40) & 0xFFFF; break;
            case 6: q[i] = 0x00007FF000000000ull | ((x >> 12) & 0xFFFFFFFF8ull); break;
            default: q[i] = x; break;
            }
        }
    } else if (r < 85) {
        for (size_t i = 0; i < IG_PAGE / 8; i++)
            q[i] = xs(&s);
    } else if (r < 92) {
        text_page(&s, buf, r & 1);
    } else if (r < 97) {
        uint64_t pat[2] = {xs(&s), (r & 1) ? xs(&s) : 0};
        if (r == 92)
            pat[0] = pat[1] = 0xCCCCCCCCCCCCCCCCull;
        for (size_t i = 0; i < IG_PAGE / 8; i++)
            q[i] = pat[i & 1];
    } else {
        for (size_t i = 0; i < IG_PAGE / 8; i++)
            q[i] = xs(&s);
        if (decoys)
            plant_decoys(&s, buf);
    }
    return 1;
}

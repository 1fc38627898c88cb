/* --verify: re-read the written file with a tiny reader of its own and
 * walk the kernel structures through the image's page tables. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ig.h"

typedef struct rd {
    int fd;
    gzFile gz;
    int kind;              /* 0 raw, 1 runs, 2 bitmap */
    uint64_t runs[8][2];   /* base page, count */
    int nruns;
    uint64_t first;        /* file offset of the first page */
    uint8_t *bitmap;
    uint32_t *rank;        /* set bits before each 32-bit word */
    uint64_t nbits;
    const ig_ctx *c;
} rd;

static int file_read(rd *r, uint64_t off, void *buf, size_t len)
{
    if (r->gz) {
        if (gzseek(r->gz, (z_off_t)off, SEEK_SET) < 0)
            return -1;
        return gzread(r->gz, buf, (unsigned)len) == (int)len ? 0 : -1;
    }
    return pread(r->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

static int phys_read(rd *r, uint64_t pa, void *buf, size_t len)
{
    uint64_t pfn = pa / IG_PAGE, off;
    if (r->kind == 0) {
        off = pa;
    } else if (r->kind == 1) {
        uint64_t pages = 0;
        int found = 0;
        for (int i = 0; i < r->nruns; i++) {
            if (pfn >= r->runs[i][0] && pfn < r->runs[i][0] + r->runs[i][1]) {
                pages += pfn - r->runs[i][0];
                found = 1;
                break;
            }
            pages += r->runs[i][1];
        }
        if (!found)
            return -1;
        off = r->first + pages * IG_PAGE + pa % IG_PAGE;
    } else {
        if (pfn >= r->nbits || !((r->bitmap[pfn / 8] >> (pfn % 8)) & 1))
            return -1;
        uint32_t word;
        memcpy(&word, r->bitmap + (pfn / 32) * 4, 4);
        uint64_t below = r->rank[pfn / 32] + (uint64_t)__builtin_popcount(word & ((1u << (pfn % 32)) - 1));
        off = r->first + below * IG_PAGE + pa % IG_PAGE;
    }
    return file_read(r, off, buf, len);
}

static int v2p(rd *r, uint64_t va, uint64_t *pa)
{
    const ig_ctx *c = r->c;
    uint64_t e = 0;
    if (c->mode == IG_MODE_X64) {
        uint64_t table = c->dtb & ~0xFFFull;
        for (int level = 4; level >= 1; level--) {
            uint64_t idx = (va >> (12 + 9 * (level - 1))) & 0x1FF;
            if (phys_read(r, table + idx * 8, &e, 8))
                return -1;
            int valid = (e & 1) || (level == 1 && (e & 0x800) && !(e & 0x400));
            if (!valid)
                return -1;
            if (level == 2 && (e & 0x80)) {
                *pa = (e & 0xFFFFFFFE00000ull) + (va & 0x1FFFFF);
                return 0;
            }
            table = e & 0xFFFFFFFFFF000ull;
        }
        *pa = table + (va & 0xFFF);
        return 0;
    }
    if (c->mode == IG_MODE_PAE) {
        if (phys_read(r, c->dtb + ((va >> 30) & 3) * 8, &e, 8) || !(e & 1))
            return -1;
        if (phys_read(r, (e & 0xFFFFFF000ull) + ((va >> 21) & 0x1FF) * 8, &e, 8) || !(e & 1))
            return -1;
        if (e & 0x80) {
            *pa = (e & 0xFFFE00000ull) + (va & 0x1FFFFF);
            return 0;
        }
        if (phys_read(r, (e & 0xFFFFFF000ull) + ((va >> 12) & 0x1FF) * 8, &e, 8))
            return -1;
        if (!(e & 1) && !((e & 0x800) && !(e & 0x400)))
            return -1;
        *pa = (e & 0xFFFFFF000ull) + (va & 0xFFF);
        return 0;
    }
    uint32_t d;
    if (phys_read(r, c->dtb + ((va >> 22) & 0x3FF) * 4, &d, 4) || !(d & 1))
        return -1;
    if (d & 0x80) {
        *pa = (d & 0xFFC00000u) + (va & 0x3FFFFF);
        return 0;
    }
    if (phys_read(r, (d & 0xFFFFF000u) + ((va >> 12) & 0x3FF) * 4, &d, 4))
        return -1;
    if (!(d & 1) && !((d & 0x800) && !(d & 0x400)))
        return -1;
    *pa = (d & 0xFFFFF000u) + (va & 0xFFF);
    return 0;
}

static int vread(rd *r, uint64_t va, void *buf, size_t len)
{
    uint8_t *dst = buf;
    while (len) {
        size_t n = IG_PAGE - va % IG_PAGE;
        if (n > len)
            n = len;
        uint64_t pa;
        if (v2p(r, va, &pa) || phys_read(r, pa, dst, n))
            return -1;
        va += n;
        dst += n;
        len -= n;
    }
    return 0;
}

static int vptr(rd *r, uint64_t va, uint64_t *out)
{
    *out = 0;
    if (vread(r, va, out, r->c->ptr))
        return -1;
    *out = ig_canonical(r->c, *out);
    return 0;
}

static ig_status open_reader(rd *r, const ig_ctx *c, ig_format fmt, const char *path, int gz)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->fd = -1;
    if (gz)
        r->gz = gzopen(path, "rb");
    else
        r->fd = open(path, O_RDONLY);
    if (!r->gz && r->fd < 0)
        return ig_fail("verify: cannot open %s", path);
    if (fmt == IG_FMT_RAW)
        return IG_OK;
    uint8_t h[0x2000];
    size_t hs = c->ptr == 8 ? 0x2000 : 0x1000;
    if (file_read(r, 0, h, hs))
        return ig_fail("verify: short header");
    if (memcmp(h, "PAGE", 4) != 0 || memcmp(h + 4, c->ptr == 8 ? "DU64" : "DUMP", 4) != 0)
        return ig_fail("verify: bad dump signature");
    uint32_t dt;
    memcpy(&dt, h + (c->ptr == 8 ? 0xF98 : 0xF88), 4);
    if (dt == 1) {
        r->kind = 1;
        r->first = hs;
        uint32_t n;
        memcpy(&n, h + (c->ptr == 8 ? 0x88 : 0x64), 4);
        if (n == 0 || n > 8)
            return ig_fail("verify: %u runs", n);
        r->nruns = (int)n;
        for (uint32_t i = 0; i < n; i++) {
            if (c->ptr == 8) {
                memcpy(&r->runs[i][0], h + 0x98 + 16 * i, 8);
                memcpy(&r->runs[i][1], h + 0xA0 + 16 * i, 8);
            } else {
                uint32_t b, k;
                memcpy(&b, h + 0x6C + 8 * i, 4);
                memcpy(&k, h + 0x70 + 8 * i, 4);
                r->runs[i][0] = b;
                r->runs[i][1] = k;
            }
        }
        return IG_OK;
    }
    uint8_t sh[0x38];
    if (file_read(r, hs, sh, sizeof sh) || (memcmp(sh, "SDMP", 4) && memcmp(sh, "FDMP", 4)))
        return ig_fail("verify: no SDMP/FDMP header");
    r->kind = 2;
    size_t bits_at = 0x38;
    if (dt == 2) {
        /* SUMMARY_DUMP32/64: u32 HeaderSize at +0xc, BitmapSize at +0x10. */
        uint32_t first32, nbits32;
        memcpy(&first32, sh + 0x0c, 4);
        memcpy(&nbits32, sh + 0x10, 4);
        r->first = first32;
        r->nbits = nbits32;
        bits_at = c->ptr == 8 ? 0x28 : 0x20;
    } else {
        memcpy(&r->first, sh + 0x20, 8);
        memcpy(&r->nbits, sh + 0x30, 8);
    }
    if (r->nbits == 0 || r->nbits > (1ull << 32))
        return ig_fail("verify: bitmap of %llu bits", (unsigned long long)r->nbits);
    size_t bytes = (size_t)((r->nbits + 31) / 32 * 4);
    r->bitmap = malloc(bytes);
    r->rank = malloc((bytes / 4 + 1) * sizeof *r->rank);
    if (!r->bitmap || !r->rank || file_read(r, hs + bits_at, r->bitmap, bytes))
        return ig_fail("verify: cannot read bitmap");
    uint32_t acc = 0;
    for (size_t i = 0; i < bytes / 4; i++) {
        r->rank[i] = acc;
        uint32_t w;
        memcpy(&w, r->bitmap + 4 * i, 4);
        acc += (uint32_t)__builtin_popcount(w);
    }
    return IG_OK;
}

static void close_reader(rd *r)
{
    if (r->gz)
        gzclose(r->gz);
    if (r->fd >= 0)
        close(r->fd);
    free(r->bitmap);
    free(r->rank);
}

static int proc_index(const ig_ctx *c, uint64_t eprocess)
{
    for (int i = 0; i < c->nprocs; i++)
        if (c->procs[i].eprocess == eprocess)
            return i;
    return -1;
}

/* Forward from the head until a page is missing, then backward. */
static ig_status check_processes(rd *r, const ig_ctx *c)
{
    long o_links = ig_off(c, "_EPROCESS", "ActiveProcessLinks"), o_pid = ig_off(c, "_EPROCESS", "UniqueProcessId");
    long o_name = ig_off(c, "_EPROCESS", "ImageFileName");
    int seen[IG_MAX_PROCS] = {0}, nseen = 0, expected = 0;
    for (int i = 0; i < c->nprocs; i++)
        expected += r->kind == 2 && c->procs[i].absent == 1 ? 0 : 1;
    for (int dir = 0; dir < 2; dir++) {
        uint64_t cur;
        if (vptr(r, c->ps_active_head + (dir ? c->ptr : 0), &cur))
            return ig_fail("verify: PsActiveProcessHead unreadable");
        for (int guard = 0; guard < IG_MAX_PROCS + 2 && cur != c->ps_active_head; guard++) {
            uint64_t ep = cur - (uint64_t)o_links, pid = 0;
            char name[16] = {0};
            if (vptr(r, ep + (uint64_t)o_pid, &pid) || vread(r, ep + (uint64_t)o_name, name, 15))
                break;
            int k = proc_index(c, ep);
            if (k < 0 || c->procs[k].pid != pid || strcmp(c->procs[k].name, name) != 0)
                return ig_fail("verify: process at 0x%llx is pid %llu '%s', truth disagrees",
                               (unsigned long long)ep, (unsigned long long)pid, name);
            if (!seen[k]) {
                seen[k] = 1;
                nseen++;
            }
            if (vptr(r, cur + (dir ? c->ptr : 0), &cur))
                break;
        }
    }
    if (nseen != expected)
        return ig_fail("verify: walked %d processes, truth has %d readable", nseen, expected);
    return IG_OK;
}

static ig_status check_modules(rd *r, const ig_ctx *c)
{
    uint64_t cur;
    long o_base = ig_off(c, "_LDR_DATA_TABLE_ENTRY", "DllBase");
    if (o_base < 0)
        o_base = c->ptr == 8 ? 0x30 : 0x18;
    if (vptr(r, c->ps_loaded_list, &cur))
        return ig_fail("verify: PsLoadedModuleList unreadable");
    int n = 0;
    for (; n < IG_MAX_MODS + 1 && cur != c->ps_loaded_list; n++) {
        uint64_t base;
        if (n >= c->nmods || vptr(r, cur + (uint64_t)o_base, &base) || base != c->mods[n].base)
            return ig_fail("verify: module %d differs", n);
        char mz[2];
        if (vread(r, base, mz, 2) == 0 && memcmp(mz, "MZ", 2) != 0)
            return ig_fail("verify: module %d has no MZ", n);
        if (vptr(r, cur, &cur))
            return ig_fail("verify: module list broken at %d", n);
    }
    if (n != c->nmods)
        return ig_fail("verify: %d modules, truth has %d", n, c->nmods);
    return IG_OK;
}

static ig_status check_kdbg(rd *r, const ig_ctx *c)
{
    uint64_t q[4];
    if (vread(r, c->kdbg, q, sizeof q))
        return ig_fail("verify: KDBG unreadable");
    if (c->t->kdbg_encoded)
        for (int i = 0; i < 4; i++)
            q[i] = ig_kdbg_decode(q[i], c->ki_wait_never, c->ki_wait_always, c->kdp_encoded_va);
    if (memcmp((uint8_t *)q + 0x10, "KDBG", 4) != 0)
        return ig_fail("verify: KDBG tag does not decode");
    uint64_t kb = q[3];
    if (c->ptr == 4)
        kb &= 0xFFFFFFFFull;
    if (kb != c->kbase)
        return ig_fail("verify: KDBG.KernBase 0x%llx", (unsigned long long)kb);
    char mz[2];
    if (vread(r, c->kbase, mz, 2) || memcmp(mz, "MZ", 2) != 0)
        return ig_fail("verify: no MZ at the kernel base");
    return IG_OK;
}

ig_status ig_verify(ig_ctx *c, ig_format fmt, const char *path, int gz)
{
    rd r;
    ig_status st = open_reader(&r, c, fmt, path, gz);
    if (st == IG_OK)
        st = check_kdbg(&r, c);
    if (st == IG_OK)
        st = check_processes(&r, c);
    if (st == IG_OK)
        st = check_modules(&r, c);
    close_reader(&r);
    return st;
}

/* Writers: raw (sparse), crash dumps (full run list, bitmap 5/6, 32-bit
 * summary 2), optionally gzip-compressed. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ig.h"

typedef struct sink {
    int fd;
    gzFile gz;
    uint64_t off;        /* file offset of buf[0] */
    uint8_t *buf;
    size_t len, cap;
} sink;

static ig_status sink_flush(sink *s)
{
    if (s->len == 0)
        return IG_OK;
    if (s->gz) {
        if (gzwrite(s->gz, s->buf, (unsigned)s->len) != (int)s->len)
            return ig_fail("gzip write failed");
    } else {
        size_t done = 0;
        while (done < s->len) {
            ssize_t w = pwrite(s->fd, s->buf + done, s->len - done, (off_t)(s->off + done));
            if (w <= 0)
                return ig_fail("write failed: %s", strerror(errno));
            done += (size_t)w;
        }
    }
    s->off += s->len;
    s->len = 0;
    return IG_OK;
}

static ig_status sink_put(sink *s, const void *data, size_t n)
{
    while (n > s->cap) {
        if (sink_put(s, data, s->cap) != IG_OK)
            return IG_ERR;
        data = (const uint8_t *)data + s->cap;
        n -= s->cap;
    }
    if (s->len + n > s->cap && sink_flush(s) != IG_OK)
        return IG_ERR;
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    return IG_OK;
}

/* Zeros: a hole in a sparse file, real zeros in a gzip stream. */
static ig_status sink_zero(sink *s, uint64_t n)
{
    if (s->gz) {
        static const uint8_t z[IG_PAGE];
        while (n > 0) {
            size_t k = n < sizeof z ? (size_t)n : sizeof z;
            if (sink_put(s, z, k) != IG_OK)
                return IG_ERR;
            n -= k;
        }
        return IG_OK;
    }
    if (sink_flush(s) != IG_OK)
        return IG_ERR;
    s->off += n;
    return IG_OK;
}

static int all_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < IG_PAGE / 8; i++)
        if (q[i])
            return 0;
    return 1;
}

static ig_status put_page(ig_ctx *c, sink *s, uint64_t pfn, uint8_t *tmp)
{
    const uint8_t *pg = ig_phys_lookup(c, pfn);
    if (pg == NULL) {
        if (!ig_pfn_is_ram(c, pfn) || !ig_filler(c->seed, pfn, tmp, !((c->imgframe[pfn / 8] >> (pfn % 8)) & 1)))
            return sink_zero(s, IG_PAGE);
        pg = tmp;
    } else if (!s->gz && all_zero(pg)) {
        return sink_zero(s, IG_PAGE);
    }
    return sink_put(s, pg, IG_PAGE);
}

static int nodump(const ig_ctx *c, uint64_t pfn) { return (c->nodump[pfn / 8] >> (pfn % 8)) & 1; }

/* Which RAM pages a bitmap dump holds.  Kernel dumps (6, 2) leave out
 * user pages and most of the free/unplaced memory. */
static int in_dump(const ig_ctx *c, ig_format fmt, uint64_t pfn)
{
    if (!ig_pfn_is_ram(c, pfn))
        return 0;
    if (fmt == IG_FMT_RAW || fmt == IG_FMT_CRASH)
        return 1;
    if (nodump(c, pfn))
        return 0;
    if (ig_phys_lookup(c, pfn) != NULL || ((c->imgframe[pfn / 8] >> (pfn % 8)) & 1))
        return 1;
    unsigned r = (unsigned)(ig_mix64(c->seed ^ (pfn * 0x2545F4914F6CDD1Dull) ^ 0xB17B17) % 100);
    return fmt == IG_FMT_BITMAP5 ? r != 0 : r < 40;
}

static void w32(uint8_t *h, size_t off, uint32_t v) { memcpy(h + off, &v, 4); }
static void w64(uint8_t *h, size_t off, uint64_t v) { memcpy(h + off, &v, 8); }

static void fill_header64(ig_ctx *c, uint8_t *h, int dump_type, uint64_t file_size)
{
    for (size_t i = 0; i < 0x2000; i += 4)
        memcpy(h + i, "PAGE", 4);
    memcpy(h + 4, "DU64", 4);
    int hints = c->header_hints;
    w32(h, 0x8, 0xF);
    w32(h, 0xC, c->t->build);
    w64(h, 0x10, hints ? c->dtb : 0);
    w64(h, 0x18, hints ? c->pfn_database : 0);
    w64(h, 0x20, hints ? c->ps_loaded_list : 0);
    w64(h, 0x28, hints ? c->ps_active_head : 0);
    w32(h, 0x30, 0x8664);
    w32(h, 0x34, c->processors);
    w32(h, 0x38, 0xE2);                     /* MANUALLY_INITIATED_CRASH */
    w32(h, 0x3C, 0);
    memset(h + 0x40, 0, 32);                /* BugCheckParameter1..4 */
    memset(h + 0x60, 0, 32);                /* VersionUser */
    w64(h, 0x80, hints ? c->kdbg : 0);
    if (dump_type == 1) {
        memset(h + 0x88, 0, 0x10);
        w32(h, 0x88, (uint32_t)c->nram);
        uint64_t pages = 0;
        for (int i = 0; i < c->nram; i++) {
            uint64_t base = c->ram[i].start / IG_PAGE, cnt = (c->ram[i].end - c->ram[i].start) / IG_PAGE;
            w64(h, 0x98 + 16 * (size_t)i, base);
            w64(h, 0xA0 + 16 * (size_t)i, cnt);
            pages += cnt;
        }
        w64(h, 0x90, pages);
    }
    /* AMD64 CONTEXT at 0x348 */
    uint8_t *ctx = h + 0x348;
    memset(ctx, 0, 0x4D0);
    w32(ctx, 0x30, 0x10005F);               /* ContextFlags */
    w32(ctx, 0x34, 0x1F80);                 /* MxCsr */
    ctx[0x38] = 0x10;                       /* SegCs */
    ctx[0x42] = 0x18;                       /* SegSs */
    w32(ctx, 0x44, 0x40286);                /* EFlags */
    w64(ctx, 0x98, c->kprcb + 0x1000);      /* Rsp */
    w64(ctx, 0xF8, c->kbase + 0x1000 + 0x3A0); /* Rip */
    w32(ctx, 0x100 + 0x18, 0x1F80);         /* FltSave.MxCsr */
    /* EXCEPTION_RECORD64 at 0xF00 */
    memset(h + 0xF00, 0, 0x98);
    w32(h, 0xF00, 0x80000003);
    w64(h, 0xF10, c->kbase + 0x1000 + 0x3A0);
    w32(h, 0xF98, (uint32_t)dump_type);
    w32(h, 0xF9C, 0);
    w64(h, 0xFA0, file_size);
    w64(h, 0xFA8, c->system_time);
    w64(h, 0x1030, c->system_time - c->boot_time);
    w32(h, 0x1038, 0);
    w32(h, 0x103C, 0);
    w32(h, 0x1040, 1);                      /* VER_NT_WORKSTATION */
    w32(h, 0x1044, 0x110);
    w32(h, 0x1048, 0);
    h[0x104C] = 0;
    h[0x104D] = c->t->build >= 9200 ? 2 : 0;
    h[0x104E] = h[0x104F] = 0;
    w32(h, 0x1050, 0);
    w32(h, 0x1054, (uint32_t)ig_mix64(c->seed));
}

static void fill_header32(ig_ctx *c, uint8_t *h, int dump_type, uint64_t file_size)
{
    for (size_t i = 0; i < 0x1000; i += 4)
        memcpy(h + i, "PAGE", 4);
    memcpy(h + 4, "DUMP", 4);
    int hints = c->header_hints;
    w32(h, 0x8, 0xF);
    w32(h, 0xC, c->t->build);
    w32(h, 0x10, hints ? (uint32_t)c->dtb : 0);
    w32(h, 0x14, hints ? (uint32_t)c->pfn_database : 0);
    w32(h, 0x18, hints ? (uint32_t)c->ps_loaded_list : 0);
    w32(h, 0x1C, hints ? (uint32_t)c->ps_active_head : 0);
    w32(h, 0x20, 0x14C);
    w32(h, 0x24, c->processors);
    w32(h, 0x28, 0xE2);
    memset(h + 0x2C, 0, 16);
    memset(h + 0x3C, 0, 32);
    h[0x5C] = c->mode == IG_MODE_PAE;
    h[0x5D] = 0;
    h[0x5E] = h[0x5F] = 0;
    w32(h, 0x60, hints ? (uint32_t)c->kdbg : 0);
    if (dump_type == 1) {
        memset(h + 0x64, 0, 8);
        w32(h, 0x64, (uint32_t)c->nram);
        uint32_t pages = 0;
        for (int i = 0; i < c->nram; i++) {
            uint32_t base = (uint32_t)(c->ram[i].start / IG_PAGE);
            uint32_t cnt = (uint32_t)((c->ram[i].end - c->ram[i].start) / IG_PAGE);
            w32(h, 0x6C + 8 * (size_t)i, base);
            w32(h, 0x70 + 8 * (size_t)i, cnt);
            pages += cnt;
        }
        w32(h, 0x68, pages);
    }
    uint8_t *ctx = h + 0x320;               /* x86 CONTEXT */
    memset(ctx, 0, 0x2CC);
    w32(ctx, 0, 0x1003F);
    w32(ctx, 0xB8, (uint32_t)(c->kbase + 0x1000 + 0x3A0)); /* Eip */
    w32(ctx, 0xBC, 8);
    w32(ctx, 0xC0, 0x246);
    w32(ctx, 0xC4, (uint32_t)(c->kpcr + 0x800));
    w32(ctx, 0xC8, 0x10);
    memset(h + 0x7D0, 0, 0x50);
    w32(h, 0x7D0, 0x80000003);
    w32(h, 0x7DC, (uint32_t)(c->kbase + 0x1000 + 0x3A0));
    w32(h, 0x8A0, 0);
    w32(h, 0x8A4, 0);
    w32(h, 0xF88, (uint32_t)dump_type);
    w32(h, 0xF8C, 0);
    w32(h, 0xF90, 0);
    w32(h, 0xF94, 1);
    w32(h, 0xF98, 0x100);
    w32(h, 0xF9C, 0);
    w64(h, 0xFA0, file_size);
    w64(h, 0xFB8, c->system_time - c->boot_time);
    w64(h, 0xFC0, c->system_time);
}

static int dump_type_of(ig_format f)
{
    switch (f) {
    case IG_FMT_CRASH: return 1;
    case IG_FMT_BITMAP5: return 5;
    case IG_FMT_BITMAP6: return 6;
    case IG_FMT_SUMMARY: return 2;
    default: return 0;
    }
}

ig_status ig_output_write(ig_ctx *c, ig_format fmt, const char *path, int gz, uint64_t *file_size, int *dump_type)
{
    int dt = dump_type_of(fmt);
    *dump_type = dt;
    int x64 = c->ptr == 8;
    if ((fmt == IG_FMT_BITMAP5 || fmt == IG_FMT_BITMAP6) && (!x64 || c->t->build < 9200))
        return ig_fail("DumpType %d is written by Windows 8 and later x64 only", dt);
    if (fmt == IG_FMT_SUMMARY && c->t->build >= 9200)
        return ig_fail("summary dumps (DumpType 2) are pre-Windows 8 only");
    uint64_t hdr = x64 ? 0x2000 : 0x1000;

    /* presence and sizes */
    uint8_t *bitmap = NULL;
    uint64_t present = 0, ram_pages = 0, bitmap_bytes = (c->npfn + 31) / 32 * 4;
    if (fmt != IG_FMT_RAW) {
        bitmap = calloc(bitmap_bytes, 1);
        if (bitmap == NULL)
            return ig_fail("out of memory");
    }
    for (uint64_t pfn = 0; pfn < c->npfn; pfn++) {
        if (!ig_pfn_is_ram(c, pfn))
            continue;
        ram_pages++;
        if (fmt != IG_FMT_RAW && in_dump(c, fmt, pfn)) {
            present++;
            bitmap[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
        }
    }
    c->absent_pages = (fmt == IG_FMT_RAW || fmt == IG_FMT_CRASH) ? 0 : ram_pages - present;
    uint64_t first_page = 0, total;
    if (fmt == IG_FMT_RAW) {
        total = c->size;
    } else if (fmt == IG_FMT_CRASH) {
        first_page = hdr;
        total = hdr + ram_pages * IG_PAGE;
    } else {
        first_page = (hdr + 0x38 + bitmap_bytes + IG_PAGE - 1) & ~(uint64_t)(IG_PAGE - 1);
        total = first_page + present * IG_PAGE;
    }
    *file_size = total;

    sink s = {.fd = -1};
    s.cap = 1 << 20;
    s.buf = malloc(s.cap);
    uint8_t *tmp = malloc(IG_PAGE);
    uint8_t *h = calloc(1, first_page ? first_page : 1);
    ig_status st = IG_OK;
    if (!s.buf || !tmp || !h) {
        st = ig_fail("out of memory");
        goto out;
    }
    if (gz) {
        s.gz = gzopen(path, "wb1");
        if (s.gz == NULL) {
            st = ig_fail("cannot create %s", path);
            goto out;
        }
    } else {
        s.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (s.fd < 0 || ftruncate(s.fd, (off_t)total) != 0) {
            st = ig_fail("cannot create %s: %s", path, strerror(errno));
            goto out;
        }
    }
    if (fmt != IG_FMT_RAW) {
        if (x64)
            fill_header64(c, h, dt, total);
        else
            fill_header32(c, h, dt, total);
        if (fmt != IG_FMT_CRASH) {
            uint8_t *sh = h + hdr;
            memset(sh, 0, 0x38);
            memcpy(sh, fmt == IG_FMT_BITMAP5 ? "FDMP" : "SDMP", 4);
            memcpy(sh + 4, "DUMP", 4);
            w32(sh, 8, 0);
            if (fmt == IG_FMT_SUMMARY) {
                /* Pre-Windows 8 summary dumps use SUMMARY_DUMP32/64 (WDK type
                 * information): u32 HeaderSize, BitmapSize, Pages, then an
                 * on-disk RTL_BITMAP whose bits start at +0x20 (32-bit) or
                 * +0x28 (64-bit, after an 8-byte Buffer field). */
                w32(sh, 0x0c, (uint32_t)first_page);
                w32(sh, 0x10, (uint32_t)c->npfn);
                w32(sh, 0x14, (uint32_t)present);
                w32(sh, 0x18, (uint32_t)c->npfn);
                memcpy(sh + (x64 ? 0x28 : 0x20), bitmap, bitmap_bytes);
            } else {
                w64(sh, 0x20, first_page);
                w64(sh, 0x28, present);
                w64(sh, 0x30, c->npfn);
                memcpy(sh + 0x38, bitmap, bitmap_bytes);
            }
        }
        if (sink_put(&s, h, first_page) != IG_OK) {
            st = IG_ERR;
            goto out;
        }
    }
    for (uint64_t pfn = 0; pfn < c->npfn && st == IG_OK; pfn++) {
        if (fmt == IG_FMT_RAW)
            st = put_page(c, &s, pfn, tmp);
        else if (fmt == IG_FMT_CRASH ? ig_pfn_is_ram(c, pfn) : ((bitmap[pfn / 8] >> (pfn % 8)) & 1))
            st = put_page(c, &s, pfn, tmp);
    }
    if (st == IG_OK)
        st = sink_flush(&s);
out:
    if (s.gz && gzclose(s.gz) != Z_OK && st == IG_OK)
        st = ig_fail("gzip close failed");
    if (s.fd >= 0)
        close(s.fd);
    free(s.buf);
    free(tmp);
    free(h);
    free(bitmap);
    return st;
}

/* Bitmap crash dumps (DumpType 2, 5, 6): a header after the main header,
 * then one bit per physical page (LSB first); the k-th set bit's page is
 * stored at HeaderSize + k * 0x1000.  The PhysicalMemoryBlock of the main
 * header is PAGE fill in these dumps and is not read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crashdump_internal.h"
#include "crashdump_layout.h"

/* Limits: a bitmap covers at most 2^40 pages (2^52 bytes); the header area
 * before the first page holds the bitmap. */
#define MS_CD_MAX_BITMAP_BITS (1ull << 40)
#define MS_CD_BITMAP_CHUNK (1u << 20)

typedef enum bitmap_layout {
    LAYOUT_BITMAP,      /* u64 fields at +0x20, bits at +0x38 (types 5/6, 64-bit 2 since Win8) */
    LAYOUT_SUMMARY32,   /* SUMMARY_DUMP32: u32 fields, bits at +0x20 */
    LAYOUT_SUMMARY64    /* SUMMARY_DUMP64: u32 fields, bits at +0x28 */
} bitmap_layout;

typedef struct bitmap_desc {
    uint64_t bits_offset;   /* file offset of the bitmap */
    uint64_t bits;          /* BitmapSize: number of bits */
    uint64_t pages;         /* Pages: set bits, as the header claims */
    uint64_t first_page;    /* HeaderSize: file offset of the first page */
} bitmap_desc;

static const char *layout_name(bitmap_layout layout)
{
    switch (layout) {
    case LAYOUT_BITMAP: return "bitmap header";
    case LAYOUT_SUMMARY32: return "SUMMARY_DUMP32 header";
    case LAYOUT_SUMMARY64: return "SUMMARY_DUMP64 header";
    }
    return "?";
}

static ms_status read_desc(ms_source *src, uint64_t base, bitmap_layout layout, bitmap_desc *d)
{
    uint8_t b[BMP_BITS];
    if (src->size < base + sizeof b)
        return ms_fail(MS_ERR_TRUNCATED, "crash dump %s needs 0x%llx bytes at 0x%llx, but the file ends at 0x%llx",
                       layout_name(layout), (unsigned long long)sizeof b, (unsigned long long)base,
                       (unsigned long long)src->size);
    ms_status st = ms_source_read(src, base, b, sizeof b);
    if (st != MS_OK)
        return st;

    uint32_t sig = ms_cd_le32(b + BMP_SIGNATURE), valid = ms_cd_le32(b + BMP_VALID_DUMP);
    if ((sig != MS_CD_SIG_SDMP && sig != MS_CD_SIG_FDMP) || valid != MS_CD_VALID_DUMP32)
        return ms_fail(MS_ERR_FORMAT,
                       "crash dump %s at 0x%llx should start with SDMPDUMP or FDMPDUMP, found %08x %08x",
                       layout_name(layout), (unsigned long long)base, sig, valid);
    if (layout == LAYOUT_BITMAP) {
        d->bits_offset = base + BMP_BITS;
        d->first_page = ms_cd_le64(b + BMP_HEADER_SIZE);
        d->pages = ms_cd_le64(b + BMP_PAGES);
        d->bits = ms_cd_le64(b + BMP_BITMAP_SIZE);
    } else {
        d->bits_offset = base + (layout == LAYOUT_SUMMARY32 ? SUM32_BITS : SUM64_BITS);
        d->first_page = ms_cd_le32(b + SUM_HEADER_SIZE);
        d->pages = ms_cd_le32(b + SUM_PAGES);
        d->bits = ms_cd_le32(b + SUM_BITMAP_SIZE);
    }
    return MS_OK;
}

static ms_status check_desc(const ms_source *src, bitmap_layout layout, const bitmap_desc *d)
{
    const char *what = layout_name(layout);
    if (d->bits == 0 || d->bits > MS_CD_MAX_BITMAP_BITS)
        return ms_fail(MS_ERR_FORMAT, "crash dump %s: BitmapSize 0x%llx bits is absurd, expected 1 to 0x%llx",
                       what, (unsigned long long)d->bits, (unsigned long long)MS_CD_MAX_BITMAP_BITS);
    if (d->pages > d->bits)
        return ms_fail(MS_ERR_FORMAT, "crash dump %s: Pages 0x%llx is more than BitmapSize 0x%llx", what,
                       (unsigned long long)d->pages, (unsigned long long)d->bits);
    if (d->first_page % MS_CD_PAGE_SIZE != 0)
        return ms_fail(MS_ERR_FORMAT, "crash dump %s: HeaderSize 0x%llx is not a multiple of the page size 0x1000",
                       what, (unsigned long long)d->first_page);
    if (d->first_page > src->size)
        return ms_fail(MS_ERR_TRUNCATED, "crash dump %s: HeaderSize 0x%llx is past the end of the 0x%llx-byte file",
                       what, (unsigned long long)d->first_page, (unsigned long long)src->size);
    uint64_t bits_end = d->bits_offset + (d->bits + 7) / 8;
    if (bits_end > d->first_page)
        return ms_fail(MS_ERR_FORMAT,
                       "crash dump %s: a bitmap of 0x%llx bits ends at 0x%llx, after the first page at HeaderSize 0x%llx",
                       what, (unsigned long long)d->bits, (unsigned long long)bits_end,
                       (unsigned long long)d->first_page);
    return MS_OK;
}

static ms_status find_desc(ms_source *src, uint64_t base, bitmap_layout layout, bitmap_desc *d)
{
    ms_status st = read_desc(src, base, layout, d);
    return st == MS_OK ? check_desc(src, layout, d) : st;
}

typedef struct bitmap_walk {
    const bitmap_desc *d;
    ms_runmap *map;
    uint64_t set_bits;      /* pages found so far */
    uint64_t file_pages;    /* pages the file holds after HeaderSize */
} bitmap_walk;

static ms_status add_pages(bitmap_walk *w, uint64_t pfn, uint64_t count)
{
    uint64_t k = w->set_bits;
    w->set_bits += count;
    if (w->set_bits > w->file_pages)
        return MS_OK;   /* reported once the whole bitmap is counted */
    return ms_runmap_add(w->map, pfn * MS_CD_PAGE_SIZE, count * MS_CD_PAGE_SIZE,
                         w->d->first_page + k * MS_CD_PAGE_SIZE);
}

/* One 64-bit word of the bitmap, for pages pfn .. pfn+63. */
static ms_status add_word(bitmap_walk *w, uint64_t pfn, uint64_t word)
{
    if (word == UINT64_MAX)
        return add_pages(w, pfn, 64);
    while (word != 0) {
        unsigned start = (unsigned)__builtin_ctzll(word);
        /* word is not all ones here, so ~(word >> start) has a set bit */
        unsigned len = (unsigned)__builtin_ctzll(~(word >> start));
        ms_status st = add_pages(w, pfn + start, len);
        if (st != MS_OK)
            return st;
        word &= ~(((1ull << len) - 1) << start);
    }
    return MS_OK;
}

static ms_status walk_bitmap(ms_source *src, bitmap_walk *w)
{
    const bitmap_desc *d = w->d;
    uint64_t nbytes = (d->bits + 7) / 8;
    uint8_t *buf = malloc(MS_CD_BITMAP_CHUNK);
    if (buf == NULL)
        return ms_fail(MS_ERR_NOMEM, "cannot allocate a buffer to read the crash dump bitmap");
    ms_status st = MS_OK;
    uint64_t pfn = 0;
    for (uint64_t done = 0; done < nbytes && st == MS_OK;) {
        size_t n = nbytes - done < MS_CD_BITMAP_CHUNK ? (size_t)(nbytes - done) : MS_CD_BITMAP_CHUNK;
        st = ms_source_read(src, d->bits_offset + done, buf, n);
        for (size_t i = 0; i < n && st == MS_OK; i += 8, pfn += 64) {
            uint8_t b[8] = {0};
            memcpy(b, buf + i, n - i < 8 ? n - i : 8);
            uint64_t word = ms_cd_le64(b);
            if (d->bits - pfn < 64)
                word &= (1ull << (d->bits - pfn)) - 1;
            if (word != 0)
                st = add_word(w, pfn, word);
        }
        done += n;
    }
    free(buf);
    return st;
}

ms_status ms_crashdump_parse_bitmap(ms_source *src, int is_64bit, uint32_t dump_type, ms_dump_header *hdr,
                                    ms_runmap *map)
{
    uint64_t base = is_64bit ? DH64_SIZE : DH32_SIZE;
    bitmap_layout layout = LAYOUT_BITMAP;
    bitmap_desc d;
    ms_status st;

    if (dump_type != MS_DUMP_SUMMARY) {
        st = find_desc(src, base, layout, &d);
    } else {
        /* DumpType 2 was written with the SUMMARY_DUMP32/64 layout before
         * Windows 8 and with the bitmap layout since; the other layout's
         * HeaderSize then falls on reserved bytes and fails the checks. */
        layout = is_64bit ? LAYOUT_BITMAP : LAYOUT_SUMMARY32;
        st = find_desc(src, base, layout, &d);
        if (st != MS_OK) {
            char first[256];
            snprintf(first, sizeof first, "%s", ms_last_error());
            ms_status first_st = st;
            layout = is_64bit ? LAYOUT_SUMMARY64 : LAYOUT_BITMAP;
            st = find_desc(src, base, layout, &d);
            if (st != MS_OK)
                return ms_fail(first_st, "%s (the %s does not fit either)", first, layout_name(layout));
        }
    }
    if (st != MS_OK)
        return st;

    bitmap_walk w = {&d, map, 0, (src->size - d.first_page) / MS_CD_PAGE_SIZE};
    st = walk_bitmap(src, &w);
    if (st != MS_OK)
        return st;
    if (w.set_bits > w.file_pages)
        return ms_fail(MS_ERR_TRUNCATED,
                       "crash dump bitmap marks 0x%llx pages present, but the file holds only 0x%llx pages after "
                       "HeaderSize 0x%llx (truncated dump?)",
                       (unsigned long long)w.set_bits, (unsigned long long)w.file_pages,
                       (unsigned long long)d.first_page);
    hdr->bitmap_pages = w.set_bits;
    hdr->bitmap_bits = d.bits;
    return MS_OK;
}

/* LiME images: a sequence of ranges, each a 32-byte header
 *   u32 magic 0x4C694D45 ("EMiL" on disk), u32 version (1),
 *   u64 s_addr, u64 e_addr (inclusive), u64 reserved
 * followed by e_addr - s_addr + 1 bytes of memory. */
#include <stdint.h>

#include "formats.h"

#define LIME_MAGIC 0x4C694D45u
#define LIME_VERSION 1u
#define LIME_HEADER 32u
#define LIME_MAX_RANGES (1u << 20)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int ms_lime_detect(ms_source *src)
{
    uint8_t h[8];
    if (src->size < LIME_HEADER || ms_source_read(src, 0, h, sizeof h) != MS_OK)
        return 0;
    return le32(h) == LIME_MAGIC;
}

ms_status ms_lime_parse(ms_source *src, ms_runmap *map)
{
    uint64_t off = 0, size = src->size;
    uint64_t prev_end = 0;
    size_t n = 0;
    while (off < size) {
        if (n == LIME_MAX_RANGES)
            return ms_fail(MS_ERR_LIMIT, "LiME image has more than %u ranges", LIME_MAX_RANGES);
        uint8_t h[LIME_HEADER];
        if (size - off < LIME_HEADER)
            return ms_fail(MS_ERR_TRUNCATED, "LiME range header %zu at offset 0x%llx is cut short: %llu of %u bytes",
                           n, (unsigned long long)off, (unsigned long long)(size - off), LIME_HEADER);
        ms_status st = ms_source_read(src, off, h, sizeof h);
        if (st != MS_OK)
            return st;
        uint32_t magic = le32(h), version = le32(h + 4);
        uint64_t s = le64(h + 8), e = le64(h + 16);
        if (magic != LIME_MAGIC)
            return ms_fail(MS_ERR_FORMAT, "expected LiME header magic 0x%08x at offset 0x%llx (range %zu), found 0x%08x",
                           LIME_MAGIC, (unsigned long long)off, n, magic);
        if (version != LIME_VERSION)
            return ms_fail(MS_ERR_UNSUPPORTED, "LiME range %zu at offset 0x%llx has version %u, only version 1 is known",
                           n, (unsigned long long)off, version);
        if (e < s)
            return ms_fail(MS_ERR_FORMAT, "LiME range %zu at offset 0x%llx ends (0x%llx) before it starts (0x%llx)",
                           n, (unsigned long long)off, (unsigned long long)e, (unsigned long long)s);
        if (n > 0 && s < prev_end)
            return ms_fail(MS_ERR_FORMAT, "LiME ranges must ascend: range %zu starts at 0x%llx, before the previous one ends at 0x%llx",
                           n, (unsigned long long)s, (unsigned long long)prev_end);
        if (e == UINT64_MAX)
            return ms_fail(MS_ERR_FORMAT, "LiME range %zu at offset 0x%llx reaches the end of the 64-bit address space",
                           n, (unsigned long long)off);
        uint64_t len = e - s + 1;
        uint64_t data = off + LIME_HEADER;
        if (len > size - data)
            return ms_fail(MS_ERR_TRUNCATED,
                           "LiME range %zu (0x%llx-0x%llx) needs 0x%llx data bytes at offset 0x%llx, but the file ends at 0x%llx",
                           n, (unsigned long long)s, (unsigned long long)e, (unsigned long long)len,
                           (unsigned long long)data, (unsigned long long)size);
        if ((st = ms_runmap_add(map, s, len, data)) != MS_OK)
            return st;
        prev_end = e + 1;
        off = data + len;
        n++;
    }
    return MS_OK;
}

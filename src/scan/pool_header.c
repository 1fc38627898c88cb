/* Pool headers: decoding the two layouts and checking a caller's rule. */
#include "memsift/scan.h"

#include <string.h>

#define POOL_PAGE 0x1000u

unsigned ms_pool_header_size(ms_pool_layout layout)
{
    return layout == MS_POOL_X64 ? 16u : 8u;
}

unsigned ms_pool_unit(ms_pool_layout layout)
{
    return layout == MS_POOL_X64 ? 16u : 8u;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t ms_pool_tag_value(const char tag[4])
{
    return rd32((const uint8_t *)tag);
}

void ms_pool_decode(ms_pool_layout layout, const uint8_t *p, ms_pool_header *out)
{
    memset(out, 0, sizeof *out);
    out->tag = rd32(p + 4);
    if (layout == MS_POOL_X64) {
        out->previous_size = (uint32_t)p[0] * 16u;
        out->pool_index = p[1];
        out->block_size = (uint32_t)p[2] * 16u;
        out->pool_type = p[3];
        out->process_billed = (uint64_t)rd32(p + 8) | (uint64_t)rd32(p + 12) << 32;
        return;
    }
    uint16_t w0 = rd16(p), w1 = rd16(p + 2);
    out->previous_size = (uint32_t)(w0 & 0x1ffu) * 8u;
    out->pool_index = w0 >> 9;
    out->block_size = (uint32_t)(w1 & 0x1ffu) * 8u;
    out->pool_type = w1 >> 9;
}

unsigned ms_pool_type_class(ms_pool_type_convention conv, uint32_t pool_type)
{
    if (pool_type == 0)
        return MS_POOL_CLASS_FREE;
    int odd = pool_type & 1u;
    if (conv == MS_POOLTYPE_ODD_NONPAGED)
        return odd ? MS_POOL_CLASS_NONPAGED : MS_POOL_CLASS_PAGED;
    return odd ? MS_POOL_CLASS_PAGED : MS_POOL_CLASS_NONPAGED;
}

void ms_pool_rule_init(ms_pool_rule *rule)
{
    memset(rule, 0, sizeof *rule);
    rule->max_pool_index = MS_POOL_ANY_INDEX;
    memset(rule->pool_types, 0xff, sizeof rule->pool_types);
}

void ms_pool_rule_set_types(ms_pool_rule *rule, ms_pool_type_convention conv, unsigned classes)
{
    memset(rule->pool_types, 0, sizeof rule->pool_types);
    for (unsigned v = 0; v < 256; v++)
        if (ms_pool_type_class(conv, v) & classes)
            rule->pool_types[v / 8] |= (uint8_t)(1u << (v % 8));
}

/* PreviousSize of the block whose header is at p. */
static uint32_t previous_size_at(ms_pool_layout layout, const uint8_t *p)
{
    if (layout == MS_POOL_X64)
        return (uint32_t)p[0] * 16u;
    return (uint32_t)(rd16(p) & 0x1ffu) * 8u;
}

static uint32_t block_size_at(ms_pool_layout layout, const uint8_t *p)
{
    if (layout == MS_POOL_X64)
        return (uint32_t)p[2] * 16u;
    return (uint32_t)(rd16(p + 2) & 0x1ffu) * 8u;
}

static int neighbours_agree(ms_pool_layout layout, uint64_t paddr, const ms_pool_header *hdr,
                            const uint8_t *block, size_t avail, size_t before)
{
    unsigned hsize = ms_pool_header_size(layout);
    uint32_t in_page = (uint32_t)(paddr % POOL_PAGE);
    if (hdr->previous_size != 0 && hdr->previous_size <= in_page && hdr->previous_size <= before &&
        block_size_at(layout, block - hdr->previous_size) != hdr->previous_size)
        return 0;
    uint64_t next = (uint64_t)in_page + hdr->block_size;
    if (next < POOL_PAGE && hdr->block_size + (uint64_t)hsize <= avail &&
        previous_size_at(layout, block + hdr->block_size) != hdr->block_size)
        return 0;
    return 1;
}

int ms_pool_rule_accepts(const ms_pool_rule *rule, ms_pool_layout layout, uint64_t paddr,
                         const ms_pool_header *hdr, const uint8_t *block, size_t avail, size_t before)
{
    unsigned hsize = ms_pool_header_size(layout);
    if (paddr % ms_pool_unit(layout) != 0 || avail < hsize)
        return 0;
    if (hdr->block_size < hsize || hdr->block_size < rule->min_block)
        return 0;
    if (rule->max_block != 0 && hdr->block_size > rule->max_block)
        return 0;
    if (rule->object_size != 0 && (uint64_t)rule->object_size + hsize > hdr->block_size)
        return 0;
    if (rule->max_pool_index != MS_POOL_ANY_INDEX && hdr->pool_index > rule->max_pool_index)
        return 0;
    if (hdr->pool_type > 0xff || !(rule->pool_types[hdr->pool_type / 8] & (1u << (hdr->pool_type % 8))))
        return 0;
    if ((rule->checks & MS_POOL_CHECK_WHOLE) && avail < hdr->block_size)
        return 0;
    if (rule->checks & MS_POOL_CHECK_PAGE) {
        uint32_t in_page = (uint32_t)(paddr % POOL_PAGE);
        if ((uint64_t)in_page + hdr->block_size > POOL_PAGE)
            return 0;
        if (hdr->previous_size > in_page)
            return 0;
    }
    if ((rule->checks & MS_POOL_CHECK_NEIGHBOURS) && !neighbours_agree(layout, paddr, hdr, block, avail, before))
        return 0;
    return 1;
}

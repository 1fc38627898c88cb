/* Kernel pool blocks with Windows' _POOL_HEADER, and executive objects. */
#include <string.h>

#include "ig.h"

size_t ig_pool_header_size(const ig_ctx *c) { return c->ptr == 8 ? 16 : 8; }
size_t ig_pool_align(const ig_ctx *c) { return c->ptr == 8 ? 16 : 8; }

typedef struct hdr_layout { int pos[4], len[4]; long off; } hdr_layout;

/* PreviousSize, PoolIndex, BlockSize, PoolType bit fields.  x64 (2003 and
 * later): four bytes; x86 (XP and later): 9/7/9/7 bits. */
static void layout(const ig_ctx *c, hdr_layout *l)
{
    static const char *names[4] = {"PreviousSize", "PoolIndex", "BlockSize", "PoolType"};
    static const int x64pos[4] = {0, 8, 16, 24}, x64len[4] = {8, 8, 8, 8};
    static const int x86pos[4] = {0, 9, 16, 25}, x86len[4] = {9, 7, 9, 7};
    for (int i = 0; i < 4; i++) {
        long off;
        int pos, len;
        if (c->prof && ig_prof_bits(c->prof, "_POOL_HEADER", names[i], &off, &pos, &len) == IG_OK) {
            l->pos[i] = (int)(off * 8) + pos;
            l->len[i] = len;
        } else {
            l->pos[i] = c->ptr == 8 ? x64pos[i] : x86pos[i];
            l->len[i] = c->ptr == 8 ? x64len[i] : x86len[i];
        }
    }
}

static ig_status write_header(ig_ctx *c, uint64_t va, uint32_t prev_units, uint32_t units, uint32_t type,
                              uint32_t tag)
{
    hdr_layout l;
    layout(c, &l);
    uint32_t vals[4] = {prev_units, 0, units, type};
    uint32_t word = 0;
    for (int i = 0; i < 4; i++)
        word |= (vals[i] & ((1u << l.len[i]) - 1)) << l.pos[i];
    uint8_t h[16] = {0};
    memcpy(h, &word, 4);
    memcpy(h + 4, &tag, 4);
    return ig_write(c, va, h, ig_pool_header_size(c));
}

static uint32_t tag_u32(const char tag[4])
{
    uint32_t v;
    memcpy(&v, tag, 4);
    return v;
}

static ig_status close_page(ig_ctx *c, int k)
{
    if (c->pool_page[k] == 0)
        return IG_OK;
    size_t a = ig_pool_align(c);
    uint32_t rest = IG_PAGE - c->pool_used[k];
    if (rest >= ig_pool_header_size(c)) {
        /* the tail of the page is one free block (PoolType 0) */
        if (write_header(c, c->pool_page[k] + c->pool_used[k], (uint32_t)(c->pool_prev[k] / a),
                         (uint32_t)(rest / a), 0, tag_u32("Free")) != IG_OK)
            return IG_ERR;
    }
    c->pool_page[k] = 0;
    return IG_OK;
}

ig_status ig_pool_flush(ig_ctx *c)
{
    if (close_page(c, 0) != IG_OK || close_page(c, 1) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

ig_status ig_pool_alloc(ig_ctx *c, ig_pool_type type, const char tag[4], size_t body_size, uint64_t *body,
                        uint64_t *hdr)
{
    int k = type == IG_POOL_PAGED ? 1 : 0;
    size_t a = ig_pool_align(c);
    size_t hs = ig_pool_header_size(c);
    size_t block = (hs + body_size + a - 1) & ~(a - 1);
    if (block > IG_PAGE)
        return ig_fail("pool block of %zu bytes does not fit a page", block);
    if (c->pool_page[k] == 0 || c->pool_used[k] + block > IG_PAGE) {
        if (close_page(c, k) != IG_OK)
            return IG_ERR;
        if (ig_kva_alloc(c, k ? IG_VA_PPOOL : IG_VA_NPPOOL, IG_PAGE, &c->pool_page[k]) != IG_OK)
            return IG_ERR;
        c->pool_used[k] = 0;
        c->pool_prev[k] = 0;
    }
    uint64_t h = c->pool_page[k] + c->pool_used[k];
    /* 0 is a free block.  Before Vista the stored PoolType is POOL_TYPE + 1
     * (odd = nonpaged, even = paged); from Vista on bit 1 marks a block in use
     * and bit 0 paged pool (2 = nonpaged, 3 = paged), as Volatility's
     * POOL_HEADER_VISTA reads it. */
    uint32_t ptype = c->t->build >= 6000 ? (k ? 3 : 2) : (k ? 2 : 1);
    if (write_header(c, h, (uint32_t)(c->pool_prev[k] / a), (uint32_t)(block / a), ptype, tag_u32(tag)) != IG_OK)
        return IG_ERR;
    c->pool_used[k] += (uint32_t)block;
    c->pool_prev[k] = (uint32_t)block;
    if (hdr)
        *hdr = h;
    *body = h + hs;
    return IG_OK;
}

static const char *const noise_tags[] = {"File", "Even", "Toke", "Irp ", "MmCa", "Ntfx", "CcBc", "Vad ",
                                         "Sema", "Mdl ", "NtFs", "AfdE", "Key ", "CMVa", "SeTd", "IoNm"};

ig_status ig_pool_noise(ig_ctx *c, ig_pool_type type, int count)
{
    for (int i = 0; i < count; i++) {
        const char *tag = noise_tags[ig_rng_range(&c->rng, 0, sizeof noise_tags / sizeof *noise_tags - 1)];
        size_t size = (size_t)ig_rng_range(&c->rng, 0x20, 0x1A0);
        uint64_t body;
        if (ig_pool_alloc(c, type, tag, size, &body, NULL) != IG_OK)
            return IG_ERR;
        uint8_t buf[0x1A0];
        for (size_t j = 0; j < size; j++)
            buf[j] = (j % 8 < 3) ? (uint8_t)ig_rng_next(&c->rng) : 0;
        if (ig_write(c, body, buf, size) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

/* _OBJECT_HEADER placement.  Win7+: TypeIndex byte, InfoMask, optional
 * headers found through InfoMask; XP/2003: Type pointer and offsets. */
ig_status ig_object_alloc(ig_ctx *c, const char tag[4], uint8_t type_index, uint64_t type_ptr, size_t body_size,
                          uint64_t *body)
{
    int x64 = c->ptr == 8;
    long body_off = ig_off(c, "_OBJECT_HEADER", "Body");
    if (body_off < 0)
        body_off = x64 ? 0x30 : 0x18;
    char t[4];
    memcpy(t, tag, 4);
    if (c->t->old_pool)
        t[3] = (char)((uint8_t)t[3] | 0x80); /* PROTECTED_POOL bit on object tags */
    size_t quota = c->t->old_pool ? 0 : (x64 ? 0x20 : 0x10);
    uint64_t blk;
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, t, quota + (size_t)body_off + body_size, &blk, NULL) != IG_OK)
        return IG_ERR;
    uint64_t oh = blk + quota;
    uint64_t pointer_count = ig_rng_range(&c->rng, 3, 40);
    if (ig_wptr(c, oh, pointer_count) != IG_OK || ig_wptr(c, oh + c->ptr, pointer_count - 2) != IG_OK)
        return IG_ERR;
    if (c->t->old_pool) {
        long type_off = ig_off(c, "_OBJECT_HEADER", "Type");
        if (type_off < 0)
            type_off = x64 ? 0x10 : 0x8;
        if (ig_wptr(c, oh + (uint64_t)type_off, type_ptr) != IG_OK)
            return IG_ERR;
    } else {
        long ti = ig_off(c, "_OBJECT_HEADER", "TypeIndex");
        long im = ig_off(c, "_OBJECT_HEADER", "InfoMask");
        if (ti < 0)
            ti = x64 ? 0x18 : 0xC;
        if (im < 0)
            im = x64 ? 0x1A : 0xE;
        uint8_t stored = type_index;
        if (c->t->ob_cookie)
            stored = (uint8_t)(type_index ^ c->ob_cookie ^ (uint8_t)(oh >> 8));
        if (ig_w8(c, oh + (uint64_t)ti, stored) != IG_OK || ig_w8(c, oh + (uint64_t)im, 0x08) != IG_OK)
            return IG_ERR;
        /* OBJECT_HEADER_QUOTA_INFO: PagedPoolCharge, NonPagedPoolCharge */
        if (ig_w32(c, blk, 0x1000) != IG_OK || ig_w32(c, blk + 4, (uint32_t)(body_size + 0x100)) != IG_OK)
            return IG_ERR;
    }
    *body = oh + (uint64_t)body_off;
    return IG_OK;
}

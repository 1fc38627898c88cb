/* Kernel virtual memory: region allocators and VA reads/writes. */
#include <string.h>

#include "ig.h"

ig_status ig_kva_reserve(ig_ctx *c, ig_va_kind kind, size_t size, uint64_t *va)
{
    ig_region *r = &c->va[kind];
    uint64_t len = (size + IG_PAGE - 1) & ~(uint64_t)(IG_PAGE - 1);
    if (r->base == 0 || r->next + len > r->end || r->next + len < r->next)
        return ig_fail("virtual region %d exhausted", (int)kind);
    *va = r->next;
    r->next += len;
    return IG_OK;
}

ig_status ig_kva_alloc(ig_ctx *c, ig_va_kind kind, size_t size, uint64_t *va)
{
    if (ig_kva_reserve(c, kind, size, va) != IG_OK)
        return IG_ERR;
    unsigned flags = kind == IG_VA_DRIVERS ? 0 : IG_MAP_NX;
    for (uint64_t off = 0; off < size; off += IG_PAGE) {
        uint64_t pa;
        if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, *va + off, pa, flags) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

ig_status ig_ensure_mapped(ig_ctx *c, uint64_t va, size_t len, unsigned flags)
{
    uint64_t first = va & ~(uint64_t)(IG_PAGE - 1);
    for (uint64_t p = first; p < va + len; p += IG_PAGE) {
        uint64_t pa;
        if (ig_v2p(c, p, &pa) == IG_OK)
            continue;
        if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, p, pa, flags) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

ig_status ig_write(ig_ctx *c, uint64_t va, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    while (len > 0) {
        size_t n = IG_PAGE - (va % IG_PAGE);
        if (n > len)
            n = len;
        uint64_t pa;
        if (ig_v2p(c, va, &pa) != IG_OK)
            return ig_fail("write to unmapped 0x%llx", (unsigned long long)va);
        if (ig_phys_write(c, pa, src, n) != IG_OK)
            return IG_ERR;
        va += n;
        src += n;
        len -= n;
    }
    return IG_OK;
}

ig_status ig_read(ig_ctx *c, uint64_t va, void *buf, size_t len)
{
    uint8_t *dst = buf;
    while (len > 0) {
        size_t n = IG_PAGE - (va % IG_PAGE);
        if (n > len)
            n = len;
        uint64_t pa;
        if (ig_v2p(c, va, &pa) != IG_OK)
            return ig_fail("read of unmapped 0x%llx", (unsigned long long)va);
        const uint8_t *pg = ig_phys_lookup(c, pa / IG_PAGE);
        if (pg)
            memcpy(dst, pg + pa % IG_PAGE, n);
        else
            memset(dst, 0, n);
        va += n;
        dst += n;
        len -= n;
    }
    return IG_OK;
}

ig_status ig_w8(ig_ctx *c, uint64_t va, uint8_t v) { return ig_write(c, va, &v, 1); }
ig_status ig_w16(ig_ctx *c, uint64_t va, uint16_t v) { return ig_write(c, va, &v, 2); }
ig_status ig_w32(ig_ctx *c, uint64_t va, uint32_t v) { return ig_write(c, va, &v, 4); }
ig_status ig_w64(ig_ctx *c, uint64_t va, uint64_t v) { return ig_write(c, va, &v, 8); }

ig_status ig_wptr(ig_ctx *c, uint64_t va, uint64_t v)
{
    return c->ptr == 8 ? ig_w64(c, va, v) : ig_w32(c, va, (uint32_t)v);
}

ig_status ig_list_init(ig_ctx *c, uint64_t head)
{
    if (ig_wptr(c, head, head) != IG_OK || ig_wptr(c, head + c->ptr, head) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

static ig_status rdptr(ig_ctx *c, uint64_t va, uint64_t *v)
{
    *v = 0;
    if (ig_read(c, va, v, c->ptr) != IG_OK)
        return IG_ERR;
    *v = ig_canonical(c, *v);
    return IG_OK;
}

/* InsertTailList */
ig_status ig_list_append(ig_ctx *c, uint64_t head, uint64_t entry)
{
    uint64_t last;
    if (rdptr(c, head + c->ptr, &last) != IG_OK)
        return IG_ERR;
    if (ig_wptr(c, entry, head) != IG_OK || ig_wptr(c, entry + c->ptr, last) != IG_OK ||
        ig_wptr(c, last, entry) != IG_OK || ig_wptr(c, head + c->ptr, entry) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

size_t ig_unicode_size(const ig_ctx *c, const char *ascii)
{
    (void)c;
    return (strlen(ascii) + 1) * 2;
}

/* UNICODE_STRING: Length u16, MaximumLength u16, Buffer at 4 (x86) / 8 (x64). */
ig_status ig_unicode_at(ig_ctx *c, uint64_t us, uint64_t buf, const char *ascii)
{
    size_t n = strlen(ascii);
    uint16_t w[512];
    if (n >= 512)
        return ig_fail("string too long");
    for (size_t i = 0; i <= n; i++)
        w[i] = (uint8_t)ascii[i];
    if (ig_write(c, buf, w, (n + 1) * 2) != IG_OK || ig_w16(c, us, (uint16_t)(n * 2)) != IG_OK ||
        ig_w16(c, us + 2, (uint16_t)((n + 1) * 2)) != IG_OK || ig_wptr(c, us + c->ptr, buf) != IG_OK)
        return IG_ERR;
    return IG_OK;
}

ig_status ig_wstr(ig_ctx *c, uint64_t va, const char *ascii)
{
    size_t n = strlen(ascii);
    uint16_t w[512];
    if (n >= 512)
        return ig_fail("string too long");
    for (size_t i = 0; i <= n; i++)
        w[i] = (uint8_t)ascii[i];
    return ig_write(c, va, w, (n + 1) * 2);
}

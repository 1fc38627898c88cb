/* Reads through an address space, one translation per page. */
#include <stdio.h>
#include <string.h>

#include "paging_internal.h"

ms_status ms_vspace_read(ms_vspace *vs, uint64_t vaddr, void *buf, size_t len)
{
    if (vs == NULL || (buf == NULL && len > 0))
        return ms_fail(MS_ERR_ARG, "ms_vspace_read needs an address space and a buffer");
    uint8_t *out = buf;
    ms_status first = MS_OK;
    char first_msg[512];
    while (len > 0) {
        size_t room = MS_PAGE_SIZE - (size_t)(vaddr & (MS_PAGE_SIZE - 1));
        size_t n = len < room ? len : room;
        ms_translation t;
        ms_status st = ms_vspace_translate(vs, vaddr, &t);
        if (st == MS_OK) {
            st = ms_image_read(vs->image, t.paddr, out, n);
            if (st == MS_ERR_NOT_PRESENT)
                ms_fail(st, "virtual 0x%llx maps to physical 0x%llx, which the image does not hold",
                        (unsigned long long)vaddr, (unsigned long long)t.paddr);
            else if (st != MS_OK)
                return ms_fail(MS_ERR_IO, "reading physical 0x%llx (virtual 0x%llx) failed",
                               (unsigned long long)t.paddr, (unsigned long long)vaddr);
        } else {
            if (st == MS_ERR_IO || st == MS_ERR_ARG || st == MS_ERR_INTERNAL)
                return st;
            memset(out, 0, n);
        }
        if (st != MS_OK && first == MS_OK) {
            first = st;
            snprintf(first_msg, sizeof first_msg, "%s", ms_last_error());
        }
        out += n;
        vaddr += n;
        len -= n;
    }
    if (first != MS_OK)
        return ms_fail(first, "%s", first_msg);
    return MS_OK;
}

static ms_status read_le(ms_vspace *vs, uint64_t vaddr, unsigned size, uint64_t *out)
{
    uint8_t raw[8];
    ms_status st = ms_vspace_read(vs, vaddr, raw, size);
    if (st == MS_OK)
        *out = ms_le_entry(raw, size);
    return st;
}

ms_status ms_vspace_read_u16(ms_vspace *vs, uint64_t vaddr, uint16_t *out)
{
    uint64_t v;
    ms_status st = read_le(vs, vaddr, 2, &v);
    if (st == MS_OK)
        *out = (uint16_t)v;
    return st;
}

ms_status ms_vspace_read_u32(ms_vspace *vs, uint64_t vaddr, uint32_t *out)
{
    uint64_t v;
    ms_status st = read_le(vs, vaddr, 4, &v);
    if (st == MS_OK)
        *out = (uint32_t)v;
    return st;
}

ms_status ms_vspace_read_u64(ms_vspace *vs, uint64_t vaddr, uint64_t *out)
{
    return read_le(vs, vaddr, 8, out);
}

ms_status ms_vspace_read_ptr(ms_vspace *vs, uint64_t vaddr, uint64_t *out)
{
    return read_le(vs, vaddr, ms_vspace_pointer_size(vs), out);
}

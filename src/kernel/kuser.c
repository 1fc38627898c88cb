#include "kuser.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

ms_status ms_kuser_read(ms_vspace *vs, ms_kuser *out)
{
    uint64_t va = ms_vspace_pointer_size(vs) == 8 ? MS_KUSER_X64 : MS_KUSER_X86;
    uint8_t page[0x400];
    ms_status st = ms_vspace_read(vs, va, page, sizeof page);
    if (st != MS_OK)
        return ms_fail(st, "KUSER_SHARED_DATA at 0x%llx is not readable", (unsigned long long)va);
    uint32_t major = rd32(page + MS_KUSER_NT_MAJOR), minor = rd32(page + MS_KUSER_NT_MINOR);
    if (!((major == 5 && minor <= 2) || (major == 6 && minor <= 3) || (major == 10 && minor == 0)))
        return ms_fail(MS_ERR_FORMAT, "KUSER_SHARED_DATA at 0x%llx: expected an NT version 5.x, 6.x or 10.0, found %u.%u",
                       (unsigned long long)va, major, minor);
    memset(out, 0, sizeof *out);
    out->address = va;
    out->nt_major = major;
    out->nt_minor = minor;
    out->product_type = rd32(page + MS_KUSER_NT_PRODUCT_TYPE);
    if (major == 10) {
        uint32_t build = rd32(page + MS_KUSER_NT_BUILD);
        out->nt_build = (build >= 10240 && build < 100000) ? build : 0;
    }
    /* KSYSTEM_TIME is LowPart, High1Time, High2Time; equal highs mean a
     * consistent snapshot. */
    uint32_t low = rd32(page + MS_KUSER_SYSTEM_TIME);
    uint32_t high1 = rd32(page + MS_KUSER_SYSTEM_TIME + 4);
    uint32_t high2 = rd32(page + MS_KUSER_SYSTEM_TIME + 8);
    if (high1 == high2)
        out->system_time = ((uint64_t)high1 << 32) | low;
    return MS_OK;
}

#include "kdversion.h"

#include <stdlib.h>
#include <string.h>

/* Layout (wdbgexts.h): MajorVersion u16, MinorVersion u16, ProtocolVersion u8,
 * KdSecondaryVersion u8, Flags u16, MachineType u16, three u8 maxima, Simulation,
 * Unused u16, KernBase u64 at 0x10, PsLoadedModuleList u64 at 0x18,
 * DebuggerDataList u64 at 0x20. */
#define KV_MACHINE 0x08
#define KV_KERN_BASE 0x10
#define KV_MODULE_LIST 0x18
#define KV_SIZE 0x28
#define SCAN_CHUNK 0x10000u

static int plausible(const uint8_t *p, uint64_t kernel_base, unsigned ptr)
{
    uint16_t major, minor, machine;
    uint64_t base;
    memcpy(&major, p, 2);
    memcpy(&minor, p + 2, 2);
    memcpy(&machine, p + KV_MACHINE, 2);
    memcpy(&base, p + KV_KERN_BASE, 8);
    if (ptr == 4)
        base &= 0xffffffffull; /* x86 stores sign-extended 32-bit pointers */
    if (base != kernel_base || (major != 0xf && major != 0xc) || minor < 2195 || minor >= 60000)
        return 0;
    return ptr == 8 ? machine == 0x8664 : machine == 0x014c;
}

ms_status ms_kdversion_scan(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdversion *out)
{
    unsigned ptr = ms_vspace_pointer_size(vs);
    uint8_t *buf = malloc(SCAN_CHUNK + KV_SIZE);
    if (buf == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory scanning for KdVersionBlock");
    for (uint32_t s = 0; s < pe->section_count; s++) {
        const ms_pe_section *sec = &pe->sections[s];
        if (sec->characteristics & MS_PE_SCN_EXECUTE)
            continue;
        for (uint64_t off = 0; off < sec->virtual_size; off += SCAN_CHUNK) {
            uint64_t len = sec->virtual_size - off;
            if (len > SCAN_CHUNK + KV_SIZE)
                len = SCAN_CHUNK + KV_SIZE;
            uint64_t va = kernel_base + sec->rva + off;
            ms_vspace_read(vs, va, buf, (size_t)len); /* absent pages read as zeros and never match */
            for (uint64_t i = 0; i + KV_SIZE <= len && i < SCAN_CHUNK; i += 8) {
                if (!plausible(buf + i, kernel_base, ptr))
                    continue;
                memset(out, 0, sizeof *out);
                out->address = va + i;
                memcpy(&out->major, buf + i, 2);
                memcpy(&out->minor, buf + i + 2, 2);
                memcpy(&out->machine, buf + i + KV_MACHINE, 2);
                memcpy(&out->ps_loaded_module_list, buf + i + KV_MODULE_LIST, 8);
                if (ptr == 4)
                    out->ps_loaded_module_list &= 0xffffffffull;
                free(buf);
                return MS_OK;
            }
        }
    }
    free(buf);
    return ms_fail(MS_ERR_NOT_FOUND, "no KdVersionBlock with KernBase 0x%llx in the kernel image's data sections",
                   (unsigned long long)kernel_base);
}

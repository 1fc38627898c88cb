#include "kdbg.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rol64(uint64_t v, unsigned n)
{
    n &= 63;
    return n ? (v << n) | (v >> (64 - n)) : v;
}

uint64_t ms_kdbg_decode(uint64_t value, const ms_kdbg_keys *keys)
{
    value = rol64(value ^ keys->wait_never, (unsigned)(keys->wait_never & 0xff));
    value = __builtin_bswap64(value ^ keys->encoded_flag_va);
    return value ^ keys->wait_always;
}

static uint64_t field_at(const uint8_t *block, unsigned off, unsigned ptr_size)
{
    uint64_t v;
    memcpy(&v, block + off, 8);
    /* x86 stores sign-extended 32-bit pointers in these 64-bit fields. */
    return ptr_size == 4 ? (v & 0xffffffffull) : v;
}

static int is_kernel_va(uint64_t va, unsigned ptr_size)
{
    return ptr_size == 8 ? va >= 0xffff800000000000ull : (va >= 0x80000000ull && va <= 0xffffffffull);
}

ms_status ms_kdbg_read(ms_vspace *vs, uint64_t va, const ms_kdbg_keys *keys, ms_kdbg *out)
{
    unsigned ptr = ms_vspace_pointer_size(vs);
    uint8_t head[0x220];
    ms_status st = ms_vspace_read(vs, va, head, sizeof head);
    if (st != MS_OK)
        return ms_fail(st, "KDBG at 0x%llx is not readable", (unsigned long long)va);
    int encoded = 0;
    uint32_t tag;
    memcpy(&tag, head + MS_KDBG_OWNER_TAG, 4);
    if (tag != MS_KDBG_TAG && keys != NULL) {
        for (unsigned i = 0; i < sizeof head; i += 8) {
            uint64_t q;
            memcpy(&q, head + i, 8);
            q = ms_kdbg_decode(q, keys);
            memcpy(head + i, &q, 8);
        }
        memcpy(&tag, head + MS_KDBG_OWNER_TAG, 4);
        encoded = 1;
    }
    if (tag != MS_KDBG_TAG)
        return ms_fail(MS_ERR_FORMAT, "KDBG at 0x%llx: expected the owner tag 'KDBG'%s, found 0x%08x",
                       (unsigned long long)va, keys ? " (after decoding)" : "", tag);
    uint32_t size;
    memcpy(&size, head + MS_KDBG_SIZE, 4);
    if (size < 0x200 || size > MS_KDBG_MAX_SIZE)
        return ms_fail(MS_ERR_FORMAT, "KDBG at 0x%llx: expected a size between 0x200 and 0x%x, found 0x%x",
                       (unsigned long long)va, MS_KDBG_MAX_SIZE, size);
    memset(out, 0, sizeof *out);
    out->address = va;
    out->encoded = encoded;
    out->size = size;
    out->kern_base = field_at(head, MS_KDBG_KERN_BASE, ptr);
    out->ps_loaded_module_list = field_at(head, MS_KDBG_PS_LOADED_MODULE_LIST, ptr);
    out->ps_active_process_head = field_at(head, MS_KDBG_PS_ACTIVE_PROCESS_HEAD, ptr);
    out->mm_pfn_database = field_at(head, MS_KDBG_MM_PFN_DATABASE, ptr);
    out->nt_build_lab = field_at(head, MS_KDBG_NT_BUILD_LAB, ptr);
    out->ki_processor_block = field_at(head, MS_KDBG_KI_PROCESSOR_BLOCK, ptr);
    if (!is_kernel_va(out->kern_base, ptr) || !is_kernel_va(out->ps_active_process_head, ptr))
        return ms_fail(MS_ERR_FORMAT, "KDBG at 0x%llx: KernBase 0x%llx or PsActiveProcessHead 0x%llx is not a kernel address",
                       (unsigned long long)va, (unsigned long long)out->kern_base,
                       (unsigned long long)out->ps_active_process_head);
    return MS_OK;
}

#define SCAN_CHUNK 0x10000u

ms_status ms_kdbg_scan_image(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdbg *out)
{
    unsigned ptr = ms_vspace_pointer_size(vs);
    uint8_t *buf = malloc(SCAN_CHUNK + 16);
    if (buf == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory scanning for KDBG");
    for (uint32_t s = 0; s < pe->section_count; s++) {
        const ms_pe_section *sec = &pe->sections[s];
        if (sec->characteristics & MS_PE_SCN_EXECUTE)
            continue;
        for (uint64_t off = 0; off < sec->virtual_size; off += SCAN_CHUNK) {
            uint64_t len = sec->virtual_size - off < SCAN_CHUNK ? sec->virtual_size - off : SCAN_CHUNK;
            uint64_t va = kernel_base + sec->rva + off;
            /* Pages that are not resident read as zeros, which never match. */
            ms_vspace_read(vs, va, buf, (size_t)len);
            for (uint64_t i = MS_KDBG_OWNER_TAG; i + 16 <= len; i += 4) {
                uint32_t tag;
                memcpy(&tag, buf + i, 4);
                if (tag != MS_KDBG_TAG)
                    continue;
                uint64_t base;
                memcpy(&base, buf + i + 8, 8);
                if (ptr == 4)
                    base &= 0xffffffffull;
                if (base == kernel_base && ms_kdbg_read(vs, va + i - MS_KDBG_OWNER_TAG, NULL, out) == MS_OK) {
                    free(buf);
                    return MS_OK;
                }
            }
        }
    }
    free(buf);
    return ms_fail(MS_ERR_NOT_FOUND, "no plain KDBG block with KernBase 0x%llx in the kernel image's data sections",
                   (unsigned long long)kernel_base);
}

#include "dtb_process.h"

#include <string.h>

size_t ms_process_sigs(const ms_profile_db *db, ms_process_sig *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; db != NULL && i < ms_profile_db_count(db); i++) {
        const ms_profile *p = ms_profile_db_at(db, i);
        uint32_t name;
        uint64_t size = 0;
        if (strcmp(ms_profile_module(p), "nt") != 0 || ms_profile_field(p, "_EPROCESS", "ImageFileName", &name) != MS_OK)
            continue;
        if (ms_profile_const_u64(p, "KPROCESS_HEADER_SIZE", &size) != MS_OK || size > 0xff)
            size = 0;
        ms_process_sig sig = {ms_profile_pointer_size(p), (uint8_t)size, name};
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen |= memcmp(&out[k], &sig, sizeof sig) == 0;
        if (!seen && n < cap)
            out[n++] = sig;
    }
    return n;
}

static int names_system(ms_image *image, uint64_t paddr)
{
    char name[16];
    if (ms_image_read(image, paddr, name, sizeof name) != MS_OK)
        return 0;
    return memcmp(name, "System\0", 7) == 0 || memcmp(name, "Idle\0", 5) == 0;
}

int ms_dtb_from_process_page(ms_image *image, const uint8_t *page, uint64_t paddr, const ms_process_sig *sigs,
                             size_t nsigs, uint64_t *dtb, unsigned *pointer_size)
{
    for (unsigned off = 0; off + 0x30 <= 4096; off += 8) {
        /* DISPATCHER_HEADER: Type 3 (ProcessObject), then a zero byte. */
        if (page[off] != 3 || page[off + 1] != 0 || page[off + 3] != 0)
            continue;
        for (size_t s = 0; s < nsigs; s++) {
            const ms_process_sig *sig = &sigs[s];
            if (page[off + 2] != sig->header_size || (sig->pointer_size == 8 && (off & 15) != 0))
                continue;
            if (!names_system(image, paddr + off + sig->name_offset))
                continue;
            /* KPROCESS.DirectoryTableBase: 0x18 on x86, 0x28 on x64, in every build. */
            uint64_t value = 0;
            memcpy(&value, page + off + (sig->pointer_size == 8 ? 0x28 : 0x18), sig->pointer_size);
            if (value == 0)
                continue;
            *dtb = value;
            *pointer_size = sig->pointer_size;
            return 1;
        }
    }
    return 0;
}

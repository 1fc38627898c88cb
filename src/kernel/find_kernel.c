#include "find_kernel.h"

#include <string.h>
#include <strings.h>

#include "module_identity.h"

static const char *const kernel_pdbs[] = {"ntkrnlmp.pdb", "ntoskrnl.pdb", "ntkrnlpa.pdb", "ntkrpamp.pdb"};

int ms_is_kernel_pe(const ms_pe *pe)
{
    ms_pe_codeview cv;
    if (ms_pe_codeview_get(pe, &cv) == MS_OK) {
        const char *name = strrchr(cv.pdb_name, '\\');
        name = name ? name + 1 : cv.pdb_name;
        for (size_t i = 0; i < sizeof kernel_pdbs / sizeof kernel_pdbs[0]; i++)
            if (strcasecmp(name, kernel_pdbs[i]) == 0)
                return 1;
    }
    char export_name[64];
    return ms_pe_export_name(pe, export_name, sizeof export_name) == MS_OK &&
           strcasecmp(export_name, "ntoskrnl.exe") == 0;
}

typedef struct scan_ctx {
    ms_vspace *vs;
    uint64_t found;
    uint64_t pages_checked;
} scan_ctx;

#define MAX_PAGES_CHECKED (1u << 22)

static int check_mapping(const ms_mapping *m, void *user)
{
    scan_ctx *s = user;
    ms_image *image = ms_vspace_image(s->vs);
    /* A PE image starts on a page boundary; only test the first two bytes of
     * each page before parsing. */
    for (uint64_t off = 0; off < m->length; off += 0x1000) {
        if (++s->pages_checked > MAX_PAGES_CHECKED)
            return 1;
        uint8_t mz[2];
        if (ms_image_read(image, m->paddr + off, mz, 2) != MS_OK || mz[0] != 'M' || mz[1] != 'Z')
            continue;
        ms_vspace_pe_reader reader = {s->vs, m->vaddr + off};
        ms_pe pe;
        if (ms_pe_parse(ms_vspace_pe_read, &reader, &pe) == MS_OK && ms_is_kernel_pe(&pe)) {
            s->found = m->vaddr + off;
            return 1;
        }
    }
    return 0;
}

ms_status ms_find_kernel_scan(ms_vspace *vs, uint64_t *base)
{
    scan_ctx s = {vs, 0, 0};
    if (ms_vspace_pointer_size(vs) == 8) {
        /* KASLR places the kernel in 0xfffff800'00000000..0xfffff807'ffffffff;
         * Windows 7 and 8.1 use the start of that range. */
        ms_vspace_walk(vs, 0xfffff80000000000ull, 0xfffff80800000000ull, check_mapping, &s);
    } else {
        /* 32-bit kernels load in system space, below the page-table self-map. */
        ms_vspace_walk(vs, 0x80000000ull, 0xc0000000ull, check_mapping, &s);
        if (s.found == 0)
            ms_vspace_walk(vs, 0xc1000000ull, 0xffc00000ull, check_mapping, &s);
    }
    if (s.found == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "no resident PE image of the NT kernel (ntkrnlmp/ntoskrnl/ntkrnlpa/ntkrpamp) "
                       "was found in kernel space (%llu pages checked)", (unsigned long long)s.pages_checked);
    *base = s.found;
    return MS_OK;
}

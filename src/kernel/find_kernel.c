#include "find_kernel.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kdbg.h"
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

#define KDBG_CHUNK (1u << 20)

typedef struct va_of_pa {
    uint64_t paddr;
    uint64_t vaddr;
} va_of_pa;

static int find_pa(const ms_mapping *m, void *user)
{
    va_of_pa *v = user;
    if (v->paddr >= m->paddr && v->paddr - m->paddr < m->length) {
        v->vaddr = m->vaddr + (v->paddr - m->paddr);
        return 1;
    }
    return 0;
}

/* A KDBG header found at physical address `pa`: its KernBase and
 * PsActiveProcessHead must be kernel addresses, the process list head must
 * read as a list through `vs`, and the block must be mapped in the kernel
 * image, which gives its virtual address. */
static int kdbg_at(ms_vspace *vs, const uint8_t *hdr, uint64_t pa, uint64_t *base, uint64_t *kdbg)
{
    unsigned ptr = ms_vspace_pointer_size(vs);
    uint64_t kern_base, head, flink, back;
    memcpy(&kern_base, hdr + MS_KDBG_KERN_BASE, 8);
    memcpy(&head, hdr + MS_KDBG_PS_ACTIVE_PROCESS_HEAD, 8);
    if (ptr == 4) {
        kern_base &= 0xffffffffull;
        head &= 0xffffffffull;
    }
    if ((kern_base & 0xfff) != 0 || head <= kern_base || ms_vspace_read_ptr(vs, head, &flink) != MS_OK ||
        ms_vspace_read_ptr(vs, flink + ptr, &back) != MS_OK || back != head)
        return 0;
    va_of_pa v = {pa, 0};
    ms_vspace_walk(vs, kern_base, kern_base + (64ull << 20), find_pa, &v);
    ms_kdbg k;
    if (v.vaddr == 0 || ms_kdbg_read(vs, v.vaddr, NULL, &k) != MS_OK || k.kern_base != kern_base)
        return 0;
    *base = kern_base;
    *kdbg = v.vaddr;
    return 1;
}

ms_status ms_find_kernel_by_kdbg(ms_vspace *vs, uint64_t *base, uint64_t *kdbg)
{
    ms_image *image = ms_vspace_image(vs);
    const ms_image_info *info = ms_image_get_info(image);
    uint8_t *buf = malloc(KDBG_CHUNK + 0x20);
    if (buf == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory scanning for KDBG");
    for (size_t r = 0; r < info->range_count; r++) {
        ms_phys_range range;
        if (ms_image_range(image, r, &range) != MS_OK)
            break;
        for (uint64_t off = 0; off < range.length; off += KDBG_CHUNK) {
            uint64_t len = range.length - off < KDBG_CHUNK + 0x20 ? range.length - off : KDBG_CHUNK + 0x20;
            if (ms_image_read(image, range.start + off, buf, (size_t)len) != MS_OK)
                continue;
            for (uint64_t i = MS_KDBG_OWNER_TAG; i + 0x58 <= len && i < KDBG_CHUNK; i += 4) {
                if (memcmp(buf + i, "KDBG", 4) == 0 &&
                    kdbg_at(vs, buf + i - MS_KDBG_OWNER_TAG, range.start + off + i - MS_KDBG_OWNER_TAG, base, kdbg)) {
                    free(buf);
                    return MS_OK;
                }
            }
        }
    }
    free(buf);
    return ms_fail(MS_ERR_NOT_FOUND, "no plain KDBG block in physical memory either (it is encoded on Windows 8+ x64)");
}

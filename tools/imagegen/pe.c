/* In-memory PE images: headers, sections, export and CodeView debug data. */
#include <stdlib.h>
#include <string.h>

#include "ig.h"

ig_status ig_guid_parse(const char *hex, uint8_t out[16])
{
    uint8_t raw[16];
    for (int i = 0; i < 16; i++) {
        char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
        char *end;
        if (b[0] == 0 || b[1] == 0)
            return ig_fail("bad GUID %s", hex);
        raw[i] = (uint8_t)strtoul(b, &end, 16);
        if (*end)
            return ig_fail("bad GUID %s", hex);
    }
    /* Data1 u32, Data2 u16, Data3 u16 little-endian; Data4 as is. */
    out[0] = raw[3]; out[1] = raw[2]; out[2] = raw[1]; out[3] = raw[0];
    out[4] = raw[5]; out[5] = raw[4];
    out[6] = raw[7]; out[7] = raw[6];
    memcpy(out + 8, raw + 8, 8);
    return IG_OK;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static int cmp_export(const void *a, const void *b)
{
    return strcmp(((const ig_pe_export *)a)->name, ((const ig_pe_export *)b)->name);
}

static const char dos_stub[] = "This program cannot be run in DOS mode.\r\r\n$";

ig_status ig_pe_write(ig_ctx *c, const ig_pe_spec *s)
{
    uint8_t h[IG_PAGE];
    memset(h, 0, sizeof h);
    const uint32_t lfanew = 0x100;
    h[0] = 'M';
    h[1] = 'Z';
    put16(h + 2, 0x90);
    put16(h + 4, 3);
    put16(h + 8, 4);
    put16(h + 0xC, 0xFFFF);
    put16(h + 0x10, 0xB8);
    put16(h + 0x18, 0x40);
    put32(h + 0x3C, lfanew);
    /* DOS stub: push cs; pop ds; mov dx,0xE; mov ah,9; int 21h; mov ax,4C01h; int 21h */
    static const uint8_t stub_code[] = {0x0E, 0x1F, 0xBA, 0x0E, 0x00, 0xB4, 0x09, 0xCD,
                                        0x21, 0xB8, 0x01, 0x4C, 0xCD, 0x21};
    memcpy(h + 0x40, stub_code, sizeof stub_code);
    memcpy(h + 0x4E, dos_stub, sizeof dos_stub - 1);

    uint8_t *nt = h + lfanew;
    memcpy(nt, "PE\0\0", 4);
    uint8_t *coff = nt + 4;
    put16(coff + 0, s->machine);
    put16(coff + 2, (uint16_t)s->nsections);
    put32(coff + 4, s->timestamp);
    put16(coff + 16, s->pe64 ? 0xF0 : 0xE0);
    put16(coff + 18, s->pe64 ? 0x22 : 0x122);
    uint8_t *opt = coff + 20;
    uint32_t code_size = 0, data_size = 0;
    for (int i = 0; i < s->nsections; i++) {
        if (s->sections[i].chars & 0x20)
            code_size += s->sections[i].size;
        else
            data_size += s->sections[i].size;
    }
    put16(opt + 0, s->pe64 ? 0x20B : 0x10B);
    opt[2] = 14;
    opt[3] = 20;
    put32(opt + 4, code_size);
    put32(opt + 8, data_size);
    put32(opt + 16, s->entry_rva);
    put32(opt + 20, 0x1000);
    uint8_t *p;
    if (s->pe64) {
        put64(opt + 24, s->base);
        p = opt + 32;
    } else {
        put32(opt + 24, s->nsections > 1 ? s->sections[1].rva : 0x1000);
        put32(opt + 28, (uint32_t)s->base);
        p = opt + 32;
    }
    put32(p + 0, 0x1000);   /* SectionAlignment */
    put32(p + 4, 0x200);    /* FileAlignment */
    put16(p + 8, (uint16_t)c->t->major);
    put16(p + 10, (uint16_t)c->t->minor);
    put16(p + 12, (uint16_t)c->t->major);
    put16(p + 14, (uint16_t)c->t->minor);
    put16(p + 16, (uint16_t)c->t->major);
    put16(p + 18, (uint16_t)c->t->minor);
    put32(p + 24, s->size_of_image);
    put32(p + 28, 0x600);   /* SizeOfHeaders */
    put32(p + 32, (uint32_t)ig_mix64(s->base ^ s->timestamp) & 0x00FFFFFF); /* CheckSum */
    put16(p + 36, 1);       /* IMAGE_SUBSYSTEM_NATIVE */
    put16(p + 38, s->pe64 ? 0x4160 : 0x0540);
    uint8_t *dirs;
    if (s->pe64) {
        put64(p + 40, 0x80000);
        put64(p + 48, 0x2000);
        put64(p + 56, 0x100000);
        put64(p + 64, 0x1000);
        put32(p + 76, 16);
        dirs = p + 80;
    } else {
        put32(p + 40, 0x80000);
        put32(p + 44, 0x2000);
        put32(p + 48, 0x100000);
        put32(p + 52, 0x1000);
        put32(p + 60, 16);
        dirs = p + 64;
    }
    uint32_t exp_rva = s->dir_rva, dbg_rva = s->dir_rva + 0x800;
    uint32_t exp_size = 0;
    uint8_t *sec = opt + (s->pe64 ? 0xF0 : 0xE0);
    uint32_t raw_ptr = 0x600;
    for (int i = 0; i < s->nsections; i++) {
        uint8_t *e = sec + 40 * i;
        strncpy((char *)e, s->sections[i].name, 8);
        put32(e + 8, s->sections[i].size);
        put32(e + 12, s->sections[i].rva);
        uint32_t raw = (s->sections[i].size + 0x1FF) & ~0x1FFu;
        put32(e + 16, raw);
        put32(e + 20, raw_ptr);
        raw_ptr += raw;
        put32(e + 36, s->sections[i].chars);
    }

    /* export directory + names */
    if (s->dll_name && s->nexports > 0) {
        uint8_t ex[0x800];
        memset(ex, 0, sizeof ex);
        ig_pe_export sorted[16];
        int n = s->nexports > 16 ? 16 : s->nexports;
        memcpy(sorted, s->exports, sizeof *sorted * (size_t)n);
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_export);
        uint32_t funcs = 40, names = funcs + 4u * (uint32_t)n, ords = names + 4u * (uint32_t)n;
        uint32_t str = ords + 2u * (uint32_t)n;
        put32(ex + 4, s->timestamp);
        put32(ex + 12, exp_rva + str);
        size_t dl = strlen(s->dll_name) + 1;
        memcpy(ex + str, s->dll_name, dl);
        str += (uint32_t)dl;
        put32(ex + 16, 1);
        put32(ex + 20, (uint32_t)n);
        put32(ex + 24, (uint32_t)n);
        put32(ex + 28, exp_rva + funcs);
        put32(ex + 32, exp_rva + names);
        put32(ex + 36, exp_rva + ords);
        for (int i = 0; i < n; i++) {
            put32(ex + funcs + 4 * i, sorted[i].rva);
            put32(ex + names + 4 * i, exp_rva + str);
            put16(ex + ords + 2 * i, (uint16_t)i);
            size_t l = strlen(sorted[i].name) + 1;
            if (str + l > sizeof ex)
                return ig_fail("export names too long");
            memcpy(ex + str, sorted[i].name, l);
            str += (uint32_t)l;
        }
        exp_size = str;
        if (ig_ensure_mapped(c, s->base + exp_rva, exp_size, IG_MAP_NX) != IG_OK ||
            ig_write(c, s->base + exp_rva, ex, exp_size) != IG_OK)
            return IG_ERR;
        put32(dirs + 0, exp_rva);
        put32(dirs + 4, exp_size);
    }

    /* IMAGE_DEBUG_DIRECTORY (CodeView) + CV_INFO_PDB70 */
    uint8_t dbg[0x100];
    memset(dbg, 0, sizeof dbg);
    uint32_t cv = 0x20;
    size_t pl = strlen(s->pdb_name) + 1;
    uint32_t cv_size = 24 + (uint32_t)pl;
    put32(dbg + 4, s->timestamp);
    put32(dbg + 12, 2);
    put32(dbg + 16, cv_size);
    put32(dbg + 20, dbg_rva + cv);
    put32(dbg + 24, dbg_rva + cv);
    memcpy(dbg + cv, "RSDS", 4);
    if (ig_guid_parse(s->guid, dbg + cv + 4) != IG_OK)
        return IG_ERR;
    put32(dbg + cv + 20, s->age);
    memcpy(dbg + cv + 24, s->pdb_name, pl);
    if (ig_ensure_mapped(c, s->base + dbg_rva, cv + cv_size, IG_MAP_NX) != IG_OK ||
        ig_write(c, s->base + dbg_rva, dbg, cv + cv_size) != IG_OK)
        return IG_ERR;
    put32(dirs + 6 * 8, dbg_rva);
    put32(dirs + 6 * 8 + 4, 28);

    if (ig_ensure_mapped(c, s->base, IG_PAGE, IG_MAP_NX) != IG_OK)
        return IG_ERR;
    return ig_write(c, s->base, h, IG_PAGE);
}

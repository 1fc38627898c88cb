/* PsLoadedModuleList: KLDR_DATA_TABLE_ENTRYs in 'MmLd' pool blocks and a
 * small PE image (headers + CodeView record) for every driver. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ig.h"
#include "net_xp.h"


typedef struct mod_spec { const char *name, *pdb; uint32_t size_x64, size_x86; } mod_spec;

static const mod_spec mods[] = {
    {"hal.dll", "hal.pdb", 0x6A000, 0x37000},
    {"kdcom.dll", "kdcom.pdb", 0xB000, 0x8000},
    {"CI.dll", "ci.pdb", 0xD2000, 0x0},
    {"ACPI.sys", "ACPI.pdb", 0x86000, 0x2E000},
    {"Ntfs.sys", "ntfs.pdb", 0x2F4000, 0x91000},
    {"NETIO.SYS", "netio.pdb", 0x9A000, 0x0},
    {"tcpip.sys", "tcpip.pdb", 0x2EF000, 0x58000},
    {"afd.sys", "afd.pdb", 0xA6000, 0x23000},
    {"http.sys", "HTTP.pdb", 0x14E000, 0x0},
};

/* A tcpip.pdb GUID the symbol index knows (win10-19041-x64): among the x64
 * entries whose PartitionCount is a word 8 bytes before PartitionTable (as
 * in tcpip 10.0.19041.4780), the one whose PartitionTable RVA is nearest
 * that file's (0x207208); else the GUID of that file.  Made up elsewhere. */
static void tcpip_guid(ig_ctx *c, char guid[33], uint32_t *age)
{
    if (c->t->build == 19041) {
        snprintf(guid, 33, "FBC0BBA45083A595E389FB48C1AB9A20");
        *age = 1;
        char path[1024];
        snprintf(path, sizeof path, "%s/tcpip/symbols.idx", ig_profile_dir);
        FILE *f = fopen(path, "r");
        if (f) {
            char line[2048], g[64], arch[16];
            unsigned a;
            unsigned long best = ~0ul;
            while (fgets(line, sizeof line, f)) {
                if (line[0] == '#' || sscanf(line, "%63s %u %15s", g, &a, arch) != 3)
                    continue;
                const char *pt = strstr(line, " PartitionTable="), *pc = strstr(line, " PartitionCount=");
                if (strlen(g) != 32 || strcmp(arch, "x64") != 0 || pt == NULL || pc == NULL)
                    continue;
                unsigned long t = strtoul(pt + 16, NULL, 16), n = strtoul(pc + 16, NULL, 16);
                unsigned long d = t > 0x207208 ? t - 0x207208 : 0x207208 - t;
                if (t - n == 8 && d < best) {
                    best = d;
                    memcpy(guid, g, 32);
                    guid[32] = '\0';
                    *age = a;
                }
            }
            fclose(f);
        }
        return;
    }
    uint64_t h = ig_mix64(0x7463706970ull ^ c->t->build ^ ((uint64_t)c->t->mode << 40));
    snprintf(guid, 33, "%016llX%016llX", (unsigned long long)h, (unsigned long long)ig_mix64(h));
    *age = 1;
}

static void made_up_guid(const ig_ctx *c, const char *name, char guid[33])
{
    uint64_t h = (uint64_t)c->t->build * 0x100000001B3ull ^ c->t->mode;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001B3ull;
    h = ig_mix64(h);
    snprintf(guid, 33, "%016llX%016llX", (unsigned long long)h, (unsigned long long)ig_mix64(h + 1));
}

static ig_status add_entry(ig_ctx *c, ig_mod_truth *m, uint64_t entry_point)
{
    const char *L = "_LDR_DATA_TABLE_ENTRY";
    int x64 = c->ptr == 8;
    long sz = c->prof ? ig_prof_struct_size(c->prof, L) : -1;
    if (sz <= 0)
        sz = x64 ? 0xA0 : 0x50;
    long o_base = ig_off(c, L, "DllBase"), o_ep = ig_off(c, L, "EntryPoint"), o_size = ig_off(c, L, "SizeOfImage");
    long o_full = ig_off(c, L, "FullDllName"), o_name = ig_off(c, L, "BaseDllName");
    long o_mem = ig_off(c, L, "InMemoryOrderLinks"), o_ts = ig_off(c, L, "TimeDateStamp");
    if (o_base < 0) o_base = x64 ? 0x30 : 0x18;
    if (o_ep < 0) o_ep = x64 ? 0x38 : 0x1C;
    if (o_size < 0) o_size = x64 ? 0x40 : 0x20;
    if (o_full < 0) o_full = x64 ? 0x48 : 0x24;
    if (o_name < 0) o_name = x64 ? 0x58 : 0x2C;
    size_t full = ig_unicode_size(c, m->path), base = ig_unicode_size(c, m->name);
    uint64_t e;
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, "MmLd", (size_t)sz + full + base, &e, NULL) != IG_OK)
        return IG_ERR;
    m->ldr = e;
    int s = IG_OK;
    s |= ig_list_append(c, c->ps_loaded_list, e);
    if (o_mem >= 0)
        s |= ig_list_init(c, e + (uint64_t)o_mem);
    s |= ig_wptr(c, e + (uint64_t)o_base, m->base);
    s |= ig_wptr(c, e + (uint64_t)o_ep, entry_point);
    s |= ig_w32(c, e + (uint64_t)o_size, (uint32_t)m->size);
    s |= ig_unicode_at(c, e + (uint64_t)o_full, e + (uint64_t)sz, m->path);
    s |= ig_unicode_at(c, e + (uint64_t)o_name, e + (uint64_t)sz + full, m->name);
    if (o_ts >= 0)
        s |= ig_w32(c, e + (uint64_t)o_ts, (uint32_t)ig_rng_range(&c->rng, 0x40000000, 0x7FFFFFFF));
    return s == IG_OK ? IG_OK : IG_ERR;
}

ig_status ig_modules_build(ig_ctx *c)
{
    const ig_target *t = c->t;
    int x64 = t->mode == IG_MODE_X64;
    const char *root = t->build < 6000 ? "\\WINDOWS\\system32\\" : "\\SystemRoot\\system32\\";
    const char *drv = t->build < 6000 ? "\\SystemRoot\\System32\\DRIVERS\\" : "\\SystemRoot\\System32\\drivers\\";

    ig_mod_truth *k = &c->mods[c->nmods++];
    memset(k, 0, sizeof *k);
    const char *kname = t->build < 6000 && t->mode == IG_MODE_PAE ? "ntkrnlpa.exe" : "ntoskrnl.exe";
    snprintf(k->name, sizeof k->name, "%s", kname);
    snprintf(k->path, sizeof k->path, "%s%s", root, kname);
    k->base = c->kbase;
    k->size = c->ksize;
    snprintf(k->pdb_name, sizeof k->pdb_name, "%s", c->kpdb_name);
    memcpy(k->guid, c->kguid, 33);
    k->age = c->kage;
    if (add_entry(c, k, c->kbase + 0x1000) != IG_OK)
        return IG_ERR;

    for (size_t i = 0; i < sizeof mods / sizeof *mods && c->nmods < IG_MAX_MODS; i++) {
        const mod_spec *s = &mods[i];
        uint32_t size = x64 ? s->size_x64 : s->size_x86;
        if (size == 0 || (t->build < 6000 && (strcmp(s->name, "CI.dll") == 0 || strcmp(s->name, "NETIO.SYS") == 0)))
            continue;
        if (t->build < 6000 && strcmp(s->name, "http.sys") == 0)
            continue;
        ig_mod_truth *m = &c->mods[c->nmods++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", s->name);
        int in_root = strstr(s->name, ".dll") != NULL;
        snprintf(m->path, sizeof m->path, "%s%s", in_root ? root : drv, s->name);
        m->size = size;
        uint64_t va;
        if (ig_kva_reserve(c, IG_VA_DRIVERS, size + 0x10000, &va) != IG_OK)
            return IG_ERR;
        m->base = va;
        snprintf(m->pdb_name, sizeof m->pdb_name, "%s", s->pdb);
        if (strcmp(s->name, "tcpip.sys") == 0)
            tcpip_guid(c, m->guid, &m->age);
        else {
            made_up_guid(c, s->name, m->guid);
            m->age = 1;
        }
        uint32_t text_end = (size / 2) & ~0xFFFu;
        ig_pe_section sec[5] = {
            {".text", 0x1000, text_end - 0x1000, 0x68000020},
            {".rdata", text_end, 0x3000, 0x48000040},
            {".data", text_end + 0x3000, 0x4000, 0xC8000040},
            {"PAGE", text_end + 0x7000, size - (text_end + 0x7000) - 0x3000, 0x60000020},
            {".reloc", size - 0x3000, 0x3000, 0x42000040},
        };
        uint32_t dir_rva = text_end;
        int nsec = 5;
        if (t->build < 6000 && strcmp(s->name, "tcpip.sys") == 0)
            nsec = xp_tcpip_sections(x64, size, sec, &dir_rva);
        ig_pe_spec spec = {
            .base = va, .size_of_image = size, .pe64 = x64, .machine = x64 ? 0x8664 : 0x14C,
            .sections = sec, .nsections = nsec, .dll_name = NULL, .dir_rva = dir_rva,
            .pdb_name = m->pdb_name, .guid = m->guid, .age = m->age,
            .timestamp = (uint32_t)ig_rng_range(&c->rng, 0x40000000, 0x7FFFFFFF), .entry_rva = 0x1010,
        };
        if (ig_pe_write(c, &spec) != IG_OK)
            return IG_ERR;
        /* a little code so the image is not just headers */
        if (ig_ensure_mapped(c, va + 0x1000, IG_PAGE, 0) != IG_OK)
            return IG_ERR;
        uint8_t code[64];
        for (size_t j = 0; j < sizeof code; j++)
            code[j] = (uint8_t)ig_rng_next(&c->rng);
        code[0] = 0x48; code[1] = 0x83; code[2] = 0xEC; code[3] = 0x28; /* sub rsp,28h */
        if (ig_write(c, va + 0x1010, code, sizeof code) != IG_OK)
            return IG_ERR;
        if (add_entry(c, m, va + 0x1010) != IG_OK)
            return IG_ERR;
        if (strcmp(s->name, "Ntfs.sys") == 0 && ig_pte_make_transition(c, va) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

ig_mod_truth *ig_module_find(ig_ctx *c, const char *name)
{
    for (int i = 0; i < c->nmods; i++)
        if (strcmp(c->mods[i].name, name) == 0)
            return &c->mods[i];
    return NULL;
}

/* The kernel image and its globals: PE headers, KDBG (encoded on Win8+
 * x64), KdVersionBlock, KUSER_SHARED_DATA, KPCR/KPRCB, the x64 low stub. */
#include <stdio.h>
#include <string.h>

#include "ig.h"

#define MiB 0x100000ull

long ig_off(const ig_ctx *c, const char *st, const char *path)
{
    return c->prof ? ig_prof_field(c->prof, st, path) : -1;
}

long ig_need(const ig_ctx *c, const char *st, const char *path)
{
    long v = ig_off(c, st, path);
    if (v < 0)
        ig_fail("profile %s has no %s.%s", c->t->kernel_profile, st, path);
    return v;
}

/* Map kernel image pages that are touched (sparse mode only). */
static ig_status ktouch(ig_ctx *c, uint64_t va, size_t len)
{
    if (!c->kernel_sparse)
        return IG_OK;
    for (uint64_t p = va & ~(uint64_t)(IG_PAGE - 1); p < va + len; p += IG_PAGE) {
        uint64_t pa;
        if (ig_v2p(c, p, &pa) == IG_OK)
            continue;
        if (c->kfixed) {
            pa = p - c->kfixed;
            if (ig_phys_page(c, pa / IG_PAGE) == NULL)
                return IG_ERR;
        } else if (ig_frame_alloc(c, &pa) != IG_OK) {
            return IG_ERR;
        }
        if (ig_map(c, p, pa, 0) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

uint64_t ig_kernel_symbol(ig_ctx *c, const char *name, uint64_t size)
{
    uint64_t rva, va;
    if (c->prof && ig_prof_symbol(c->prof, name, &rva)) {
        va = c->kbase + rva;
    } else {
        /* A global without a profile RVA gets one slot, however often it is asked for. */
        for (size_t i = 0; i < c->kspare_nsyms; i++)
            if (strcmp(c->kspare_syms[i].name, name) == 0)
                return c->kspare_syms[i].va;
        va = (c->kspare + 15) & ~15ull;
        if (va + size > c->kspare_end || c->kspare_nsyms == sizeof c->kspare_syms / sizeof c->kspare_syms[0]) {
            ig_fail("kernel spare data exhausted at %s", name);
            return 0;
        }
        c->kspare = va + size;
        c->kspare_syms[c->kspare_nsyms].name = name;
        c->kspare_syms[c->kspare_nsyms++].va = va;
    }
    if (ktouch(c, va, size ? size : 1) != IG_OK)
        return 0;
    return va;
}

static uint64_t sym_rva_or(const ig_ctx *c, const char *name, uint64_t fallback)
{
    uint64_t rva;
    return (c->prof && ig_prof_symbol(c->prof, name, &rva)) ? rva : fallback;
}

static const char *const data_symbols[] = {
    "PsActiveProcessHead", "PsLoadedModuleList", "KdDebuggerDataBlock", "KdpDataBlockEncoded",
    "KiWaitNever", "KiWaitAlways", "KdVersionBlock", "NtBuildNumber", "NtBuildLab",
    "PsInitialSystemProcess", "KeNumberProcessors", "MmPfnDatabase", "KiProcessorBlock",
    "PoolBigPageTable", "PoolBigPageTableSize", "MmNonPagedPoolStart", "MmSystemRangeStart",
    "ObHeaderCookie", "PsProcessType", "CmNtCSDVersion", "PspCidTable", "MmPhysicalMemoryBlock"};

/* Section plan from the profile's symbol RVAs: code below the first data
 * symbol, data around the symbols, spare room after them. */
static void plan_image(ig_ctx *c)
{
    uint64_t lo = UINT64_MAX, hi = 0, rva;
    for (size_t i = 0; i < sizeof data_symbols / sizeof *data_symbols; i++) {
        if (c->prof && ig_prof_symbol(c->prof, data_symbols[i], &rva)) {
            lo = rva < lo ? rva : lo;
            hi = rva > hi ? rva : hi;
        }
    }
    uint64_t def = c->t->mode == IG_MODE_X64 ? (c->t->build >= 10240 ? 0xA00000 : 0x500000)
                                              : (c->t->build < 6000 ? 0x1F0000 : 0x380000);
    if (lo == UINT64_MAX) {
        lo = def * 5 / 8;
        hi = lo + 0x10000;
    }
    c->kdata_lo = (uint32_t)(lo & ~0xFFFull);
    c->kdata_hi = (uint32_t)((hi + 0x1000) & ~0xFFFull);
    uint32_t rdata = 0x200000;
    if (c->kdata_lo < rdata + 0x10000)
        rdata = (c->kdata_lo / 2) & ~0xFFFu;
    uint64_t kcopy;
    if (c->prof && ig_prof_symbol(c->prof, "KdCopyDataBlock", &kcopy) && kcopy >= rdata && kcopy < rdata + 0x6000)
        rdata = (uint32_t)((kcopy + 0x1000) & ~0xFFFull);
    c->krdata = rdata;
    c->ktext_end = rdata;
    uint64_t size = c->kdata_hi + 0x8000 + 0x10000;
    if (size < def)
        size = def;
    c->ksize = (size + 0xFFFF) & ~0xFFFFull;
    c->kspare = c->kbase + c->kdata_hi;
    c->kspare_end = c->kspare + 0x8000;
}

static ig_status map_image(ig_ctx *c)
{
    const ig_target *t = c->t;
    uint64_t lsize = t->mode == IG_MODE_X86 ? 4 * MiB : 2 * MiB;
    uint64_t start = c->kbase & ~(lsize - 1);
    uint64_t end = (c->kbase + c->ksize + lsize - 1) & ~(lsize - 1);
    uint64_t count = (end - start) / lsize;
    int large = t->large_kernel && (end - start) <= c->size / 4;
    uint64_t pa;
    if (c->kfixed) {
        /* the frames are the image's whatever the mapping granularity */
        if (ig_frames_alloc_contig(c, (end - start) / IG_PAGE, lsize, start - c->kfixed, end - c->kfixed, &pa) != IG_OK)
            return IG_ERR;
    } else if (large) {
        if (ig_frames_alloc_contig(c, (end - start) / IG_PAGE, lsize, 16 * MiB, 0, &pa) != IG_OK &&
            ig_frames_alloc_contig(c, (end - start) / IG_PAGE, lsize, 1 * MiB, 0, &pa) != IG_OK)
            return IG_ERR;
    }
    c->kernel_sparse = !large;
    if (!large)
        return IG_OK;
    for (uint64_t f = pa / IG_PAGE; f < (pa + (end - start)) / IG_PAGE; f++)
        c->imgframe[f / 8] |= (uint8_t)(1u << (f % 8));
    c->kbase_pa = pa + (c->kbase - start);
    for (uint64_t i = 0; i < count; i++)
        if (ig_map_large(c, start + i * lsize, pa + i * lsize, 0) != IG_OK)
            return IG_ERR;
    return IG_OK;
}

static ig_status write_pe(ig_ctx *c)
{
    const ig_target *t = c->t;
    ig_pe_section s[9];
    int n = 0;
    uint32_t r = c->krdata;
    s[n++] = (ig_pe_section){".text", 0x1000, r - 0x1000, 0x68000020};
    s[n++] = (ig_pe_section){".rdata", r, 0x4000, 0x48000040};
    uint32_t code2 = r + 0x4000;
    if (t->build >= 10240 && c->kdata_lo > code2 + 0x3000) {
        s[n++] = (ig_pe_section){"POOLCODE", code2, 0x2000, 0x68000020};
        code2 += 0x2000;
    }
    if (c->kdata_lo > code2)
        s[n++] = (ig_pe_section){"PAGE", code2, c->kdata_lo - code2, 0x60000020};
    uint32_t data_end = c->kdata_hi + 0x8000;
    s[n++] = (ig_pe_section){".data", c->kdata_lo, data_end - c->kdata_lo, 0xC8000040};
    if (t->build >= 6000)
        s[n++] = (ig_pe_section){"ALMOSTRO", data_end, 0x2000, 0xC8000040};
    uint32_t init = data_end + 0x2000;
    s[n++] = (ig_pe_section){"INIT", init, 0x6000, 0x62000020};
    s[n++] = (ig_pe_section){".rsrc", init + 0x6000, 0x3000, 0x42000040};
    s[n++] = (ig_pe_section){".reloc", init + 0x9000, (uint32_t)c->ksize - (init + 0x9000), 0x42000040};

    ig_pe_export ex[6];
    int ne = 0;
    ex[ne++] = (ig_pe_export){"PsLoadedModuleList", (uint32_t)(c->ps_loaded_list - c->kbase)};
    ex[ne++] = (ig_pe_export){"PsInitialSystemProcess",
                              (uint32_t)(ig_kernel_symbol(c, "PsInitialSystemProcess", 8) - c->kbase)};
    ex[ne++] = (ig_pe_export){"NtBuildNumber", (uint32_t)(ig_kernel_symbol(c, "NtBuildNumber", 4) - c->kbase)};
    ex[ne++] = (ig_pe_export){"KeNumberProcessors",
                              (uint32_t)(ig_kernel_symbol(c, "KeNumberProcessors", 4) - c->kbase)};
    ex[ne++] = (ig_pe_export){"MmSystemRangeStart",
                              (uint32_t)(ig_kernel_symbol(c, "MmSystemRangeStart", 8) - c->kbase)};
    ex[ne++] = (ig_pe_export){"PsProcessType", (uint32_t)(ig_kernel_symbol(c, "PsProcessType", 8) - c->kbase)};
    if (ktouch(c, c->kbase, IG_PAGE) != IG_OK || ktouch(c, c->kbase + c->krdata, 0x1000) != IG_OK)
        return IG_ERR;
    ig_pe_spec spec = {
        .base = c->kbase, .size_of_image = (uint32_t)c->ksize, .pe64 = t->mode == IG_MODE_X64,
        .machine = t->mode == IG_MODE_X64 ? 0x8664 : 0x14C, .sections = s, .nsections = n,
        .dll_name = "ntoskrnl.exe", .exports = ex, .nexports = ne, .dir_rva = c->krdata,
        .pdb_name = c->kpdb_name, .guid = c->kguid, .age = c->kage,
        .timestamp = (uint32_t)ig_rng_range(&c->rng, 0x40000000, 0x7FFFFFFF), .entry_rva = init + 0x10,
    };
    return ig_pe_write(c, &spec);
}

/* KDDEBUGGER_DATA64 field offsets (identical on x86, pointers widened). */
static long kdbg_off(ig_ctx *c, const char *f, long dflt)
{
    long v = ig_off(c, "_KDDEBUGGER_DATA64", f);
    return v >= 0 ? v : dflt;
}

static uint64_t sx(const ig_ctx *c, uint64_t va)
{
    return c->ptr == 4 && (va & 0x80000000ull) ? (va | 0xFFFFFFFF00000000ull) : va;
}

static uint64_t rol64(uint64_t v, unsigned n) { n &= 63; return n ? (v << n) | (v >> (64 - n)) : v; }
static uint64_t ror64(uint64_t v, unsigned n) { n &= 63; return n ? (v >> n) | (v << (64 - n)) : v; }

static uint64_t kdbg_encode(uint64_t q, uint64_t never, uint64_t always, uint64_t enc_va)
{
    /* inverse of: q = rol(q ^ never, never & 0xFF); q = bswap(q ^ enc_va); q ^= always */
    q ^= always;
    q = __builtin_bswap64(q);
    q ^= enc_va;
    q = ror64(q, (unsigned)(never & 0xFF));
    return q ^ never;
}

uint64_t ig_kdbg_decode(uint64_t q, uint64_t never, uint64_t always, uint64_t enc_va)
{
    q = rol64(q ^ never, (unsigned)(never & 0xFF));
    q = __builtin_bswap64(q ^ enc_va);
    return q ^ always;
}

static void put64(uint8_t *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }

static ig_status write_kdbg(ig_ctx *c, uint64_t list_head, uint64_t bp, uint64_t globals[8])
{
    uint64_t size = 0;
    if (!c->prof || !ig_prof_const(c->prof, "KDBG_SIZE", &size)) {
        uint32_t b = c->t->build;
        size = b < 3790 ? 0x290 : b < 6000 ? 0x318 : b < 7600 ? 0x330 : b < 9200 ? 0x340
             : b < 14393 ? 0x360 : b < 17763 ? 0x368 : 0x380;
    }
    uint8_t k[0x400];
    memset(k, 0, sizeof k);
    if (size > sizeof k)
        return ig_fail("KDBG size 0x%llx too large", (unsigned long long)size);
    /* plausible kernel pointers everywhere, real values where they matter */
    for (size_t off = 0x58; off < 0x298 && off + 8 <= size; off += 8)
        put64(k, off, sx(c, c->kbase + c->kdata_lo + (ig_rng_range(&c->rng, 0, (c->kdata_hi - c->kdata_lo) / 8 - 1) * 8)));
    if (c->ptr == 8) {
        put64(k, 0, list_head);
        put64(k, 8, list_head);
    } /* x86: List stays zero (the 8 zero bytes before `KDBG` that scanners match) */
    memcpy(k + 0x10, "KDBG", 4);
    uint32_t sz32 = (uint32_t)size;
    memcpy(k + 0x14, &sz32, 4);
    put64(k, (size_t)kdbg_off(c, "KernBase", 0x18), sx(c, c->kbase));
    put64(k, (size_t)kdbg_off(c, "BreakpointWithStatus", 0x20), sx(c, bp));
    put64(k, (size_t)kdbg_off(c, "SavedContext", 0x28), 0);
    uint16_t pae = c->mode == IG_MODE_PAE;
    memcpy(k + 0x36, &pae, 2);
    put64(k, (size_t)kdbg_off(c, "PsLoadedModuleList", 0x48), sx(c, c->ps_loaded_list));
    put64(k, (size_t)kdbg_off(c, "PsActiveProcessHead", 0x50), sx(c, c->ps_active_head));
    put64(k, (size_t)kdbg_off(c, "PspCidTable", 0x58), sx(c, globals[0]));
    put64(k, (size_t)kdbg_off(c, "MmPfnDatabase", 0xC0), sx(c, globals[1]));
    put64(k, (size_t)kdbg_off(c, "NtBuildLab", 0x208), sx(c, globals[2]));
    put64(k, (size_t)kdbg_off(c, "KiProcessorBlock", 0x218), sx(c, globals[3]));
    put64(k, (size_t)kdbg_off(c, "MmUnloadedDrivers", 0x220), sx(c, globals[4]));
    put64(k, (size_t)kdbg_off(c, "CmNtCSDVersion", 0x268), sx(c, globals[5]));
    put64(k, (size_t)kdbg_off(c, "MmPhysicalMemoryBlock", 0x270), sx(c, globals[6]));
    put64(k, 0x1D0, sx(c, globals[7]));
    /* Offset* fields after 0x298 are small structure offsets */
    for (size_t off = 0x298; off + 2 <= size; off += 2) {
        uint16_t v = (uint16_t)(ig_rng_range(&c->rng, 0, 0x3FF) & ~1u);
        memcpy(k + off, &v, 2);
    }
    long prcb_ctx = kdbg_off(c, "OffsetPrcbContext", 0x338);
    if ((size_t)prcb_ctx + 2 <= size) {
        uint16_t v = c->ptr == 8 ? 0x6080 : 0x318; /* plausible */
        memcpy(k + prcb_ctx, &v, 2);
    }
    if (c->t->kdbg_encoded) {
        uint64_t enc = c->kdp_encoded_va;
        if (ig_w8(c, enc, 1) != IG_OK)
            return IG_ERR;
        for (size_t off = 0; off + 8 <= size; off += 8) {
            uint64_t q;
            memcpy(&q, k + off, 8);
            put64(k, off, kdbg_encode(q, c->ki_wait_never, c->ki_wait_always, enc));
        }
    }
    if (ktouch(c, c->kdbg, size) != IG_OK)
        return IG_ERR;
    return ig_write(c, c->kdbg, k, size);
}

/* KdCopyDataBlock as x86-64 machine code: cmp [KdpDataBlockEncoded],0;
 * lea KdDebuggerDataBlock; mov KiWaitNever; xor KiWaitAlways in the loop. */
static ig_status write_kdcopy(ig_ctx *c, uint64_t fn, uint32_t qwords)
{
    uint8_t b[128];
    size_t n = 0;
#define EMIT(...) do { const uint8_t x_[] = {__VA_ARGS__}; memcpy(b + n, x_, sizeof x_); n += sizeof x_; } while (0)
#define REL32(target, insn_end) do { int32_t d_ = (int32_t)((int64_t)(target) - (int64_t)(fn + (insn_end))); memcpy(b + n, &d_, 4); n += 4; } while (0)
    EMIT(0x80, 0x3D);                          /* cmp byte ptr [rip+X], 0 */
    REL32(c->kdp_encoded_va, n + 5);
    EMIT(0x00);
    EMIT(0xB8);                                /* mov eax, KDBG size */
    uint32_t bytes = qwords * 8;
    memcpy(b + n, &bytes, 4);
    n += 4;
    EMIT(0x4C, 0x8B, 0xC1);                    /* mov r8, rcx */
    EMIT(0x48, 0x8D, 0x15);                    /* lea rdx, [rip+KdDebuggerDataBlock] */
    REL32(c->kdbg, n + 4);
    size_t je = n;
    EMIT(0x74, 0x00);                          /* je plain */
    EMIT(0x4C, 0x8B, 0x0D);                    /* mov r9, [rip+KiWaitNever] */
    REL32(c->ki_wait_never, n + 4);
    EMIT(0x4C, 0x8D, 0x15);                    /* lea r10, [rip+KdpDataBlockEncoded] */
    REL32(c->kdp_encoded_va, n + 4);
    EMIT(0x41, 0xBB);                          /* mov r11d, size/8 */
    memcpy(b + n, &qwords, 4);
    n += 4;
    size_t loop = n;
    EMIT(0x48, 0x8B, 0x02);                    /* mov rax, [rdx] */
    EMIT(0x49, 0x33, 0xC1);                    /* xor rax, r9 */
    EMIT(0x41, 0x8B, 0xC9);                    /* mov ecx, r9d */
    EMIT(0x48, 0xD3, 0xC0);                    /* rol rax, cl */
    EMIT(0x49, 0x33, 0xC2);                    /* xor rax, r10 */
    EMIT(0x48, 0x0F, 0xC8);                    /* bswap rax */
    EMIT(0x48, 0x33, 0x05);                    /* xor rax, [rip+KiWaitAlways] */
    REL32(c->ki_wait_always, n + 4);
    EMIT(0x49, 0x89, 0x00);                    /* mov [r8], rax */
    EMIT(0x48, 0x83, 0xC2, 0x08);              /* add rdx, 8 */
    EMIT(0x49, 0x83, 0xC0, 0x08);              /* add r8, 8 */
    EMIT(0x41, 0xFF, 0xCB);                    /* dec r11d */
    EMIT(0x75, (uint8_t)(int8_t)(loop - (n + 2))); /* jne loop */
    EMIT(0xC3);                                /* ret */
    b[je + 1] = (uint8_t)(n - (je + 2));
    EMIT(0x41, 0xBB);                          /* plain: mov r11d, size/8 */
    memcpy(b + n, &qwords, 4);
    n += 4;
    size_t ploop = n;
    EMIT(0x48, 0x8B, 0x02, 0x49, 0x89, 0x00);  /* mov rax,[rdx]; mov [r8],rax */
    EMIT(0x48, 0x83, 0xC2, 0x08, 0x49, 0x83, 0xC0, 0x08);
    EMIT(0x41, 0xFF, 0xCB);
    EMIT(0x75, (uint8_t)(int8_t)(ploop - (n + 2)));
    EMIT(0xC3);
    EMIT(0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC);
#undef EMIT
#undef REL32
    if (ktouch(c, fn - 16, n + 16) != IG_OK)
        return IG_ERR;
    static const uint8_t pad[16] = {0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC,
                                    0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC};
    if (ig_write(c, fn - 16, pad, 16) != IG_OK)
        return IG_ERR;
    return ig_write(c, fn, b, n);
}

static ig_status write_version_block(ig_ctx *c, uint64_t debugger_list)
{
    uint8_t v[0x28];
    memset(v, 0, sizeof v);
    uint16_t major = 0xF, minor = (uint16_t)c->t->build;
    memcpy(v, &major, 2);
    memcpy(v + 2, &minor, 2);
    v[4] = 6;                                  /* ProtocolVersion */
    v[5] = c->t->build >= 9200 ? 2 : 0;        /* KdSecondaryVersion */
    uint16_t flags = 1 | 2 | (c->ptr == 8 ? 4 : 0); /* MP, DATA, PTR64 */
    memcpy(v + 6, &flags, 2);
    uint16_t mt = c->ptr == 8 ? 0x8664 : 0x14C;
    memcpy(v + 8, &mt, 2);
    v[0xA] = 0x0C;
    v[0xB] = 3;
    v[0xC] = c->t->build >= 9200 ? 0x33 : 0x31;
    put64(v, 0x10, sx(c, c->kbase));
    put64(v, 0x18, sx(c, c->ps_loaded_list));
    put64(v, 0x20, sx(c, debugger_list));
    return ig_write(c, c->kd_version_block, v, sizeof v);
}

static long f_or(ig_ctx *c, const char *st, const char *f, long dflt)
{
    long v = ig_off(c, st, f);
    return v >= 0 ? v : dflt;
}

static ig_status write_kuser(ig_ctx *c)
{
    uint64_t va = c->ptr == 8 ? 0xFFFFF78000000000ull : 0xFFDF0000ull;
    uint64_t pa;
    if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, va, pa, IG_MAP_NX | IG_MAP_RO) != IG_OK)
        return IG_ERR;
    c->kuser = va;
    const char *st = "_KUSER_SHARED_DATA";
    uint64_t st_time = c->system_time;
    uint64_t ticks = (c->system_time - c->boot_time) / 10000;
    int s = IG_OK;
    s |= ig_w32(c, va + 0x4, 0x0FA00000);
    uint64_t itime = c->system_time - c->boot_time;
    s |= ig_w32(c, va + 0x8, (uint32_t)itime);
    s |= ig_w32(c, va + 0xC, (uint32_t)(itime >> 32));
    s |= ig_w32(c, va + 0x10, (uint32_t)(itime >> 32));
    long t = f_or(c, st, "SystemTime", 0x14);
    s |= ig_w32(c, va + (uint64_t)t, (uint32_t)st_time);
    s |= ig_w32(c, va + (uint64_t)t + 4, (uint32_t)(st_time >> 32));
    s |= ig_w32(c, va + (uint64_t)t + 8, (uint32_t)(st_time >> 32));
    uint16_t img = c->ptr == 8 ? 0x8664 : 0x14C;
    s |= ig_w16(c, va + 0x2C, img);
    s |= ig_w16(c, va + 0x2E, img);
    s |= ig_wstr(c, va + 0x30, c->t->build < 6000 ? "C:\\WINDOWS" : "C:\\Windows"); /* NtSystemRoot */
    s |= ig_w32(c, va + 0x244, 0x200000);                        /* LargePageMinimum */
    if (c->t->build >= 10240)
        s |= ig_w32(c, va + (uint64_t)f_or(c, st, "NtBuildNumber", 0x260), c->t->build);
    s |= ig_w32(c, va + (uint64_t)f_or(c, st, "NtProductType", 0x264), 1);
    s |= ig_w8(c, va + 0x268, 1);                                /* ProductTypeIsValid */
    s |= ig_w32(c, va + (uint64_t)f_or(c, st, "NtMajorVersion", 0x26C), c->t->major);
    s |= ig_w32(c, va + (uint64_t)f_or(c, st, "NtMinorVersion", 0x270), c->t->minor);
    long np = ig_off(c, st, "NumberOfPhysicalPages");
    if (np >= 0)
        s |= ig_w32(c, va + (uint64_t)np, (uint32_t)(c->size / IG_PAGE - 0x160));
    long apc = ig_off(c, st, "ActiveProcessorCount");
    if (apc >= 0)
        s |= ig_w32(c, va + (uint64_t)apc, c->processors);
    long kd = ig_off(c, st, "KdDebuggerEnabled");
    if (kd >= 0)
        s |= ig_w8(c, va + (uint64_t)kd, 0);
    long tc = ig_off(c, st, "TickCount");
    if (tc >= 0) {
        s |= ig_w32(c, va + (uint64_t)tc, (uint32_t)(ticks / 16));
        s |= ig_w32(c, va + (uint64_t)tc + 4, (uint32_t)((ticks / 16) >> 32));
        s |= ig_w32(c, va + (uint64_t)tc + 8, (uint32_t)((ticks / 16) >> 32));
    }
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* KPCR + KPRCB of processor 0 (XP/2003 x86: at 0xFFDFF000). */
static ig_status write_kpcr(ig_ctx *c, uint64_t idle_thread)
{
    int x64 = c->ptr == 8;
    long prcb_off = x64 ? f_or(c, "_KPCR", "Prcb", 0x180) : f_or(c, "_KPCR", "PrcbData", 0x120);
    long prcb_size = c->prof ? ig_prof_struct_size(c->prof, "_KPRCB") : -1;
    if (prcb_size < 0)
        prcb_size = x64 ? 0x6000 : 0x1000;
    size_t total = (size_t)prcb_off + (size_t)prcb_size;
    if (!x64 && c->t->build < 6000) {
        c->kpcr = 0xFFDFF000ull;
        for (size_t off = 0; off < total; off += IG_PAGE) {
            uint64_t pa;
            if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, c->kpcr + off, pa, 0) != IG_OK)
                return IG_ERR;
        }
    } else if (ig_kva_alloc(c, IG_VA_SYSPTE, total, &c->kpcr) != IG_OK) {
        return IG_ERR;
    }
    c->kprcb = c->kpcr + (uint64_t)prcb_off;
    int s = IG_OK;
    if (x64) {
        s |= ig_wptr(c, c->kpcr + (uint64_t)f_or(c, "_KPCR", "Self", 0x18), c->kpcr);
        s |= ig_wptr(c, c->kpcr + (uint64_t)f_or(c, "_KPCR", "CurrentPrcb", 0x20), c->kprcb);
    } else {
        s |= ig_wptr(c, c->kpcr + (uint64_t)f_or(c, "_KPCR", "SelfPcr", 0x1C), c->kpcr);
        s |= ig_wptr(c, c->kpcr + (uint64_t)f_or(c, "_KPCR", "Prcb", 0x20), c->kprcb);
        s |= ig_wptr(c, c->kpcr + (uint64_t)f_or(c, "_KPCR", "KdVersionBlock", 0x34), c->kd_version_block);
    }
    long ct = f_or(c, "_KPRCB", "CurrentThread", x64 ? 0x8 : 0x4);
    long it = f_or(c, "_KPRCB", "IdleThread", x64 ? 0x18 : 0xC);
    s |= ig_wptr(c, c->kprcb + (uint64_t)ct, idle_thread);
    s |= ig_wptr(c, c->kprcb + (uint64_t)it, idle_thread);
    return s == IG_OK ? IG_OK : IG_ERR;
}

/* PROCESSOR_START_BLOCK in low memory: jmp + CompletionFlag, LmTarget
 * (kernel entry) at +0x70, CR3 at +0xA0. */
static ig_status write_low_stub(ig_ctx *c, uint64_t entry)
{
    uint64_t pa = 0x1000ull * ig_rng_range(&c->rng, 1, 0x10);
    if (ig_frame_claim(c, pa) != IG_OK)
        return IG_ERR;
    uint8_t b[0x100];
    memset(b, 0, sizeof b);
    uint64_t head = 0x00000001000600E9ull | ((uint64_t)ig_rng_range(&c->rng, 0x40, 0x7F) << 8);
    put64(b, 0, head);
    put64(b, 0x70, entry & ~3ull);
    put64(b, 0xA0, c->dtb);
    return ig_phys_write(c, pa, b, sizeof b);
}

ig_status ig_kernel_build(ig_ctx *c)
{
    const ig_target *t = c->t;
    const char *pname, *guid;
    uint32_t age;
    if (c->prof && ig_prof_pdb(c->prof, &pname, &guid, &age)) {
        memcpy(c->kguid, guid, 32);
        c->kage = age;
    } else {
        memcpy(c->kguid, t->fallback_guid, 32);
        c->kage = (uint32_t)(t->fallback_guid[33] - '0');
    }
    c->kguid[32] = '\0';
    c->kpdb_name = t->pdb_name;
    c->processors = t->build >= 9200 ? 4 : t->build >= 6000 ? 2 : 1;

    ig_layout_kernel(c);
    plan_image(c);
    if (map_image(c) != IG_OK)
        return IG_ERR;
    ig_layout_regions(c);

    c->ps_active_head = ig_kernel_symbol(c, "PsActiveProcessHead", 2 * c->ptr);
    c->ps_loaded_list = ig_kernel_symbol(c, "PsLoadedModuleList", 2 * c->ptr);
    c->kdbg = ig_kernel_symbol(c, "KdDebuggerDataBlock", 0x400);
    c->kd_version_block = ig_kernel_symbol(c, "KdVersionBlock", 0x28);
    if (!c->ps_active_head || !c->ps_loaded_list || !c->kdbg || !c->kd_version_block)
        return IG_ERR;
    if (ig_list_init(c, c->ps_active_head) != IG_OK || ig_list_init(c, c->ps_loaded_list) != IG_OK)
        return IG_ERR;
    if (write_pe(c) != IG_OK)
        return IG_ERR;

    uint64_t nbn = ig_kernel_symbol(c, "NtBuildNumber", 4);
    uint64_t knp = ig_kernel_symbol(c, "KeNumberProcessors", 4);
    uint64_t lab = ig_kernel_symbol(c, "NtBuildLab", 64);
    uint64_t csd = ig_kernel_symbol(c, "CmNtCSDVersion", 4);
    uint64_t pfnvar = ig_kernel_symbol(c, "MmPfnDatabase", 8);
    uint64_t kpb = ig_kernel_symbol(c, "KiProcessorBlock", 8 * 64);
    uint64_t srs = ig_kernel_symbol(c, "MmSystemRangeStart", 8);
    uint64_t cid = ig_kernel_symbol(c, "PspCidTable", 8);
    uint64_t pmb = ig_kernel_symbol(c, "MmPhysicalMemoryBlock", 8);
    uint64_t unl = ig_kernel_symbol(c, "MmUnloadedDrivers", 8);
    uint64_t dlist = ig_kernel_symbol(c, "KdpDebuggerDataListHead", 16);
    uint64_t idle = ig_kernel_symbol(c, "KiInitialThread", 0x600);
    if (!nbn || !knp || !lab || !csd || !pfnvar || !kpb || !srs || !cid || !pmb || !unl || !dlist || !idle)
        return IG_ERR;
    int s = IG_OK;
    s |= ig_w32(c, nbn, 0xF0000000u | t->build);
    if (t->mode != IG_MODE_X64 && t->build < 6000)
        s |= ig_w8(c, knp, (uint8_t)c->processors);
    else
        s |= ig_w32(c, knp, c->processors);
    char labstr[64];
    const char *arch = t->mode == IG_MODE_X64 ? "amd64fre" : "x86fre";
    static const struct { uint32_t build; const char *rest; } labs[] = {
        {26100, "1.%s.ge_release.240331-1435"}, {22621, "1.%s.ni_release.220506-1250"},
        {20348, "1.%s.fe_release.210507-1500"}, {18362, "1.%s.19h1_release.190318-1202"},
        {17763, "1.%s.rs5_release.180914-1434"}, {14393, "0.%s.rs1_release.160715-1616"},
        {10240, "16384.%s.th1.150709-1700"},     {9200, "16384.%s.win8_rtm.120725-1247"},
        {6001, "18000.%s.longhorn_rtm.080118-1840"}};
    const char *lab_rest = NULL;
    for (size_t i = 0; i < sizeof labs / sizeof *labs; i++)
        if (labs[i].build == t->build)
            lab_rest = labs[i].rest;
    if (lab_rest || (t->mode != IG_MODE_X64 && t->build >= 9600)) {
        char rest[48];
        snprintf(rest, sizeof rest, lab_rest ? lab_rest : t->build >= 10240 ? "1.%s.vb_release.191206-1406"
                                                                           : "17031.%s.winblue_gdr.140221-1952",
                 arch);
        snprintf(labstr, sizeof labstr, "%u.%s", t->build, rest);
    } else if (t->build >= 10240)
        snprintf(labstr, sizeof labstr, "%u.1.amd64fre.%s", t->build, t->build >= 22000 ? "co_release.210604-1628" : "vb_release.191206-1406");
    else if (t->build >= 9600)
        snprintf(labstr, sizeof labstr, "9600.17031.amd64fre.winblue_gdr.140221-1952");
    else if (t->build >= 7600)
        snprintf(labstr, sizeof labstr, "7601.17514.%s.win7sp1_rtm.101119-1850", t->mode == IG_MODE_X64 ? "amd64fre" : "x86fre");
    else if (t->build == 3790)
        snprintf(labstr, sizeof labstr, "3790.srv03_sp2_rtm.070216-1710");
    else
        snprintf(labstr, sizeof labstr, "2600.xpsp%s.080413-2111", t->sp >= 3 ? "_sp3_qfe" : "_sp2_rtm");
    s |= ig_write(c, lab, labstr, strlen(labstr) + 1);
    s |= ig_w32(c, csd, t->sp << 8);
    s |= ig_wptr(c, srs, t->mode == IG_MODE_X64 ? (t->build >= 9200 ? 0xFFFF800000000000ull : 0xFFFF080000000000ull)
                                                : 0x80000000ull);
    if (s != IG_OK)
        return IG_ERR;

    /* PFN database: VA reserved for every frame, first page backed */
    uint64_t pfn_va = c->va[IG_VA_PFNDB].base, pa;
    c->pfn_database = pfn_va;
    if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, pfn_va, pa, IG_MAP_NX) != IG_OK)
        return IG_ERR;
    if (ig_wptr(c, pfnvar, pfn_va) != IG_OK)
        return IG_ERR;

    /* MmPhysicalMemoryBlock: PHYSICAL_MEMORY_DESCRIPTOR of the RAM ranges */
    uint64_t desc;
    size_t dsz = c->ptr * 2 + (size_t)c->nram * c->ptr * 2;
    if (ig_pool_alloc(c, IG_POOL_NONPAGED, "MmPm", dsz, &desc, NULL) != IG_OK)
        return IG_ERR;
    uint64_t total = 0;
    for (int i = 0; i < c->nram; i++) {
        uint64_t base = c->ram[i].start / IG_PAGE, cnt = (c->ram[i].end - c->ram[i].start) / IG_PAGE;
        total += cnt;
        s |= ig_wptr(c, desc + c->ptr * 2 + (uint64_t)i * c->ptr * 2, base);
        s |= ig_wptr(c, desc + c->ptr * 3 + (uint64_t)i * c->ptr * 2, cnt);
    }
    s |= ig_w32(c, desc, (uint32_t)c->nram);
    s |= ig_wptr(c, desc + c->ptr, total);
    s |= ig_wptr(c, pmb, desc);
    uint64_t cidtab;
    s |= ig_pool_alloc(c, IG_POOL_PAGED, "Obtb", c->ptr == 8 ? 0x80 : 0x44, &cidtab, NULL);
    s |= ig_wptr(c, cid, cidtab);
    if (s != IG_OK)
        return IG_ERR;

    if (write_kpcr(c, idle) != IG_OK)
        return IG_ERR;
    if (ig_wptr(c, kpb, c->kprcb) != IG_OK)
        return IG_ERR;
    if (write_kuser(c) != IG_OK)
        return IG_ERR;

    if (t->kdbg_encoded) {
        c->kdp_encoded_va = ig_kernel_symbol(c, "KdpDataBlockEncoded", 1);
        c->ki_wait_never = ig_kernel_symbol(c, "KiWaitNever", 8);
        c->ki_wait_always = ig_kernel_symbol(c, "KiWaitAlways", 8);
        if (!c->kdp_encoded_va || !c->ki_wait_never || !c->ki_wait_always)
            return IG_ERR;
        uint64_t never = ig_rng_next(&c->rng) | 1, always = ig_rng_next(&c->rng);
        if (ig_w64(c, c->ki_wait_never, never) != IG_OK || ig_w64(c, c->ki_wait_always, always) != IG_OK)
            return IG_ERR;
        uint64_t fn = c->kbase + sym_rva_or(c, "KdCopyDataBlock", 0x1000 + ig_rng_range(&c->rng, 0x100, 0x8000) * 16);
        uint64_t size = 0;
        if (!c->prof || !ig_prof_const(c->prof, "KDBG_SIZE", &size))
            size = t->build >= 17763 ? 0x380 : t->build >= 14393 ? 0x368 : 0x360;
        if (write_kdcopy(c, fn, (uint32_t)(size / 8)) != IG_OK)
            return IG_ERR;
        /* the keys' values from here on (the code above needed their VAs) */
        c->ki_wait_never = never;
        c->ki_wait_always = always;
    }
    uint64_t bp = c->kbase + 0x1000 + ig_rng_range(&c->rng, 0x10, 0x4000) * 16;
    uint64_t globals[8] = {cid, pfnvar, lab, kpb, unl, csd, pmb, srs};
    if (ktouch(c, bp, 1) != IG_OK || ig_w8(c, bp, 0xCC) != IG_OK)
        return IG_ERR;
    if (write_kdbg(c, dlist, bp, globals) != IG_OK)
        return IG_ERR;
    if (ig_wptr(c, dlist, c->kdbg) != IG_OK || ig_wptr(c, dlist + c->ptr, c->kdbg) != IG_OK)
        return IG_ERR;
    if (write_version_block(c, dlist) != IG_OK)
        return IG_ERR;

    if (t->ob_cookie) {
        c->ob_cookie = (uint8_t)ig_rng_range(&c->rng, 1, 255);
        uint64_t ck = ig_kernel_symbol(c, "ObHeaderCookie", 1);
        if (!ck || ig_w8(c, ck, c->ob_cookie) != IG_OK)
            return IG_ERR;
    }
    if (t->low_stub && write_low_stub(c, c->kbase + 0x1000 + ig_rng_range(&c->rng, 0x100, 0x4000) * 16) != IG_OK)
        return IG_ERR;

    /* more top-level entries, as a booted system has (HAL heap, session space) */
    uint64_t extra[3] = {0xFFFFFFFFFFC00000ull, 0xFFFFF90000000000ull, 0xFFFFFA0000000000ull};
    for (int i = 0; i < (t->mode == IG_MODE_X64 ? 3 : 0); i++) {
        uint64_t va = extra[i];
        if (t->build >= 10240 && i > 0)
            continue;
        if (ig_v2p(c, va, &pa) == IG_OK)
            continue;
        if (ig_frame_alloc(c, &pa) != IG_OK || ig_map(c, va, pa, IG_MAP_NX) != IG_OK)
            return IG_ERR;
    }
    return IG_OK;
}

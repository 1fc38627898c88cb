/* tcpip.sys code that uses PartitionTable/PartitionCount the way tcpip
 * does (hash sites: count → div → remainder × sizeof(_PARTITION) + table;
 * a loop over the partitions), and --tcpip: a real tcpip.sys mapped as
 * the module image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_vista.h"

typedef struct asm_buf {
    uint8_t b[1024];
    size_t len;
    uint32_t rva;            /* RVA of b[0] */
    uint64_t base;           /* module base (x86 absolute operands) */
    int x64;
    int overflow;
} asm_buf;

static void put(asm_buf *a, const uint8_t *p, size_t n)
{
    if (a->len + n > sizeof a->b) {
        a->overflow = 1;
        return;
    }
    memcpy(a->b + a->len, p, n);
    a->len += n;
}

#define PUT(a, ...) do { static const uint8_t bytes_[] = {__VA_ARGS__}; put((a), bytes_, sizeof bytes_); } while (0)

static void put32(asm_buf *a, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(a, x, 4);
}

/* The memory operand of the instruction just started: RIP-relative on
 * x64 (the displacement is the instruction's last field), absolute on x86. */
static void mem(asm_buf *a, uint32_t target_rva)
{
    if (a->x64)
        put32(a, target_rva - (a->rva + (uint32_t)a->len + 4));
    else
        put32(a, (uint32_t)(a->base + target_rva));
}

static void pad16(asm_buf *a)
{
    while (a->len % 16)
        PUT(a, 0xCC);
}

/* dst = rdx/edx (the remainder) × size; dst register code 0..7. */
static void scale(asm_buf *a, int dst, uint32_t size)
{
    int k = 0;
    while (k < 12 && (3u << k) != size)
        k++;
    if (k < 12) {
        if (a->x64)
            PUT(a, 0x48);
        uint8_t lea[3] = {0x8D, (uint8_t)(dst << 3 | 4), 0x52}; /* lea dst,[rdx+rdx*2] */
        put(a, lea, 3);
        if (a->x64)
            PUT(a, 0x48);
        uint8_t shl[3] = {0xC1, (uint8_t)(0xE0 | dst), (uint8_t)k};
        put(a, shl, 3);
        return;
    }
    if (a->x64)
        PUT(a, 0x48);
    uint8_t imul[2] = {0x69, (uint8_t)(0xC0 | dst << 3 | 2)}; /* imul dst, rdx, imm32 */
    put(a, imul, 2);
    put32(a, size);
}

static void prologue(asm_buf *a)
{
    if (a->x64)
        PUT(a, 0x48, 0x89, 0x5C, 0x24, 0x08, 0x57, 0x48, 0x83, 0xEC, 0x20, 0x48, 0x8B, 0xF9);
    else
        PUT(a, 0x8B, 0xFF, 0x55, 0x8B, 0xEC, 0x53, 0x56, 0x57, 0x8B, 0x7D, 0x08);
}

static void epilogue(asm_buf *a)
{
    if (a->x64)
        PUT(a, 0x48, 0x8B, 0x5C, 0x24, 0x30, 0x48, 0x83, 0xC4, 0x20, 0x5F, 0xC3);
    else
        PUT(a, 0x5F, 0x5E, 0x5B, 0x5D, 0xC2, 0x04, 0x00);
    pad16(a);
}

/* Three hash sites with different registers, as tcpip's lookups do. */
static void hash_site(asm_buf *a, const nv_ctx *n, int variant, uint32_t psize)
{
    int w2 = n->count_width == 2;
    prologue(a);
    if (a->x64)
        PUT(a, 0x8B, 0x4F, 0x6C, 0x8B, 0x77, 0x70); /* mov ecx,[rdi+6Ch]; mov esi,[rdi+70h] */
    else
        PUT(a, 0x8B, 0x4F, 0x34, 0x8B, 0x77, 0x38);
    switch (variant) {
    case 0: /* count → r8d / ecx; hash ecx / esi; result rax / edx */
        if (a->x64) {
            if (w2) PUT(a, 0x44, 0x0F, 0xB7, 0x05); else PUT(a, 0x44, 0x8B, 0x05);
            mem(a, n->rva_count);
            PUT(a, 0x89, 0xC8, 0x31, 0xD2, 0x41, 0xF7, 0xF0);
            scale(a, 0, psize);
            PUT(a, 0x48, 0x03, 0x05);
        } else {
            if (w2) PUT(a, 0x0F, 0xB7, 0x0D); else PUT(a, 0x8B, 0x0D);
            mem(a, n->rva_count);
            PUT(a, 0x8B, 0xC6, 0x33, 0xD2, 0xF7, 0xF1);
            scale(a, 2, psize);
            PUT(a, 0x03, 0x15);
        }
        mem(a, n->rva_table);
        break;
    case 1: /* count → r15d / edi; result rsi */
        if (a->x64) {
            if (w2) PUT(a, 0x44, 0x0F, 0xB7, 0x3D); else PUT(a, 0x44, 0x8B, 0x3D);
            mem(a, n->rva_count);
            PUT(a, 0x89, 0xF0, 0x31, 0xD2, 0x41, 0xF7, 0xF7);
            scale(a, 6, psize);
            PUT(a, 0x48, 0x03, 0x35);
        } else {
            if (w2) PUT(a, 0x0F, 0xB7, 0x3D); else PUT(a, 0x8B, 0x3D);
            mem(a, n->rva_count);
            PUT(a, 0x8B, 0xC1, 0x33, 0xD2, 0xF7, 0xF7);
            scale(a, 6, psize);
            PUT(a, 0x03, 0x35);
        }
        mem(a, n->rva_table);
        break;
    default: /* count → ebx; scaled in rcx; table loaded into rax, then added */
        if (w2) PUT(a, 0x0F, 0xB7, 0x1D); else PUT(a, 0x8B, 0x1D);
        mem(a, n->rva_count);
        PUT(a, 0x89, 0xC8, 0x31, 0xD2, 0xF7, 0xF3);
        scale(a, 1, psize);
        if (a->x64) {
            PUT(a, 0x48, 0x8B, 0x05);
            mem(a, n->rva_table);
            PUT(a, 0x48, 0x01, 0xC8);
        } else {
            PUT(a, 0xA1);
            mem(a, n->rva_table);
            PUT(a, 0x01, 0xC8);
        }
        break;
    }
    if (a->x64)
        PUT(a, 0x48, 0x8B, 0x40, 0x08, 0x48, 0x89, 0x47, 0x18); /* mov rax,[rax+8]; mov [rdi+18h],rax */
    else
        PUT(a, 0x8B, 0x40, 0x04, 0x89, 0x47, 0x0C);
    epilogue(a);
}

/* for (i = 0; i < PartitionCount; i++) visit(&PartitionTable[i]) */
static void loop_site(asm_buf *a, const nv_ctx *n, uint32_t psize)
{
    int w2 = n->count_width == 2;
    prologue(a);
    PUT(a, 0x31, 0xDB); /* xor ebx, ebx */
    size_t top = a->len;
    if (a->x64) {
        PUT(a, 0x48, 0x69, 0xCB);
        put32(a, psize);
        PUT(a, 0x48, 0x03, 0x0D);
        mem(a, n->rva_table);
        PUT(a, 0x48, 0x8B, 0x41, 0x08, 0x48, 0x85, 0xC0, 0x74, 0x04, 0x48, 0x89, 0x47, 0x20, 0xFF, 0xC3);
    } else {
        PUT(a, 0x69, 0xCB);
        put32(a, psize);
        PUT(a, 0x03, 0x0D);
        mem(a, n->rva_table);
        PUT(a, 0x8B, 0x41, 0x04, 0x85, 0xC0, 0x74, 0x03, 0x89, 0x47, 0x10, 0x43);
    }
    if (w2) PUT(a, 0x66, 0x3B, 0x1D); else PUT(a, 0x3B, 0x1D);
    mem(a, n->rva_count);
    uint8_t jb[2] = {0x72, (uint8_t)(top - (a->len + 2))};
    put(a, jb, 2);
    epilogue(a);
}

/* Unrelated code: a small copy loop and a flag test. */
static void filler_fn(asm_buf *a, int k)
{
    prologue(a);
    if (a->x64) {
        PUT(a, 0x8B, 0x47, 0x10, 0x85, 0xC0, 0x74, 0x0B, 0x48, 0x8B, 0x4F, 0x18, 0x48, 0x8B, 0x51, 0x08,
            0x48, 0x89, 0x17, 0x83, 0xE0, 0x0F);
        uint8_t imm[3] = {0x83, 0xC0, (uint8_t)(k * 8)};
        put(a, imm, 3);
    } else {
        PUT(a, 0x8B, 0x47, 0x08, 0x85, 0xC0, 0x74, 0x08, 0x8B, 0x4F, 0x0C, 0x8B, 0x51, 0x04, 0x89, 0x17,
            0x83, 0xE0, 0x0F);
        uint8_t imm[3] = {0x83, 0xC0, (uint8_t)(k * 8)};
        put(a, imm, 3);
    }
    epilogue(a);
}

ig_status nv_emit_code(nv_ctx *n)
{
    ig_ctx *c = n->c;
    uint32_t text, tsize;
    if (nv_section(n, ".text", &text, &tsize) != IG_OK)
        return IG_ERR;
    long ps = ig_prof_struct_size(n->L, "_PARTITION");
    if (ps <= 0 || tsize < 0x3000)
        return ig_fail("cannot emit tcpip code: partition size %ld, .text 0x%x bytes", ps, tsize);
    asm_buf *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ig_fail("out of memory");
    a->x64 = n->P == 8;
    a->base = n->m->base;
    a->rva = text + 0x1000 + 0x40 * (uint32_t)ig_rng_range(&c->rng, 0, 8);
    filler_fn(a, 1);
    hash_site(a, n, 0, (uint32_t)ps);
    filler_fn(a, 2);
    loop_site(a, n, (uint32_t)ps);
    hash_site(a, n, 1, (uint32_t)ps);
    filler_fn(a, 3);
    hash_site(a, n, 2, (uint32_t)ps);
    filler_fn(a, 4);
    ig_status st = IG_ERR;
    if (a->overflow)
        ig_fail("tcpip code buffer overflow");
    else if (ig_ensure_mapped(c, n->m->base + a->rva, a->len, 0) == IG_OK)
        st = ig_write(c, n->m->base + a->rva, a->b, a->len);
    free(a);
    return st;
}

/* ---------- --tcpip FILE ---------- */

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* RVAs in tcpip.sys 10.0.19041.4780 x64 (PDB GUID FBC0BBA4…, not in the
 * symbol index), established from its code: see README.md. */
static const struct {
    const char *guid;
    uint32_t table, count, tcp, udp;
    unsigned width;
} known_files[] = {
    {"FBC0BBA45083A595E389FB48C1AB9A20", 0x207208, 0x207200, 0x207A80, 0x206E48, 2},
};

static ig_status read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ig_fail("cannot open --tcpip file %s", path);
    uint8_t *buf = malloc(16u << 20);
    size_t n = buf ? fread(buf, 1, 16u << 20, f) : 0;
    int more = buf && fgetc(f) != EOF;
    fclose(f);
    if (buf == NULL)
        return ig_fail("out of memory");
    if (more || n < 0x400) {
        free(buf);
        return ig_fail("--tcpip file %s: %s", path, more ? "larger than 16 MiB" : "too small for a PE file");
    }
    *out = buf;
    *len = n;
    return IG_OK;
}

static ig_status map_image(nv_ctx *n, const uint8_t *f, size_t flen, uint32_t *soi_out, char guid[33],
                           uint32_t *age)
{
    ig_ctx *c = n->c;
    uint32_t pe = le32(f + 0x3C);
    if (f[0] != 'M' || f[1] != 'Z' || pe > flen - 0x200 || memcmp(f + pe, "PE\0\0", 4) != 0)
        return ig_fail("--tcpip file is not a PE image");
    uint16_t machine = le16(f + pe + 4), nsec = le16(f + pe + 6), optsz = le16(f + pe + 20);
    if (machine != (n->P == 8 ? 0x8664 : 0x14C))
        return ig_fail("--tcpip file machine 0x%x does not match the profile", machine);
    const uint8_t *opt = f + pe + 24;
    uint32_t soi = le32(opt + 56), soh = le32(opt + 60);
    uint32_t dd_off = n->P == 8 ? 112 : 96;
    if (soi > n->m->size + 0x10000 || soh > soi || soh > flen || nsec > 96 ||
        pe + 24 + optsz + 40u * nsec > flen)
        return ig_fail("--tcpip file: SizeOfImage 0x%x does not fit the module's 0x%llx bytes", soi,
                       (unsigned long long)n->m->size + 0x10000);
    uint64_t b = n->m->base;
    static const uint8_t zero[IG_PAGE];
    if (ig_ensure_mapped(c, b, soh, IG_MAP_NX) != IG_OK || ig_write(c, b, f, soh) != IG_OK)
        return IG_ERR;
    const uint8_t *sec = opt + optsz;
    for (unsigned i = 0; i < nsec; i++, sec += 40) {
        uint32_t vs = le32(sec + 8), va = le32(sec + 12), rs = le32(sec + 16), ro = le32(sec + 20);
        uint32_t ch = le32(sec + 36);
        if (vs == 0)
            vs = rs;
        if ((uint64_t)va + vs > soi || (uint64_t)ro + rs > flen)
            return ig_fail("--tcpip file: section %u outside the image or file", i);
        unsigned flags = (ch & 0x20000000) ? 0 : IG_MAP_NX;
        if (ig_ensure_mapped(c, b + va, vs, flags) != IG_OK)
            return IG_ERR;
        for (uint32_t o = 0; o < vs; o += IG_PAGE)
            if (ig_write(c, b + va + o, zero, vs - o < IG_PAGE ? vs - o : IG_PAGE) != IG_OK)
                return IG_ERR;
        if (ig_write(c, b + va, f + ro, rs < vs ? rs : vs) != IG_OK)
            return IG_ERR;
    }
    /* CodeView RSDS record of the debug directory */
    guid[0] = '\0';
    uint32_t dbg_rva = le32(opt + dd_off + 6 * 8), dbg_size = le32(opt + dd_off + 6 * 8 + 4);
    uint8_t ent[28], rsds[24];
    for (uint32_t o = 0; o + 28 <= dbg_size && o < 28 * 16 && dbg_rva; o += 28) {
        if (ig_read(c, b + dbg_rva + o, ent, 28) != IG_OK)
            return IG_ERR;
        if (le32(ent + 12) != 2 || ig_read(c, b + le32(ent + 20), rsds, 24) != IG_OK || memcmp(rsds, "RSDS", 4) != 0)
            continue;
        const uint8_t *g = rsds + 4;
        snprintf(guid, 33, "%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X", le32(g), le16(g + 4), le16(g + 6), g[8],
                 g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
        *age = le32(rsds + 20);
        break;
    }
    if (guid[0] == '\0')
        return ig_fail("--tcpip file has no CodeView debug record");
    *soi_out = soi;
    return IG_OK;
}

ig_status nv_map_real(nv_ctx *n)
{
    ig_ctx *c = n->c;
    uint8_t *f = NULL;
    size_t flen = 0;
    if (read_file(ig_nv_tcpip_file, &f, &flen) != IG_OK)
        return IG_ERR;
    char guid[33];
    uint32_t age = 0, soi = 0;
    ig_status st = map_image(n, f, flen, &soi, guid, &age);
    free(f);
    if (st != IG_OK)
        return IG_ERR;
    memcpy(n->m->guid, guid, 33);
    n->m->age = age;
    n->m->size = soi;
    long o_size = ig_off(c, "_LDR_DATA_TABLE_ENTRY", "SizeOfImage");
    if (o_size < 0)
        o_size = n->P == 8 ? 0x40 : 0x20;
    if (ig_w32(c, n->m->ldr + (uint64_t)o_size, soi) != IG_OK)
        return IG_ERR;
    for (size_t i = 0; i < sizeof known_files / sizeof *known_files; i++)
        if (strcmp(known_files[i].guid, guid) == 0 && age == 1) {
            n->rva_table = known_files[i].table;
            n->rva_count = known_files[i].count;
            n->rva_tcp = known_files[i].tcp;
            n->rva_udp = known_files[i].udp;
            n->count_width = known_files[i].width;
            n->compartments = 1;
            n->have_tcp_udp = 1;
            return IG_OK;
        }
    if (nv_index_lookup(n, guid, age))
        return IG_OK;
    return ig_fail("--tcpip file: tcpip.pdb %s-%u is neither in the symbol index nor a file whose globals are "
                   "known", guid, age);
}

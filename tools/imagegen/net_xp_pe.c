/* tcpip.sys of XP / 2003: a version resource and timestamps that name the
 * Volatility 2 address set the globals were placed at (a set's label is a
 * tcpip.sys file revision, e.g. '2180' = 5.1.2600.2180).
 *
 * The image written by modules.c gets an .rsrc section (carved from the end
 * of PAGE, before .reloc) holding RT_VERSION/1/0x409 -> VS_VERSIONINFO with
 * VS_FIXEDFILEINFO and a StringFileInfo 040904B0 whose OriginalFilename is
 * tcpip.sys (Volatility 3's verinfo finds a module's version by that
 * UTF-16 string followed, within 0x500 bytes back, by 0xFEEF04BD). */
#include <stdio.h>
#include <string.h>

#include "net_xp.h"

typedef struct vbuf { uint8_t b[1536]; size_t n; } vbuf;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static void v_align(vbuf *v)
{
    while (v->n % 4)
        v->b[v->n++] = 0;
}

static void v_wstr(vbuf *v, const char *s)
{
    for (; *s; s++) {
        v->b[v->n++] = (uint8_t)*s;
        v->b[v->n++] = 0;
    }
    v->b[v->n++] = 0;
    v->b[v->n++] = 0;
}

/* wLength (patched by v_end), wValueLength, wType, szKey, padding. */
static size_t v_begin(vbuf *v, const char *key, uint16_t value_len, uint16_t type)
{
    v_align(v);
    size_t at = v->n;
    put16(v->b + at + 2, value_len);
    put16(v->b + at + 4, type);
    v->n += 6;
    v_wstr(v, key);
    v_align(v);
    return at;
}

static void v_end(vbuf *v, size_t at) { put16(v->b + at, (uint16_t)(v->n - at)); }

static void v_string(vbuf *v, const char *key, const char *value)
{
    size_t at = v_begin(v, key, (uint16_t)(strlen(value) + 1), 1);
    v_wstr(v, value);
    v_end(v, at);
}

static size_t version_info(const xp_net *n, vbuf *v)
{
    char fv[96], pv[32];
    snprintf(fv, sizeof fv, "%u.%u.%u.%u (%s)", n->ver[0], n->ver[1], n->ver[2], n->ver[3], n->lab);
    snprintf(pv, sizeof pv, "%u.%u.%u.%u", n->ver[0], n->ver[1], n->ver[2], n->ver[3]);
    memset(v, 0, sizeof *v);
    size_t root = v_begin(v, "VS_VERSION_INFO", 52, 0);
    uint8_t *f = v->b + v->n;
    put32(f + 0, 0xFEEF04BDu);
    put32(f + 4, 0x00010000u);
    put32(f + 8, (uint32_t)n->ver[0] << 16 | n->ver[1]);
    put32(f + 12, (uint32_t)n->ver[2] << 16 | n->ver[3]);
    put32(f + 16, (uint32_t)n->ver[0] << 16 | n->ver[1]);
    put32(f + 20, (uint32_t)n->ver[2] << 16 | n->ver[3]);
    put32(f + 24, 0x3F);       /* FileFlagsMask */
    put32(f + 32, 0x00040004); /* VOS_NT_WINDOWS32 */
    put32(f + 36, 3);          /* VFT_DRV */
    put32(f + 40, 6);          /* VFT2_DRV_NETWORK */
    v->n += 52;
    size_t sfi = v_begin(v, "StringFileInfo", 0, 1);
    size_t tab = v_begin(v, "040904B0", 0, 1);
    v_string(v, "CompanyName", "Microsoft Corporation");
    v_string(v, "FileDescription", "TCP/IP Protocol Driver");
    v_string(v, "FileVersion", fv);
    v_string(v, "InternalName", "tcpip.sys");
    v_string(v, "LegalCopyright", "(C) Microsoft Corporation. All rights reserved.");
    v_string(v, "OriginalFilename", "tcpip.sys");
    v_string(v, "ProductName", "Microsoft(R) Windows(R) Operating System");
    v_string(v, "ProductVersion", pv);
    v_end(v, tab);
    v_end(v, sfi);
    size_t vfi = v_begin(v, "VarFileInfo", 0, 1);
    size_t var = v_begin(v, "Translation", 4, 0);
    put32(v->b + v->n, 0x04B00409u);
    v->n += 4;
    v_end(v, var);
    v_end(v, vfi);
    v_end(v, root);
    return v->n;
}

/* Three directory levels (type 16, name 1, language 0x409), a data entry,
 * then the VS_VERSIONINFO at offset 0x60 of the section. */
static size_t resource_section(const xp_net *n, uint32_t rva, uint8_t *out, size_t cap)
{
    vbuf v;
    size_t len = version_info(n, &v);
    if (0x60 + len > cap)
        return 0;
    memset(out, 0, 0x60 + len);
    static const uint32_t ids[3] = {16, 1, 0x409};
    for (int lvl = 0; lvl < 3; lvl++) {
        uint8_t *d = out + 0x18 * lvl;
        put16(d + 14, 1); /* NumberOfIdEntries */
        put32(d + 16, ids[lvl]);
        put32(d + 20, lvl < 2 ? 0x80000000u | (uint32_t)(0x18 * (lvl + 1)) : 0x48);
    }
    put32(out + 0x48, rva + 0x60);
    put32(out + 0x4C, (uint32_t)len);
    memcpy(out + 0x60, v.b, len);
    return 0x60 + len;
}

ig_status xp_tcpip_version(ig_ctx *c, const xp_net *n, ig_mod_truth *m)
{
    uint8_t h[IG_PAGE];
    if (ig_read(c, m->base, h, sizeof h) != IG_OK)
        return IG_ERR;
    uint32_t lfanew = get32(h + 0x3C);
    if (lfanew > 0x400 || memcmp(h + lfanew, "PE\0\0", 4) != 0)
        return ig_fail("tcpip.sys has no PE header");
    uint8_t *coff = h + lfanew + 4, *opt = coff + 20;
    unsigned nsec = get16(coff + 2);
    int pe64 = get16(opt) == 0x20B;
    uint8_t *dirs = opt + (pe64 ? 112 : 96), *sec = opt + get16(coff + 16);
    if (nsec < 2 || (size_t)(sec - h) + 40u * (nsec + 1) > 0x600)
        return ig_fail("tcpip.sys section table has no room for .rsrc");

    put32(coff + 4, n->timestamp);
    uint32_t dbg = get32(dirs + 6 * 8);
    if (dbg && ig_w32(c, m->base + dbg + 4, n->timestamp) != IG_OK)
        return IG_ERR;
    long ts = ig_off(c, "_LDR_DATA_TABLE_ENTRY", "TimeDateStamp");
    if (ts >= 0 && m->ldr && ig_w32(c, m->ldr + (uint64_t)ts, n->timestamp) != IG_OK)
        return IG_ERR;

    /* shrink the section before the last (.reloc) by a page for .rsrc */
    uint8_t *prev = sec + 40 * (nsec - 2), *last = sec + 40 * (nsec - 1);
    uint32_t prev_size = get32(prev + 8);
    if (prev_size < 0x2000)
        return ig_fail("tcpip.sys: no room for a resource section");
    uint32_t rsrc_rva = (get32(prev + 12) + prev_size - 0x1000) & ~0xFFFu;
    put32(prev + 8, rsrc_rva - get32(prev + 12));
    memcpy(last + 40, last, 40);
    memset(last, 0, 40);
    memcpy(last, ".rsrc", 5);
    uint8_t rs[IG_PAGE];
    size_t rlen = resource_section(n, rsrc_rva, rs, sizeof rs);
    if (rlen == 0)
        return ig_fail("tcpip.sys version resource too large");
    put32(last + 8, (uint32_t)rlen);
    put32(last + 12, rsrc_rva);
    put32(last + 36, 0x40000040u); /* initialized data, readable */
    put16(coff + 2, (uint16_t)(nsec + 1));
    uint32_t raw = 0x600;
    for (unsigned i = 0; i <= nsec; i++) {
        uint8_t *e = sec + 40 * i;
        uint32_t sz = (get32(e + 8) + 0x1FF) & ~0x1FFu;
        put32(e + 16, sz);
        put32(e + 20, raw);
        raw += sz;
    }
    put32(dirs + 2 * 8, rsrc_rva);
    put32(dirs + 2 * 8 + 4, (uint32_t)rlen);
    if (ig_write(c, m->base, h, sizeof h) != IG_OK)
        return IG_ERR;
    if (ig_ensure_mapped(c, m->base + rsrc_rva, rlen, IG_MAP_NX) != IG_OK)
        return IG_ERR;
    return ig_write(c, m->base + rsrc_rva, rs, rlen);
}

/* Real XP / 2003 drivers merge read-only data into .text (the debug
 * directory is there); tcpip's globals are in .data. */
int xp_tcpip_sections(int x64, uint32_t size, ig_pe_section sec[5], uint32_t *dir_rva)
{
    uint32_t text_end = XP_TEXT_END(x64), data_end = XP_DATA_END(x64);
    sec[0] = (ig_pe_section){".text", 0x1000, text_end - 0x1000, 0x68000020};
    sec[1] = (ig_pe_section){".data", text_end, data_end - text_end, 0xC8000040};
    sec[2] = (ig_pe_section){"PAGE", data_end, size - data_end - 0x5000, 0x60000020};
    sec[3] = (ig_pe_section){"INIT", size - 0x5000, 0x2000, 0xE2000020};
    sec[4] = (ig_pe_section){".reloc", size - 0x3000, 0x3000, 0x42000040};
    *dir_rva = text_end - 0x1000;
    return 5;
}

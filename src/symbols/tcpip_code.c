/* PartitionTable / PartitionCount of tcpip.sys from its code: read the
 * executable sections, collect candidate sites, vote. */
#include "tcpip_code.h"

#include <stdlib.h>
#include <string.h>

#include "pe/pe_util.h"

#define MAX_CODE_BYTES (64u << 20)
#define MAX_GROUPS 64
#define MAX_PDATA_ENTRIES (1u << 20)
#define PAGE 0x1000u

typedef struct group {
    uint32_t count_rva, table_rva, size;
    uint8_t count_width;
    unsigned hash, loop;
} group;

static unsigned score(const group *g)
{
    return 2 * g->hash + g->loop;
}

static size_t collect_groups(const ms_tcpip_scan *scan, group *groups)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_tcpip_scan_count(scan); i++) {
        const ms_tcpip_candidate *c = ms_tcpip_scan_get(scan, i);
        size_t k = 0;
        while (k < n && (groups[k].count_rva != c->count_rva || groups[k].table_rva != c->table_rva ||
                         groups[k].size != c->size))
            k++;
        if (k == n) {
            if (n == MAX_GROUPS)
                continue;
            groups[n++] = (group){c->count_rva, c->table_rva, c->size, c->count_width, 0, 0};
        }
        if (c->kind == MS_TCPIP_SITE_HASH)
            groups[k].hash++;
        else
            groups[k].loop++;
    }
    return n;
}

/* Start of the x64 function holding `rva`, from the RUNTIME_FUNCTION
 * table (sorted by start address), or 0. */
static uint32_t function_start(const uint8_t *pdata, uint32_t entries, uint32_t rva)
{
    uint32_t lo = 0, hi = entries;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t begin = ms_pe_le32(pdata + 12 * mid), end = ms_pe_le32(pdata + 12 * mid + 4);
        if (rva < begin)
            hi = mid;
        else if (rva >= end)
            lo = mid + 1;
        else
            return begin;
    }
    return 0;
}

static void fill_sites(const ms_tcpip_scan *scan, const ms_pe *pe, ms_tcpip_partitions *out)
{
    uint8_t *pdata = NULL;
    uint32_t entries = 0;
    const ms_pe_datadir *dd = pe && pe->machine == MS_PE_MACHINE_AMD64 ? ms_pe_datadir_get(pe, MS_PE_DIR_EXCEPTION)
                                                                       : NULL;
    if (dd != NULL && dd->size / 12 <= MAX_PDATA_ENTRIES) {
        entries = dd->size / 12;
        pdata = malloc((size_t)entries * 12 + 1);
        if (pdata == NULL || ms_pe_read(pe, dd->rva, pdata, (size_t)entries * 12) != MS_OK) {
            free(pdata);
            pdata = NULL;
            entries = 0;
        }
    }
    out->site_count = 0;
    for (int pass = MS_TCPIP_SITE_HASH; pass <= MS_TCPIP_SITE_LOOP; pass++) {
        for (size_t i = 0; i < ms_tcpip_scan_count(scan) && out->site_count < MS_TCPIP_MAX_SITES; i++) {
            const ms_tcpip_candidate *c = ms_tcpip_scan_get(scan, i);
            if ((int)c->kind != pass || c->count_rva != out->count_rva || c->table_rva != out->table_rva ||
                c->size != out->partition_size)
                continue;
            ms_tcpip_site *s = &out->sites[out->site_count++];
            s->kind = c->kind;
            s->rva = c->site_rva;
            s->function_rva = pdata ? function_start(pdata, entries, c->site_rva) : 0;
        }
    }
    free(pdata);
}

static ms_status check_writable(const ms_pe *pe, uint32_t rva, const char *what)
{
    const ms_pe_section *s = ms_pe_section_at(pe, rva);
    if (s == NULL)
        return ms_fail(MS_ERR_FORMAT, "code analysis chose RVA 0x%x for %s, which is in no section", rva, what);
    if (!(s->characteristics & MS_PE_SCN_WRITE) || (s->characteristics & MS_PE_SCN_EXECUTE))
        return ms_fail(MS_ERR_FORMAT, "code analysis chose RVA 0x%x for %s, in section '%s' which is not "
                       "writable data (characteristics 0x%08x)", rva, what, s->name, s->characteristics);
    return MS_OK;
}

ms_status ms_tcpip_scan_decide(const ms_tcpip_scan *scan, const ms_pe *pe, ms_tcpip_partitions *out)
{
    if (scan == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_scan_decide needs a scan and an out-parameter");
    group groups[MAX_GROUPS];
    size_t n = collect_groups(scan, groups);
    const group *best = NULL, *second = NULL;
    unsigned total_hash = 0;
    for (size_t i = 0; i < n; i++) {
        const group *g = &groups[i];
        total_hash += g->hash;
        if (g->hash == 0)
            continue;
        if (best == NULL || score(g) > score(best)) {
            second = best;
            best = g;
        } else if (second == NULL || score(g) > score(second)) {
            second = g;
        }
    }
    if (best == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "no code divides by a count global and indexes a pointer global with "
                       "the remainder (%zu loop-only candidate groups): PartitionTable not found", n);
    if (best->hash < 2 && best->loop < 2)
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable evidence is too thin: one hash site (table 0x%x, count "
                       "0x%x, size 0x%x) and %u loop sites, expected two agreeing sites", best->table_rva,
                       best->count_rva, best->size, best->loop);
    if (second != NULL && 2 * score(second) >= score(best))
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable evidence is ambiguous: table 0x%x/count 0x%x/size 0x%x "
                       "(%u hash, %u loop sites) against table 0x%x/count 0x%x/size 0x%x (%u hash, %u loop)",
                       best->table_rva, best->count_rva, best->size, best->hash, best->loop, second->table_rva,
                       second->count_rva, second->size, second->hash, second->loop);
    uint32_t lo = best->table_rva < best->count_rva ? best->table_rva : best->count_rva;
    uint32_t hi = best->table_rva ^ best->count_rva ^ lo;
    unsigned lo_width = lo == best->table_rva ? (pe && !pe->is_64 ? 4 : 8) : best->count_width;
    if (hi - lo < lo_width)
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable 0x%x and PartitionCount 0x%x overlap", best->table_rva,
                       best->count_rva);
    if (pe != NULL) {
        ms_status st = check_writable(pe, best->table_rva, "PartitionTable");
        if (st == MS_OK)
            st = check_writable(pe, best->count_rva, "PartitionCount");
        if (st != MS_OK)
            return st;
    }
    memset(out, 0, sizeof *out);
    out->table_rva = best->table_rva;
    out->count_rva = best->count_rva;
    out->count_width = best->count_width;
    out->partition_size = best->size;
    out->hash_sites = best->hash;
    out->loop_sites = best->loop;
    out->other_sites = total_hash - best->hash;
    fill_sites(scan, pe, out);
    return MS_OK;
}

/* Scan the readable page runs of one executable section. */
static ms_status scan_section(ms_tcpip_scan *scan, const ms_pe *pe, const ms_pe_section *sec, uint8_t *buf)
{
    uint32_t size = sec->virtual_size;
    uint32_t run_start = 0, run_len = 0;
    for (uint32_t off = 0; off < size; off += PAGE) {
        uint32_t n = size - off < PAGE ? size - off : PAGE;
        ms_status st = ms_pe_read(pe, (uint64_t)sec->rva + off, buf + off, n);
        if (st == MS_OK) {
            if (run_len == 0)
                run_start = off;
            run_len += n;
            continue;
        }
        if (!ms_pe_is_page_status(st))
            return st;
        if (run_len > 0)
            ms_tcpip_scan_code(scan, buf + run_start, run_len, sec->rva + run_start);
        run_len = 0;
    }
    if (run_len > 0)
        ms_tcpip_scan_code(scan, buf + run_start, run_len, sec->rva + run_start);
    return MS_OK;
}

ms_status ms_tcpip_find_partitions(const ms_pe *pe, uint64_t load_base, ms_tcpip_partitions *out)
{
    if (pe == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_find_partitions needs PE headers and an out-parameter");
    ms_tcpip_scan *scan;
    ms_status st = ms_tcpip_scan_create(pe->machine, load_base ? load_base : pe->image_base, pe->size_of_image,
                                        &scan);
    if (st != MS_OK)
        return st;
    uint64_t total = 0;
    for (uint32_t i = 0; i < pe->section_count; i++)
        if (pe->sections[i].characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE))
            total += pe->sections[i].virtual_size;
    if (total > MAX_CODE_BYTES) {
        ms_tcpip_scan_destroy(scan);
        return ms_fail(MS_ERR_LIMIT, "tcpip.sys claims 0x%llx bytes of code, more than the 0x%x analysed",
                       (unsigned long long)total, MAX_CODE_BYTES);
    }
    unsigned scanned = 0;
    for (uint32_t i = 0; i < pe->section_count && st == MS_OK; i++) {
        const ms_pe_section *sec = &pe->sections[i];
        if (!(sec->characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE)) || sec->virtual_size == 0)
            continue;
        uint8_t *buf = malloc(sec->virtual_size);
        if (buf == NULL) {
            st = ms_fail(MS_ERR_NOMEM, "out of memory reading section '%s' (%u bytes)", sec->name,
                         sec->virtual_size);
            break;
        }
        st = scan_section(scan, pe, sec, buf);
        free(buf);
        scanned++;
    }
    if (st == MS_OK && scanned == 0)
        st = ms_fail(MS_ERR_NOT_FOUND, "tcpip.sys has no executable section to analyse");
    if (st == MS_OK)
        st = ms_tcpip_scan_decide(scan, pe, out);
    ms_tcpip_scan_destroy(scan);
    return st;
}

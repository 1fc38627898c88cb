/* PartitionTable / PartitionCount of tcpip.sys from its code: read the
 * executable sections, collect candidate sites, vote. */
#include "tcpip_code.h"

#include <stdlib.h>
#include <string.h>

#include "code_flow.h"
#include "pe/pe_util.h"

#define MAX_CODE_BYTES (64u << 20)
#define MAX_GROUPS 64
#define MAX_PDATA_ENTRIES (1u << 20)

/* Groups are keyed (count, table, size); votes[0] counts hash sites,
 * votes[1] loop sites. */
static unsigned score(const ms_cf_group *g)
{
    return 2 * g->votes[0] + g->votes[1];
}

static ms_status collect_groups(const ms_tcpip_scan *scan, ms_cf_vote *v)
{
    ms_status st = ms_cf_vote_init(v, MAX_GROUPS, "tcpip code sites");
    for (size_t i = 0; st == MS_OK && i < ms_tcpip_scan_count(scan); i++) {
        const ms_tcpip_candidate *c = ms_tcpip_scan_get(scan, i);
        ms_cf_vote_add(v, c->count_rva, c->table_rva, c->size, c->kind == MS_TCPIP_SITE_HASH ? 0 : 1, i);
    }
    return st;
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

/* The winner among the groups with hash sites, or why there is none. */
static ms_status choose(const ms_cf_vote *v, const ms_cf_group **winner)
{
    const ms_cf_group *best = NULL, *second = NULL;
    for (size_t i = 0; i < v->count; i++) {
        const ms_cf_group *g = &v->groups[i];
        if (g->votes[0] == 0)
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
                       "the remainder (%zu loop-only candidate groups): PartitionTable not found", v->count);
    if (best->votes[0] < 2 && best->votes[1] < 2)
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable evidence is too thin: one hash site (table 0x%x, count "
                       "0x%x, size 0x%x) and %u loop sites, expected two agreeing sites", best->key[1],
                       best->key[0], best->key[2], best->votes[1]);
    if (second != NULL && 2 * score(second) >= score(best))
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable evidence is ambiguous: table 0x%x/count 0x%x/size 0x%x "
                       "(%u hash, %u loop sites) against table 0x%x/count 0x%x/size 0x%x (%u hash, %u loop)",
                       best->key[1], best->key[0], best->key[2], best->votes[0], best->votes[1], second->key[1],
                       second->key[0], second->key[2], second->votes[0], second->votes[1]);
    *winner = best;
    return MS_OK;
}

static ms_status check_winner(const ms_cf_group *best, unsigned count_width, const ms_pe *pe)
{
    uint32_t table = best->key[1], count = best->key[0];
    if (ms_cf_overlap(table, pe && !pe->is_64 ? 4 : 8, count, count_width))
        return ms_fail(MS_ERR_NOT_FOUND, "PartitionTable 0x%x and PartitionCount 0x%x overlap", table, count);
    if (pe == NULL)
        return MS_OK;
    ms_status st = ms_cf_check_writable(pe, table, "PartitionTable");
    return st == MS_OK ? ms_cf_check_writable(pe, count, "PartitionCount") : st;
}

ms_status ms_tcpip_scan_decide(const ms_tcpip_scan *scan, const ms_pe *pe, ms_tcpip_partitions *out)
{
    if (scan == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_tcpip_scan_decide needs a scan and an out-parameter");
    ms_cf_vote v;
    const ms_cf_group *best = NULL;
    ms_status st = collect_groups(scan, &v);
    if (st == MS_OK)
        st = choose(&v, &best);
    unsigned width = best ? ms_tcpip_scan_get(scan, best->first)->count_width : 0;
    if (st == MS_OK)
        st = check_winner(best, width, pe);
    if (st == MS_OK) {
        unsigned total_hash = 0;
        for (size_t i = 0; i < v.count; i++)
            total_hash += v.groups[i].votes[0];
        memset(out, 0, sizeof *out);
        out->table_rva = best->key[1];
        out->count_rva = best->key[0];
        out->count_width = width;
        out->partition_size = best->key[2];
        out->hash_sites = best->votes[0];
        out->loop_sites = best->votes[1];
        out->other_sites = total_hash - best->votes[0];
        fill_sites(scan, pe, out);
    }
    ms_cf_vote_free(&v);
    return st;
}

static ms_status scan_run(void *user, const uint8_t *code, size_t len, uint32_t rva)
{
    return ms_tcpip_scan_code(user, code, len, rva);
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
    st = ms_cf_sections(pe, MAX_CODE_BYTES, "tcpip.sys", scan_run, scan);
    if (st == MS_OK)
        st = ms_tcpip_scan_decide(scan, pe, out);
    ms_tcpip_scan_destroy(scan);
    return st;
}

/* Vista and later tcpip.sys structures: globals, build order, truth rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_vista.h"

const char *ig_nv_tcpip_file = NULL;
int ig_nv_bitmap_dump = 0;

ig_status nv_wptr(nv_ctx *n, uint64_t va, uint64_t v)
{
    return ig_wptr(n->c, va, v);
}

/* Vista+ _POOL_HEADER.PoolType: bit 1 "in use", bit 0 "paged"; 0 = free
 * (Volatility 3 POOL_HEADER_VISTA: nonpaged = even and > 0). */
static ig_status set_pool_type(nv_ctx *n, uint64_t body, uint32_t type)
{
    ig_ctx *c = n->c;
    long off = 0;
    int pos = c->ptr == 8 ? 24 : 25, len = c->ptr == 8 ? 8 : 7;
    if (c->prof && ig_prof_bits(c->prof, "_POOL_HEADER", "PoolType", &off, &pos, &len) == IG_OK)
        pos += (int)off * 8;
    uint64_t hdr = body - ig_pool_header_size(c);
    uint32_t word;
    if (ig_read(c, hdr, &word, 4) != IG_OK)
        return IG_ERR;
    uint32_t mask = ((1u << len) - 1) << pos;
    word = (word & ~mask) | ((type << pos) & mask);
    return ig_write(c, hdr, &word, 4);
}

ig_status nv_alloc(nv_ctx *n, const char tag[4], size_t size, uint64_t *body)
{
    if (ig_pool_alloc(n->c, IG_POOL_NONPAGED, tag, size, body, NULL) != IG_OK)
        return IG_ERR;
    return set_pool_type(n, *body, 2);
}

ig_status nv_mark_free(nv_ctx *n, uint64_t body)
{
    return set_pool_type(n, body, 0);
}

static int page_absent(const ig_ctx *c, uint64_t pa)
{
    uint64_t pfn = pa / IG_PAGE;
    return ig_nv_bitmap_dump && ((c->nodump[pfn / 8] >> (pfn % 8)) & 1);
}

ig_status nv_truth(nv_ctx *n, const char *proto, const char *laddr, unsigned lport, const char *faddr,
                   unsigned fport, const char *state, const ig_proc_truth *owner, uint64_t created, uint64_t obj,
                   const char *tag, int reachable, int pool_scan)
{
    ig_ctx *c = n->c;
    uint64_t pa = 0;
    if (ig_v2p(c, obj, &pa) != IG_OK)
        return ig_fail("connection object 0x%llx is not mapped", (unsigned long long)obj);
    int in_dump = !page_absent(c, pa);
    char pid[16] = "null", name[40] = "null", when[40] = "null";
    /* An owner whose EPROCESS page a bitmap dump leaves out cannot be named. */
    if (owner && ig_nv_bitmap_dump && owner->absent == 1)
        owner = NULL;
    if (owner) {
        snprintf(pid, sizeof pid, "%u", owner->pid);
        snprintf(name, sizeof name, "\"%s\"", owner->name);
    }
    if (created) {
        char iso[32];
        ig_filetime_iso(created, iso);
        snprintf(when, sizeof when, "\"%s\"", iso);
    }
    char row[768];
    snprintf(row, sizeof row,
             "{\"proto\": \"%s\", \"local_addr\": \"%s\", \"local_port\": %u, \"foreign_addr\": \"%s\", "
             "\"foreign_port\": %u, \"state\": \"%s\", \"pid\": %s, \"owner\": %s, \"created\": %s, "
             "\"offset\": %llu, \"offset_phys\": %llu, \"tag\": \"%.4s\", \"reachable\": %s, "
             "\"pool_scan\": %s, \"in_dump\": %s}",
             proto, laddr, lport, faddr, fport, state, pid, name, when, (unsigned long long)obj,
             (unsigned long long)pa, tag, reachable && in_dump ? "true" : "false",
             pool_scan && in_dump ? "true" : "false", in_dump ? "true" : "false");
    return ig_truth_add_connection(c, row);
}

/* RVAs of PartitionTable/PartitionCount and the port-pool globals when the
 * symbol index does not know the module: room in tcpip's .data. */
static ig_status choose_globals(nv_ctx *n)
{
    ig_ctx *c = n->c;
    n->compartments = c->t->build >= 14393;
    if (nv_index_lookup(n, n->m->guid, n->m->age))
        return IG_OK;
    uint32_t data, size;
    if (nv_section(n, ".data", &data, &size) != IG_OK)
        return IG_ERR;
    if (size < 0x1000)
        return ig_fail("tcpip .data is only 0x%x bytes", size);
    n->count_width = c->t->build >= 19041 ? 2 : 4;
    uint32_t table = data + 0x200 + 8 * (uint32_t)ig_rng_range(&c->rng, 0, 32);
    n->rva_table = table;
    n->rva_count = table - (n->count_width == 2 ? 8 : 4);
    n->rva_udp = data + 0x600 + 8 * (uint32_t)ig_rng_range(&c->rng, 0, 16);
    n->rva_tcp = n->rva_udp + 0x400 + 8 * (uint32_t)ig_rng_range(&c->rng, 0, 16);
    n->have_tcp_udp = 1;
    return IG_OK;
}

static ig_status write_globals(nv_ctx *n)
{
    ig_ctx *c = n->c;
    uint64_t b = n->m->base;
    if (ig_ensure_mapped(c, b + n->rva_count, 4, IG_MAP_NX) != IG_OK ||
        ig_ensure_mapped(c, b + n->rva_table, n->P, IG_MAP_NX) != IG_OK)
        return IG_ERR;
    ig_status s = nv_wptr(n, b + n->rva_table, n->part_table);
    s |= n->count_width == 2 ? ig_w16(c, b + n->rva_count, (uint16_t)n->npart)
                             : ig_w32(c, b + n->rva_count, n->npart);
    if (s != IG_OK || !n->have_tcp_udp)
        return s == IG_OK ? IG_OK : IG_ERR;
    return IG_OK;
}

ig_status ig_net_vista_build(ig_ctx *c)
{
    nv_ctx *n = calloc(1, sizeof *n);
    if (n == NULL)
        return ig_fail("out of memory");
    n->c = c;
    n->P = c->ptr;
    n->m = ig_module_find(c, "tcpip.sys");
    ig_status st = IG_ERR;
    if (n->m == NULL) {
        ig_fail("no tcpip.sys module to hold the network structures");
        goto out;
    }
    if (nv_layout_load(n) != IG_OK)
        goto out;
    if (ig_nv_tcpip_file) {
        n->real = 1;
        if (nv_map_real(n) != IG_OK)
            goto out;
    } else if (choose_globals(n) != IG_OK || nv_emit_code(n) != IG_OK) {
        goto out;
    }
    n->npart = c->processors >= 2 && c->processors <= NV_MAX_PART ? c->processors : 4;
    if (nv_build_partitions(n) != IG_OK || nv_build_port_pools(n) != IG_OK || nv_build_objects(n) != IG_OK ||
        write_globals(n) != IG_OK)
        goto out;
    st = IG_OK;
out:
    if (n->L)
        ig_prof_free(n->L);
    free(n);
    return st;
}

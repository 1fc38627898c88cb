/* Vista+: tcpip.sys's PartitionTable/PartitionCount and TCP/UDP port-pool
 * (or compartment-set) globals, from the symbol index by PDB GUID/age,
 * else from code analysis, else from a structural scan of its writable
 * data sections validated by walking what the candidates lead to. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/kernel_internal.h"
#include "kernel/module_identity.h"
#include "symbols/tcpip_code.h"
#include "vista_net.h"

#define MAX_DATA_BYTES (8u << 20)
#define MAX_CODE_CANDIDATES 8

static uint32_t read_count(ms_vista_ctx *ctx, uint64_t va, unsigned width)
{
    uint32_t v = 0;
    if (ms_vspace_read_u32(ctx->vs, va, &v) != MS_OK) {
        uint16_t w16 = 0;
        if (width != 2 || ms_vspace_read_u16(ctx->vs, va, &w16) != MS_OK)
            return 0;
        return w16;
    }
    return width == 2 ? (v & 0xffff) : v;
}

/* Whether the partitions at `table` look like partitions: each one's first
 * hash table has a sane size and directory. */
static int partitions_plausible(ms_vista_ctx *ctx, uint64_t table, uint32_t count)
{
    const ms_vista_layout *L = &ctx->L;
    if (count == 0 || count > MS_VISTA_MAX_PARTITIONS || !ms_vista_kernel_ptr(L->ptr, table) || L->part_size == 0)
        return 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t ep = 0, dir = 0;
        uint32_t size = 0;
        if (ms_vspace_read_ptr(ctx->vs, table + (uint64_t)i * L->part_size + (uint64_t)L->part_endpoints, &ep) !=
                MS_OK ||
            !ms_vista_kernel_ptr(L->ptr, ep) ||
            ms_vspace_read_u32(ctx->vs, ep + (uint64_t)L->ht_table_size, &size) != MS_OK || size == 0 ||
            size > MS_VISTA_MAX_BUCKETS || ms_vspace_read_ptr(ctx->vs, ep + (uint64_t)L->ht_directory, &dir) != MS_OK ||
            !ms_vista_kernel_ptr(L->ptr, dir))
            return 0;
    }
    return 1;
}

/* ---- the module's PE and data sections ---- */

typedef struct tcpip_pe {
    ms_vspace_pe_reader reader;
    ms_pe pe;
    int ok;
} tcpip_pe;

static void open_pe(ms_vista_ctx *ctx, tcpip_pe *t)
{
    t->reader.vs = ctx->vs;
    t->reader.base = ctx->tcpip.base;
    t->ok = ms_pe_parse(ms_vspace_pe_read, &t->reader, &t->pe) == MS_OK;
    if (!t->ok)
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip.sys headers at 0x%llx are not readable: %s",
                      (unsigned long long)ctx->tcpip.base, ms_last_error());
}

typedef int (*slot_fn)(ms_vista_ctx *ctx, uint64_t slot_va, uint64_t value, void *user);

/* Every pointer-aligned slot of the writable, non-executable sections. */
static void for_each_data_slot(ms_vista_ctx *ctx, const tcpip_pe *t, slot_fn fn, void *user)
{
    unsigned P = ctx->L.ptr;
    uint8_t page[0x1000];
    uint64_t total = 0;
    for (uint32_t i = 0; i < t->pe.section_count; i++) {
        const ms_pe_section *s = &t->pe.sections[i];
        if (!(s->characteristics & MS_PE_SCN_WRITE) || (s->characteristics & MS_PE_SCN_EXECUTE))
            continue;
        for (uint32_t off = 0; off < s->virtual_size && total < MAX_DATA_BYTES; off += sizeof page) {
            uint32_t n = s->virtual_size - off < sizeof page ? s->virtual_size - off : (uint32_t)sizeof page;
            uint64_t va = ctx->tcpip.base + s->rva + off;
            total += n;
            if (ms_vspace_read(ctx->vs, va, page, n) != MS_OK)
                continue;
            for (uint32_t k = 0; k + P <= n; k += P) {
                uint64_t v = 0;
                memcpy(&v, page + k, P);
                if (ms_vista_kernel_ptr(P, v) && fn(ctx, va + k, v, user))
                    return;
            }
        }
    }
}

/* ---- partitions ---- */

typedef struct part_best {
    uint64_t table_slot, count_va;
    unsigned width;
    size_t found;
    int have;
    int stride_unknown;
} part_best;

static int try_partition_slot(ms_vista_ctx *ctx, uint64_t slot, uint64_t table, void *user)
{
    part_best *b = user;
    static const struct { int delta; unsigned width; } places[] = {{-8, 2}, {-4, 4}, {-8, 4}, {8, 4}, {4, 4}};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (places[i].delta == 4 && ctx->L.ptr == 8)
            continue;
        uint64_t cva = slot + (uint64_t)(int64_t)places[i].delta;
        uint32_t count = read_count(ctx, cva, places[i].width);
        uint32_t stride = 0;
        if (b->stride_unknown) {
            if (ms_vista_measure_partition_size(ctx, table, count, &stride) != MS_OK)
                continue;
            ctx->L.part_size = stride;
        }
        size_t found = 0;
        int ok = partitions_plausible(ctx, table, count) &&
                 ms_vista_walk_partitions(ctx, table, count, NULL, NULL, &found) == MS_OK;
        if (b->stride_unknown)
            ctx->L.part_size = 0;
        if (!ok)
            continue;
        if (ms_vista_tag_before(ctx->vs, ctx->L.hdr, table) == ms_pool_tag_value("TcPt"))
            found += 1000;
        if (!b->have || found > b->found) {
            *b = (part_best){slot, cva, places[i].width, found, 1, b->stride_unknown};
        }
        break;
    }
    return 0;
}

/* With the profile's _PARTITION size unknown, the stride for the table
 * at `table`: the code's, when its partitions look right, else measured.
 * Sets ctx->L.part_size; 0 when neither works. */
static int complete_stride(ms_vista_ctx *ctx, ms_tcpip_globals *g, uint64_t table, uint32_t count, uint32_t code)
{
    if (code != 0 && code <= 0x1000) {
        ctx->L.part_size = code;
        if (partitions_plausible(ctx, table, count)) {
            snprintf(g->stride_how, sizeof g->stride_how, "0x%x from tcpip's code", code);
            return 1;
        }
    }
    uint32_t size = 0;
    ctx->L.part_size = 0;
    if (ms_vista_measure_partition_size(ctx, table, count, &size) != MS_OK)
        return 0;
    ctx->L.part_size = size;
    if (!partitions_plausible(ctx, table, count)) {
        ctx->L.part_size = 0;
        return 0;
    }
    snprintf(g->stride_how, sizeof g->stride_how, "0x%x measured (each of %u partitions starts with a TcHT "
             "pointer)", size, count);
    return 1;
}

static int set_partitions(ms_vista_ctx *ctx, ms_tcpip_globals *g, uint64_t table_va, uint64_t count_va,
                          unsigned width, uint32_t code_size)
{
    uint64_t table = 0;
    ms_vspace_read_ptr(ctx->vs, table_va, &table);
    int unknown = g->stride_unknown;
    for (int pass = 0; pass < 2; pass++, width = width == 2 ? 4 : 2) {
        /* The second pass: a word-wide count (19041) read as a dword, or the other way round. */
        uint32_t count = read_count(ctx, count_va, width);
        if (unknown && !complete_stride(ctx, g, table, count, code_size))
            continue;
        if (partitions_plausible(ctx, table, count)) {
            g->partition_table = table_va;
            g->partition_count = count_va;
            g->count_width = width;
            return 1;
        }
    }
    if (unknown)
        ctx->L.part_size = 0;
    return 0;
}

static void resolve_partitions(ms_vista_ctx *ctx, const ms_tcpip_symbols *sym, tcpip_pe *t, ms_tcpip_globals *g)
{
    uint64_t base = ctx->tcpip.base;
    unsigned width = ctx->info->build >= 19041 ? 2 : 4;
    if (sym != NULL && sym->partition_table != 0 && sym->partition_count != 0) {
        if (set_partitions(ctx, g, base + sym->partition_table, base + sym->partition_count, width, 0)) {
            snprintf(g->partitions_how, sizeof g->partitions_how, "symbol index (tcpip.pdb %s-%u)",
                     ctx->tcpip.pdb.guid, ctx->tcpip.pdb.age);
            return;
        }
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "the symbol index's PartitionTable (RVA 0x%llx) does not lead "
                      "to partitions; trying code analysis", (unsigned long long)sym->partition_table);
    }
    if (t->ok) {
        ms_tcpip_partitions parts;
        if (ms_tcpip_find_partitions(&t->pe, base, &parts) == MS_OK) {
            if (!g->stride_unknown && parts.partition_size != ctx->L.part_size)
                ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip code indexes partitions of 0x%x bytes, profile "
                              "%s says 0x%x", parts.partition_size, ctx->profile_name, ctx->L.part_size);
            if (set_partitions(ctx, g, base + parts.table_rva, base + parts.count_rva, parts.count_width,
                               parts.partition_size)) {
                snprintf(g->partitions_how, sizeof g->partitions_how,
                         "code analysis (%u hash and %u loop sites agree; count read as %u bytes)", parts.hash_sites,
                         parts.loop_sites, g->count_width);
                return;
            }
            ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "code analysis's PartitionTable (RVA 0x%x) does not lead "
                          "to partitions; trying a structural scan", parts.table_rva);
        } else {
            ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "code analysis did not find PartitionTable: %s; trying a "
                          "structural scan", ms_last_error());
        }
        part_best best = {0};
        best.stride_unknown = g->stride_unknown;
        for_each_data_slot(ctx, t, try_partition_slot, &best);
        if (best.have && set_partitions(ctx, g, best.table_slot, best.count_va, best.width, 0)) {
            snprintf(g->partitions_how, sizeof g->partitions_how,
                     "structural scan of tcpip's data (PartitionTable at RVA 0x%llx, %zu objects validated)",
                     (unsigned long long)(best.table_slot - base), best.found % 1000);
            return;
        }
    }
    g->partition_table = 0;
}

/* ---- port pools ---- */

typedef struct port_best {
    int compartments;
    uint64_t tcp, udp;
    size_t tcp_n, udp_n;
} port_best;

static void score_global(ms_vista_ctx *ctx, uint64_t slot, port_best *b)
{
    uint64_t pool = ms_vista_port_pool(ctx, slot, b->compartments);
    size_t l = 0, u = 0;
    if (pool == 0 || ms_vista_walk_port_pool(ctx, pool, NULL, NULL, &l, &u) != MS_OK)
        return;
    if (l > u && l > b->tcp_n) {
        b->tcp = slot;
        b->tcp_n = l;
    } else if (u > l && u > b->udp_n) {
        b->udp = slot;
        b->udp_n = u;
    }
}

static int try_port_slot(ms_vista_ctx *ctx, uint64_t slot, uint64_t value, void *user)
{
    (void)value;
    score_global(ctx, slot, user);
    return 0;
}

static void resolve_ports(ms_vista_ctx *ctx, const ms_tcpip_symbols *sym, tcpip_pe *t, ms_tcpip_globals *g)
{
    uint64_t base = ctx->tcpip.base;
    if (sym != NULL && (sym->tcp_compartment_set || sym->tcp_port_pool)) {
        g->compartments = sym->tcp_compartment_set != 0;
        g->tcp = base + (g->compartments ? sym->tcp_compartment_set : sym->tcp_port_pool);
        uint64_t udp = g->compartments ? sym->udp_compartment_set : sym->udp_port_pool;
        g->udp = udp ? base + udp : 0;
        snprintf(g->ports_how, sizeof g->ports_how, "symbol index (tcpip.pdb %s-%u)", ctx->tcpip.pdb.guid,
                 ctx->tcpip.pdb.age);
        return;
    }
    port_best b = {0};
    b.compartments = ctx->info->build >= 14393;
    if (b.compartments && ctx->L.cs_inet >= 0) {
        uint32_t rvas[MAX_CODE_CANDIDATES];
        size_t n = 0;
        if (ms_tcpip_find_compartment_sets(ctx->vs, base, (uint64_t)ctx->L.cs_inet, rvas, MAX_CODE_CANDIDATES, &n) ==
                MS_OK &&
            n > 0) {
            for (size_t i = 0; i < n; i++)
                score_global(ctx, base + rvas[i], &b);
            if (b.tcp && b.udp) {
                g->compartments = 1;
                g->tcp = b.tcp;
                g->udp = b.udp;
                snprintf(g->ports_how, sizeof g->ports_how,
                         "code analysis (globals dereferenced at +0x%llx; %zu listeners and %zu UDP endpoints "
                         "validated)", (unsigned long long)ctx->L.cs_inet, b.tcp_n, b.udp_n);
                return;
            }
        }
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "code analysis did not find both compartment sets (%zu "
                      "candidates); trying a structural scan", n);
    }
    if (t->ok) {
        for_each_data_slot(ctx, t, try_port_slot, &b);
        if (b.tcp || b.udp) {
            g->compartments = b.compartments;
            g->tcp = b.tcp;
            g->udp = b.udp;
            snprintf(g->ports_how, sizeof g->ports_how,
                     "structural scan of tcpip's data (%zu listeners and %zu UDP endpoints validated)", b.tcp_n,
                     b.udp_n);
        }
    }
}

ms_status ms_tcpip_resolve(ms_vista_ctx *ctx, ms_tcpip_globals *g)
{
    memset(g, 0, sizeof *g);
    if (!ctx->have_module)
        return ms_fail(MS_ERR_NOT_FOUND, "tcpip.sys is not in the loaded-module list");
    ms_tcpip_symbols sym;
    const ms_tcpip_symbols *symp = NULL;
    if (ctx->tcpip.pdb.guid[0] == '\0') {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip.sys's PDB identity is not readable (headers paged out?); "
                      "no symbol index lookup");
    } else if (ms_profile_db_tcpip_symbols(ms_kernel_profiles(ctx->kernel), ctx->tcpip.pdb.guid, ctx->tcpip.pdb.age,
                                           &sym) == MS_OK &&
               sym.pointer_size == ctx->L.ptr) {
        symp = &sym;
    } else {
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip.pdb %s-%u is not in the symbol index", ctx->tcpip.pdb.guid,
                      ctx->tcpip.pdb.age);
    }
    tcpip_pe t;
    memset(&t, 0, sizeof t);
    open_pe(ctx, &t);
    const ms_vista_layout *L = &ctx->L;
    int can_partitions = L->part_endpoints >= 0;
    int can_ports = L->pa_base >= 0 && L->pae_entry >= 0 && L->pae_size != 0;
    g->stride_unknown = L->part_size == 0;
    if (can_partitions && g->stride_unknown)
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip profile %s gives no _PARTITION size: searching for the "
                      "partition stride in memory", ctx->profile_name);
    if (can_ports && L->pp_assign < 0)
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip profile %s gives no _INET_PORT_POOL.PortAssignments: "
                      "searching for it in the port pools", ctx->profile_name);
    if (can_partitions)
        resolve_partitions(ctx, symp, &t, g);
    else
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip profile %s has no _PARTITION layout: no walk of the "
                      "TCP endpoint tables", ctx->profile_name);
    if (can_ports)
        resolve_ports(ctx, symp, &t, g);
    else
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip profile %s has no _INET_PORT_POOL/_PORT_ASSIGNMENT "
                      "layout: no walk of listeners and UDP endpoints", ctx->profile_name);
    if (!can_partitions && !can_ports)
        return MS_OK;
    if (g->partition_table)
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip PartitionTable 0x%llx, PartitionCount 0x%llx: %s",
                      (unsigned long long)g->partition_table, (unsigned long long)g->partition_count,
                      g->partitions_how);
    if (g->partition_table && g->stride_unknown)
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip partition stride (sizeof _PARTITION): %s", g->stride_how);
    else if (g->stride_unknown && can_partitions)
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip partition stride not found: neither tcpip's code nor "
                      "the partitions in memory give it");
    if (!g->partition_table)
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip PartitionTable not found (no symbol index entry, code "
                      "analysis and structural scan failed): no TCP connections from the tables");
    if (g->tcp || g->udp)
        ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "tcpip %s: TCP 0x%llx, UDP 0x%llx: %s",
                      g->compartments ? "TcpCompartmentSet/UdpCompartmentSet" : "TcpPortPool/UdpPortPool",
                      (unsigned long long)g->tcp, (unsigned long long)g->udp, g->ports_how);
    else
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "tcpip port pools not found: no listeners or UDP endpoints "
                      "from the tables");
    return MS_OK;
}

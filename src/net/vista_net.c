/* Vista+: ms_net_walk - tcpip.sys's partitions and port pools. */
#include <string.h>

#include "kernel/kernel_internal.h"
#include "vista_net.h"

typedef struct walk_out {
    ms_net_fn fn;
    void *user;
    ms_visit_set seen;
    size_t rows;
    int stopped;
} walk_out;

static int emit(ms_net_endpoint *row, void *user)
{
    walk_out *w = user;
    if (ms_visit_set_add(&w->seen, row->offset) == 0)
        return 0;
    w->rows++;
    if (w->fn(row, w->user)) {
        w->stopped = 1;
        return 1;
    }
    return 0;
}

/* The profile lacks _INET_PORT_POOL.PortAssignments: find it in this pool
 * and keep it for the other. */
static void find_assignments(ms_vista_ctx *ctx, uint64_t pool, const char *which)
{
    int64_t off = -1;
    char how[160];
    if (ms_vista_find_port_assignments(ctx, pool, &off, how, sizeof how) != MS_OK) {
        ms_kernel_log(ctx->kernel, MS_KLOG_WARNING, "PortAssignments not found in the %s port pool: %s", which,
                      ms_last_error());
        return;
    }
    ctx->L.pp_assign = off;
    ms_kernel_log(ctx->kernel, MS_KLOG_INFO, "_INET_PORT_POOL.PortAssignments searched in the %s port pool 0x%llx: "
                  "+0x%llx (%s)", which, (unsigned long long)pool, (unsigned long long)off, how);
}

ms_status ms_net_walk(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user)
{
    (void)opts;
    if (kernel == NULL || fn == NULL)
        return ms_fail(MS_ERR_ARG, "ms_net_walk needs a kernel and a callback");
    ms_vista_ctx ctx;
    ms_status st = ms_vista_ctx_open(kernel, &ctx);
    if (st != MS_OK)
        return st;
    ms_tcpip_globals g;
    st = ms_tcpip_resolve(&ctx, &g);
    if (st == MS_OK && g.partition_table == 0 && g.tcp == 0 && g.udp == 0 && ctx.L.part_endpoints < 0 &&
        ctx.L.pa_base < 0)
        st = ms_fail(MS_ERR_UNSUPPORTED, "tcpip profile %s has no _PARTITION or _INET_PORT_POOL layout, so "
                     "tcpip.sys's tables cannot be walked on build %u", ctx.profile_name, ctx.info->build);
    else if (st == MS_OK && g.partition_table == 0 && g.tcp == 0 && g.udp == 0)
        st = ms_fail(MS_ERR_NOT_FOUND, "none of tcpip.sys's tables was found (PartitionTable, %s): the symbol "
                     "index has no entry for tcpip.pdb %s-%u, and code analysis and the structural scan failed",
                     ctx.info->build >= 14393 ? "TcpCompartmentSet, UdpCompartmentSet" : "TcpPortPool, UdpPortPool",
                     ctx.tcpip.pdb.guid[0] ? ctx.tcpip.pdb.guid : "(unreadable)", ctx.tcpip.pdb.age);
    walk_out w;
    memset(&w, 0, sizeof w);
    w.fn = fn;
    w.user = user;
    if (st == MS_OK)
        st = ms_visit_set_init(&w.seen, MS_VISTA_MAX_OBJECTS);
    if (st != MS_OK) {
        ms_vista_ctx_close(&ctx);
        return st;
    }
    if (g.partition_table != 0) {
        uint64_t table = 0;
        uint32_t count = 0;
        ms_vspace_read_ptr(ctx.vs, g.partition_table, &table);
        if (g.count_width == 2) {
            uint16_t c16 = 0;
            ms_vspace_read_u16(ctx.vs, g.partition_count, &c16);
            count = c16;
        } else {
            ms_vspace_read_u32(ctx.vs, g.partition_count, &count);
        }
        size_t found = 0;
        if (ms_vista_walk_partitions(&ctx, table, count, emit, &w, &found) != MS_OK)
            ms_kernel_log(kernel, MS_KLOG_WARNING, "partition walk failed: %s", ms_last_error());
        else
            ms_kernel_log(kernel, MS_KLOG_DEBUG, "%u partitions at 0x%llx: %zu TCP endpoints", count,
                          (unsigned long long)table, found);
    }
    const uint64_t globals[2] = {g.tcp, g.udp};
    for (int i = 0; i < 2 && !w.stopped; i++) {
        if (globals[i] == 0)
            continue;
        uint64_t pool = ms_vista_port_pool(&ctx, globals[i], g.compartments);
        size_t l = 0, u = 0;
        if (pool != 0 && ctx.L.pp_assign < 0)
            find_assignments(&ctx, pool, i ? "UDP" : "TCP");
        if (pool == 0)
            ms_kernel_log(kernel, MS_KLOG_WARNING, "the %s port pool global at 0x%llx leads to no port pool",
                          i ? "UDP" : "TCP", (unsigned long long)globals[i]);
        else if (ms_vista_walk_port_pool(&ctx, pool, emit, &w, &l, &u) != MS_OK)
            ms_kernel_log(kernel, MS_KLOG_WARNING, "%s port pool walk failed: %s", i ? "UDP" : "TCP",
                          ms_last_error());
        else
            ms_kernel_log(kernel, MS_KLOG_DEBUG, "%s port pool 0x%llx: %zu listeners, %zu UDP endpoints",
                          i ? "UDP" : "TCP", (unsigned long long)pool, l, u);
    }
    ms_visit_set_free(&w.seen);
    ms_vista_ctx_close(&ctx);
    return MS_OK;
}

/* netstat: network endpoints that tcpip.sys's tables still lead to. */
#include "net_rows.h"
#include "registry.h"

static ms_status run(ms_plugin_context *ctx)
{
    ms_netrows rows;
    ms_kernel *kernel;
    ms_net_options opts;
    ms_status st = ms_netrows_begin(&rows, ctx, MS_NETROWS_NETSTAT, &kernel, &opts);
    if (st != MS_OK)
        return st;
    if (ms_kernel_get_info(kernel)->build < 6000) {
        st = ms_net_xp_connections(kernel, &opts, ms_netrows_emit, &rows);
        if (st == MS_OK && rows.status == MS_OK)
            st = ms_net_xp_sockets(kernel, &opts, ms_netrows_emit, &rows);
        return st != MS_OK ? st : rows.status;
    }
    st = ms_net_walk(kernel, &opts, ms_netrows_emit, &rows);
    if (st != MS_OK && rows.status == MS_OK) {
        ms_plugin_log(ctx, MS_LOG_WARNING, "%s; falling back to a pool scan (rows may include closed endpoints)",
                      ms_last_error());
        st = ms_net_scan(kernel, &opts, ms_netrows_emit, &rows);
    }
    return st != MS_OK ? st : rows.status;
}

static const char *const aliases[] = {"windows.netstat", "windows.netstat.NetStat", NULL};

const ms_plugin ms_plugin_netstat = {
    "netstat",
    aliases,
    "List connections and sockets from tcpip.sys",
    "Walks tcpip.sys's tables: every entry of every bucket of the partitions' hash tables (established, "
    "TIME_WAIT and SYN_RCVD TCP endpoints) and every chain of the TCP and UDP port pools (listeners and UDP "
    "endpoints). The tables are found through the tcpip symbol index by tcpip.pdb's GUID/age, else by code "
    "analysis of tcpip.sys, else by a structural scan of its data; the log says which. Objects are kept when "
    "their pool tag matches. When no table can be found, netstat says what is missing and falls back to a "
    "pool scan. On Windows XP and Server 2003 it lists the connections and sockets tables.",
    ms_netrows_endpoint_options,
    MS_NETROWS_FILTER_OPTIONS,
    MS_NETROWS_TABLE(ms_netrows_netstat_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

/* connscan: XP / Server 2003 TCP connections (_TCPT_OBJECT) found by their
 * pool tag TCPT in physical memory. */
#include "net_rows.h"
#include "registry.h"

static ms_status run(ms_plugin_context *ctx)
{
    return ms_netrows_run(ctx, MS_NETROWS_CONNSCAN, ms_net_xp_connscan);
}

static const char *const aliases[] = {"windows.connscan", "connscan.ConnScan", NULL};

const ms_plugin ms_plugin_connscan = {
    "connscan",
    aliases,
    "Scan memory for XP/2003 TCP connections",
    "Windows XP and Server 2003 only. Scans all physical memory in one pass for pool blocks tagged TCPT "
    "(_TCPT_OBJECT) whose pre-Vista pool header is nonpaged or free, has PoolIndex below 5, stays inside "
    "its page and is at least 0x198 bytes. Live, closed and freed connections are found. A freed "
    "block may have been overwritten: Plausible is false when the PID is not a multiple of 4 below 2^26, a "
    "port is 0, the local address is not 0.0.0.0 or unicast, or the remote address is not unicast "
    "(--plausible-only hides those rows). Owner is the listed process with that PID.",
    MS_NETROWS_TABLE(ms_netrows_scan_options),
    MS_NETROWS_TABLE(ms_netrows_connscan_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

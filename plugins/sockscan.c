/* sockscan: XP / Server 2003 address objects (_ADDRESS_OBJECT) found by
 * their pool tag TCPA in physical memory. */
#include "net_rows.h"
#include "registry.h"

static ms_status run(ms_plugin_context *ctx)
{
    return ms_netrows_run(ctx, MS_NETROWS_SOCKSCAN, ms_net_xp_sockscan);
}

static const char *const aliases[] = {"windows.sockscan", "sockscan.SockScan", NULL};

const ms_plugin ms_plugin_sockscan = {
    "sockscan",
    aliases,
    "Scan memory for XP/2003 sockets",
    "Windows XP and Server 2003 only. Scans all physical memory in one pass for pool blocks tagged TCPA "
    "(_ADDRESS_OBJECT, one per socket: TCP, UDP or raw IP) and, for the Role column, TCPT connections. "
    "Headers must be nonpaged or free, PoolIndex below 5, inside one page, large enough for the object. "
    "Role is 'connection' when a connection of the same process uses the socket's local port (Peer names "
    "its remote end: NT's netstat showed such sockets as LISTENING), else 'listener'. Plausible is false "
    "for values an overwritten block would hold: a PID that is not a multiple of 4 below 2^26, a protocol "
    "above 255, a TCP/UDP port 0, a non-unicast address, a Create Time before 1980 or after the image's "
    "time (--plausible-only hides those rows).",
    MS_NETROWS_TABLE(ms_netrows_scan_options),
    MS_NETROWS_TABLE(ms_netrows_sockscan_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

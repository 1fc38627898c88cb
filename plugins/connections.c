/* connections: XP / Server 2003 TCP connections from tcpip.sys's TCB table. */
#include "net_rows.h"
#include "registry.h"

static ms_status run(ms_plugin_context *ctx)
{
    return ms_netrows_run(ctx, MS_NETROWS_CONNECTIONS, ms_net_xp_connections);
}

static const char *const aliases[] = {"windows.connections", "connections.Connections", NULL};

const ms_plugin ms_plugin_connections = {
    "connections",
    aliases,
    "List XP/2003 TCP connections from tcpip.sys",
    "Windows XP and Server 2003 only. Walks every bucket chain of tcpip.sys's TCB hash table (TCBTable, "
    "MaxHashTableSize), with a loop guard. The table is located by trying each address set of the tcpip "
    "profile (the one named by tcpip.sys's file revision first) and keeping the one whose table holds "
    "TCPT pool objects; failing that, by searching tcpip.sys's image for a pointer to such a table. "
    "Closed and freed connections are not in the table: use connscan.",
    MS_NETROWS_TABLE(ms_netrows_walk_options),
    MS_NETROWS_TABLE(ms_netrows_connections_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

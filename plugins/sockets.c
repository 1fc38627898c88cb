/* sockets: XP / Server 2003 address objects from tcpip.sys's table. */
#include "net_rows.h"
#include "registry.h"

static ms_status run(ms_plugin_context *ctx)
{
    return ms_netrows_run(ctx, MS_NETROWS_SOCKETS, ms_net_xp_sockets);
}

static const char *const aliases[] = {"windows.sockets", "sockets.Sockets", NULL};

const ms_plugin ms_plugin_sockets = {
    "sockets",
    aliases,
    "List XP/2003 sockets from tcpip.sys",
    "Windows XP and Server 2003 only. Walks every bucket chain of tcpip.sys's address-object table "
    "(AddrObjTable, AddrObjTableSize), located as for connections. One row per address object: TCP, UDP "
    "and raw IP sockets. Role is 'connection' when a connection of the same process (from the TCB table) "
    "uses the local port, Peer then naming its remote end, else 'listener'. Closed sockets are not in the "
    "table: use sockscan.",
    MS_NETROWS_TABLE(ms_netrows_walk_options),
    MS_NETROWS_TABLE(ms_netrows_sockets_columns),
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

/* connections: XP / Server 2003 TCP connections from tcpip.sys's TCB table. */
#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look implausible"},
};

static const ms_column columns[] = {
    {"Offset(V)", MS_VT_ADDR, 18},  {"Offset(P)", MS_VT_ADDR, 18},   {"LocalAddr", MS_VT_STR, 15},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 15}, {"ForeignPort", MS_VT_UINT, 11},
    {"PID", MS_VT_UINT, 10},        {"Owner", MS_VT_STR, 15},        {"Plausible", MS_VT_BOOL, 9},
};

typedef struct connections_state {
    ms_plugin_context *ctx;
    int plausible_only;
    ms_status status;
} connections_state;

static int emit(const ms_net_endpoint *e, void *user)
{
    connections_state *s = user;
    if (s->plausible_only && !e->plausible)
        return 0;
    ms_value row[] = {
        ms_val_uint(e->offset),
        e->offset_phys ? ms_val_uint(e->offset_phys) : ms_val_null(),
        ms_val_str(e->local_addr),
        ms_val_uint(e->local_port),
        ms_val_str(e->foreign_addr),
        ms_val_uint(e->foreign_port),
        e->has_pid ? ms_val_uint(e->pid) : ms_val_null(),
        ms_val_str(e->owner[0] ? e->owner : NULL),
        ms_val_bool(e->plausible),
    };
    s->status = ms_plugin_emit(s->ctx, row);
    return s->status != MS_OK;
}

static ms_status run(ms_plugin_context *ctx)
{
    ms_kernel *kernel;
    ms_status st = ms_plugin_kernel(ctx, &kernel);
    if (st != MS_OK)
        return st;
    ms_net_options opts;
    ms_net_options_init(&opts);
    connections_state s = {ctx, ms_plugin_flag(ctx, "plausible-only"), MS_OK};
    st = ms_net_xp_connections(kernel, &opts, emit, &s);
    return st != MS_OK ? st : s.status;
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

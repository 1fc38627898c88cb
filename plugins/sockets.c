/* sockets: XP / Server 2003 address objects from tcpip.sys's table. */
#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look implausible"},
};

static const ms_column columns[] = {
    {"Offset(V)", MS_VT_ADDR, 18}, {"Offset(P)", MS_VT_ADDR, 18},  {"PID", MS_VT_UINT, 6},
    {"Port", MS_VT_UINT, 5},       {"Proto", MS_VT_UINT, 5},       {"Protocol", MS_VT_STR, 9},
    {"Address", MS_VT_STR, 15},    {"Create Time", MS_VT_TIME, 23}, {"Owner", MS_VT_STR, 15},
    {"Role", MS_VT_STR, 10},       {"Peer", MS_VT_STR, 21},        {"Plausible", MS_VT_BOOL, 9},
};

typedef struct sockets_state {
    ms_plugin_context *ctx;
    int plausible_only;
    ms_status status;
} sockets_state;

static int emit(const ms_net_endpoint *e, void *user)
{
    sockets_state *s = user;
    if (s->plausible_only && !e->plausible)
        return 0;
    ms_value row[] = {
        ms_val_uint(e->offset),
        e->offset_phys ? ms_val_uint(e->offset_phys) : ms_val_null(),
        e->has_pid ? ms_val_uint(e->pid) : ms_val_null(),
        ms_val_uint(e->local_port),
        ms_val_uint(e->protocol),
        ms_val_str(ms_net_protocol_name(e->protocol)),
        ms_val_str(e->local_addr),
        ms_val_time(e->created),
        ms_val_str(e->owner[0] ? e->owner : NULL),
        ms_val_str(e->role[0] ? e->role : NULL),
        ms_val_str(e->role_peer[0] ? e->role_peer : NULL),
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
    sockets_state s = {ctx, ms_plugin_flag(ctx, "plausible-only"), MS_OK};
    st = ms_net_xp_sockets(kernel, &opts, emit, &s);
    return st != MS_OK ? st : s.status;
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

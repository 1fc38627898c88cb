/* sockscan: XP / Server 2003 address objects (_ADDRESS_OBJECT) found by
 * their pool tag TCPA in physical memory. */
#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look like an overwritten freed block"},
    {"threads", MS_OPT_INT, "N", "scanning threads (default: one per CPU)"},
};

static const ms_column columns[] = {
    {"Offset(P)", MS_VT_ADDR, 18}, {"PID", MS_VT_UINT, 10},      {"Port", MS_VT_UINT, 5},
    {"Proto", MS_VT_UINT, 5},      {"Protocol", MS_VT_STR, 9},   {"Address", MS_VT_STR, 15},
    {"Create Time", MS_VT_TIME, 23}, {"Owner", MS_VT_STR, 15},   {"Role", MS_VT_STR, 10},
    {"Peer", MS_VT_STR, 21},       {"Plausible", MS_VT_BOOL, 9},
};

typedef struct sockscan_state {
    ms_plugin_context *ctx;
    int plausible_only;
    ms_status status;
} sockscan_state;

static int emit(const ms_net_endpoint *e, void *user)
{
    sockscan_state *s = user;
    if (s->plausible_only && !e->plausible)
        return 0;
    ms_value row[] = {
        ms_val_uint(e->offset_phys),
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

static void progress(void *user, uint64_t done, uint64_t total)
{
    ms_plugin_progress(user, done, total);
}

static ms_status run(ms_plugin_context *ctx)
{
    ms_kernel *kernel;
    ms_status st = ms_plugin_kernel(ctx, &kernel);
    if (st != MS_OK)
        return st;
    ms_net_options opts;
    ms_net_options_init(&opts);
    int64_t threads;
    if (ms_plugin_int(ctx, "threads", &threads) == MS_OK) {
        if (threads < 1 || threads > 64)
            return ms_fail(MS_ERR_ARG, "--threads: expected 1 to 64, found %lld", (long long)threads);
        opts.threads = (unsigned)threads;
    }
    opts.progress = progress;
    opts.progress_user = ctx;
    sockscan_state s = {ctx, ms_plugin_flag(ctx, "plausible-only"), MS_OK};
    st = ms_net_xp_sockscan(kernel, &opts, emit, &s);
    return st != MS_OK ? st : s.status;
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

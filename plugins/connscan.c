/* connscan: XP / Server 2003 TCP connections (_TCPT_OBJECT) found by their
 * pool tag TCPT in physical memory. */
#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look like an overwritten freed block"},
    {"threads", MS_OPT_INT, "N", "scanning threads (default: one per CPU)"},
};

static const ms_column columns[] = {
    {"Offset(P)", MS_VT_ADDR, 18}, {"LocalAddr", MS_VT_STR, 15}, {"LocalPort", MS_VT_UINT, 9},
    {"ForeignAddr", MS_VT_STR, 15}, {"ForeignPort", MS_VT_UINT, 11}, {"PID", MS_VT_UINT, 10},
    {"Owner", MS_VT_STR, 15},      {"Plausible", MS_VT_BOOL, 9},
};

typedef struct connscan_state {
    ms_plugin_context *ctx;
    int plausible_only;
    ms_status status;
} connscan_state;

static int emit(const ms_net_endpoint *e, void *user)
{
    connscan_state *s = user;
    if (s->plausible_only && !e->plausible)
        return 0;
    ms_value row[] = {
        ms_val_uint(e->offset_phys),
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
    connscan_state s = {ctx, ms_plugin_flag(ctx, "plausible-only"), MS_OK};
    st = ms_net_xp_connscan(kernel, &opts, emit, &s);
    return st != MS_OK ? st : s.status;
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

/* netstat: network endpoints that tcpip.sys's tables still lead to. */
#include <string.h>
#include <strings.h>

#include "memsift/memsift.h"
#include "memsift/net.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"pid", MS_OPT_INT, "PID", "show only endpoints owned by this process"},
    {"proto", MS_OPT_STRING, "PROTO", "show only TCPv4, TCPv6, UDPv4 or UDPv6 (TCP or UDP: both versions)"},
    {"state", MS_OPT_STRING, "STATE", "show only TCP endpoints in this state (ESTABLISHED, TIME_WAIT, ...)"},
    {"listening", MS_OPT_FLAG, NULL, "show only listeners"},
    {"established", MS_OPT_FLAG, NULL, "show only established connections"},
};

static const ms_column columns[] = {
    {"Offset", MS_VT_ADDR, 18},     {"Proto", MS_VT_STR, 5},      {"LocalAddr", MS_VT_STR, 25},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 25}, {"ForeignPort", MS_VT_UINT, 11},
    {"State", MS_VT_STR, 11},       {"PID", MS_VT_UINT, 6},       {"Owner", MS_VT_STR, 15},
    {"Created", MS_VT_TIME, 23},    {"OffsetPhys", MS_VT_ADDR, 12},
};

typedef struct netstat_state {
    ms_plugin_context *ctx;
    int by_pid;
    int64_t pid;
    const char *proto, *state;
    int listening, established;
    ms_status status;
} netstat_state;

static int wanted(const netstat_state *f, const ms_net_endpoint *e)
{
    if (f->by_pid && (!e->has_pid || e->pid != (uint64_t)f->pid))
        return 0;
    const char *proto = ms_net_proto_name(e);
    if (f->proto && strcasecmp(f->proto, proto) != 0 && strncasecmp(f->proto, proto, strlen(f->proto)) != 0)
        return 0;
    if (f->state && strcasecmp(f->state, e->state) != 0)
        return 0;
    if (f->listening && strcmp(e->state, "LISTENING") != 0)
        return 0;
    return !f->established || strcmp(e->state, "ESTABLISHED") == 0;
}

static int emit(const ms_net_endpoint *e, void *user)
{
    netstat_state *s = user;
    if (!wanted(s, e))
        return 0;
    int is_udp = e->protocol == 17 && e->kind != MS_NET_XP_CONNECTION;
    ms_value row[] = {
        e->offset ? ms_val_uint(e->offset) : ms_val_null(),
        ms_val_str(ms_net_proto_name(e)),
        ms_val_str(e->local_addr[0] ? e->local_addr : NULL),
        ms_val_uint(e->local_port),
        ms_val_str(e->foreign_addr[0] ? e->foreign_addr : is_udp ? "*" : NULL),
        ms_val_uint(e->foreign_port),
        ms_val_str(e->state),
        e->has_pid ? ms_val_uint(e->pid) : ms_val_null(),
        ms_val_str(e->owner[0] ? e->owner : NULL),
        ms_val_time(e->created),
        e->offset_phys ? ms_val_uint(e->offset_phys) : ms_val_null(),
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
    netstat_state s;
    memset(&s, 0, sizeof s);
    s.ctx = ctx;
    s.by_pid = ms_plugin_int(ctx, "pid", &s.pid) == MS_OK;
    s.proto = ms_plugin_string(ctx, "proto");
    s.state = ms_plugin_string(ctx, "state");
    s.listening = ms_plugin_flag(ctx, "listening");
    s.established = ms_plugin_flag(ctx, "established");
    if (s.proto && strncasecmp(s.proto, "TCP", 3) != 0 && strncasecmp(s.proto, "UDP", 3) != 0 &&
        strncasecmp(s.proto, "RAW", 3) != 0)
        return ms_fail(MS_ERR_ARG, "--proto: expected TCP, UDP, TCPv4, TCPv6, UDPv4 or UDPv6, found '%s'", s.proto);
    ms_kernel *kernel;
    ms_status st = ms_plugin_kernel(ctx, &kernel);
    if (st != MS_OK)
        return st;
    ms_net_options opts;
    ms_net_options_init(&opts);
    opts.progress = progress;
    opts.progress_user = ctx;
    if (ms_kernel_get_info(kernel)->build < 6000) {
        st = ms_net_xp_connections(kernel, &opts, emit, &s);
        if (st == MS_OK && s.status == MS_OK)
            st = ms_net_xp_sockets(kernel, &opts, emit, &s);
        return st != MS_OK ? st : s.status;
    }
    st = ms_net_walk(kernel, &opts, emit, &s);
    if (st != MS_OK && s.status == MS_OK) {
        ms_plugin_log(ctx, MS_LOG_WARNING, "%s; falling back to a pool scan (rows may include closed endpoints)",
                      ms_last_error());
        st = ms_net_scan(kernel, &opts, emit, &s);
    }
    return st != MS_OK ? st : s.status;
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
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};

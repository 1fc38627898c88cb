#include "net_rows.h"

#include <string.h>
#include <strings.h>

const ms_option_spec ms_netrows_walk_options[1] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look implausible"},
};

const ms_option_spec ms_netrows_scan_options[2] = {
    {"plausible-only", MS_OPT_FLAG, NULL, "hide rows whose fields look like an overwritten freed block"},
    {"threads", MS_OPT_INT, "N", "scanning threads (default: one per CPU)"},
};

const ms_option_spec ms_netrows_endpoint_options[6] = {
    {"pid", MS_OPT_INT, "PID", "show only endpoints owned by this process"},
    {"proto", MS_OPT_STRING, "PROTO", "show only TCPv4, TCPv6, UDPv4 or UDPv6 (TCP or UDP: both versions)"},
    {"state", MS_OPT_STRING, "STATE", "show only TCP endpoints in this state (ESTABLISHED, TIME_WAIT, ...)"},
    {"listening", MS_OPT_FLAG, NULL, "show only listeners"},
    {"established", MS_OPT_FLAG, NULL, "show only established connections"},
    {"threads", MS_OPT_INT, "N", "scanning threads (default: one per CPU)"},
};

const ms_column ms_netrows_connections_columns[9] = {
    {"Offset(V)", MS_VT_ADDR, 18},  {"Offset(P)", MS_VT_ADDR, 18},   {"LocalAddr", MS_VT_STR, 15},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 15}, {"ForeignPort", MS_VT_UINT, 11},
    {"PID", MS_VT_UINT, 10},        {"Owner", MS_VT_STR, 15},        {"Plausible", MS_VT_BOOL, 9},
};

const ms_column ms_netrows_connscan_columns[8] = {
    {"Offset(P)", MS_VT_ADDR, 18}, {"LocalAddr", MS_VT_STR, 15}, {"LocalPort", MS_VT_UINT, 9},
    {"ForeignAddr", MS_VT_STR, 15}, {"ForeignPort", MS_VT_UINT, 11}, {"PID", MS_VT_UINT, 10},
    {"Owner", MS_VT_STR, 15},      {"Plausible", MS_VT_BOOL, 9},
};

/* sockets' PID column is narrower than sockscan's. */
const ms_column ms_netrows_sockets_columns[12] = {
    {"Offset(V)", MS_VT_ADDR, 18}, {"Offset(P)", MS_VT_ADDR, 18},  {"PID", MS_VT_UINT, 6},
    {"Port", MS_VT_UINT, 5},       {"Proto", MS_VT_UINT, 5},       {"Protocol", MS_VT_STR, 9},
    {"Address", MS_VT_STR, 15},    {"Create Time", MS_VT_TIME, 23}, {"Owner", MS_VT_STR, 15},
    {"Role", MS_VT_STR, 10},       {"Peer", MS_VT_STR, 21},        {"Plausible", MS_VT_BOOL, 9},
};

const ms_column ms_netrows_sockscan_columns[11] = {
    {"Offset(P)", MS_VT_ADDR, 18}, {"PID", MS_VT_UINT, 10},      {"Port", MS_VT_UINT, 5},
    {"Proto", MS_VT_UINT, 5},      {"Protocol", MS_VT_STR, 9},   {"Address", MS_VT_STR, 15},
    {"Create Time", MS_VT_TIME, 23}, {"Owner", MS_VT_STR, 15},   {"Role", MS_VT_STR, 10},
    {"Peer", MS_VT_STR, 21},       {"Plausible", MS_VT_BOOL, 9},
};

const ms_column ms_netrows_netstat_columns[11] = {
    {"Offset", MS_VT_ADDR, 18},     {"Proto", MS_VT_STR, 5},      {"LocalAddr", MS_VT_STR, 25},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 25}, {"ForeignPort", MS_VT_UINT, 11},
    {"State", MS_VT_STR, 11},       {"PID", MS_VT_UINT, 6},       {"Owner", MS_VT_STR, 15},
    {"Created", MS_VT_TIME, 23},    {"OffsetPhys", MS_VT_ADDR, 12},
};

const ms_column ms_netrows_netscan_columns[12] = {
    {"Offset", MS_VT_ADDR, 18},     {"Proto", MS_VT_STR, 5},      {"LocalAddr", MS_VT_STR, 25},
    {"LocalPort", MS_VT_UINT, 9},   {"ForeignAddr", MS_VT_STR, 25}, {"ForeignPort", MS_VT_UINT, 11},
    {"State", MS_VT_STR, 11},       {"PID", MS_VT_UINT, 6},       {"Owner", MS_VT_STR, 15},
    {"Created", MS_VT_TIME, 23},    {"Source", MS_VT_STR, 6},     {"OffsetPhys", MS_VT_ADDR, 12},
};

static ms_status check_proto(ms_netrows_set set, const char *proto)
{
    static const char *const names[] = {"TCP", "UDP", "RAW", "TCPv4", "TCPv6", "UDPv4", "UDPv6", "RAWv4", "RAWv6"};
    int prefix = set == MS_NETROWS_NETSTAT;
    size_t n = prefix ? 3 : sizeof names / sizeof names[0];
    for (size_t i = 0; i < n; i++)
        if (prefix ? strncasecmp(proto, names[i], 3) == 0 : strcasecmp(proto, names[i]) == 0)
            return MS_OK;
    return ms_fail(MS_ERR_ARG, "--proto: expected TCP, UDP, TCPv4, TCPv6, UDPv4 or UDPv6, found '%s'", proto);
}

static ms_status read_filter(ms_netrows *rows, ms_plugin_context *ctx, ms_netrows_set set)
{
    memset(rows, 0, sizeof *rows);
    rows->ctx = ctx;
    rows->set = set;
    rows->status = MS_OK;
    ms_netrows_filter *f = &rows->filter;
    /* ms_plugin_int records an error for a missing option: ask only when one was given. */
    f->by_pid = ms_plugin_string(ctx, "pid") != NULL && ms_plugin_int(ctx, "pid", &f->pid) == MS_OK;
    f->proto = ms_plugin_string(ctx, "proto");
    f->state = ms_plugin_string(ctx, "state");
    f->listening = ms_plugin_flag(ctx, "listening");
    f->established = ms_plugin_flag(ctx, "established");
    f->plausible_only = ms_plugin_flag(ctx, "plausible-only");
    return f->proto != NULL ? check_proto(set, f->proto) : MS_OK;
}

static void progress(void *user, uint64_t done, uint64_t total)
{
    ms_plugin_progress(user, done, total);
}

static ms_status net_options(ms_plugin_context *ctx, ms_net_options *opts)
{
    ms_net_options_init(opts);
    int64_t threads;
    if (ms_plugin_string(ctx, "threads") != NULL && ms_plugin_int(ctx, "threads", &threads) == MS_OK) {
        if (threads < 1 || threads > 64)
            return ms_fail(MS_ERR_ARG, "--threads: expected 1 to 64, found %lld", (long long)threads);
        opts->threads = (unsigned)threads;
    }
    opts->progress = progress;
    opts->progress_user = ctx;
    return MS_OK;
}

ms_status ms_netrows_begin(ms_netrows *rows, ms_plugin_context *ctx, ms_netrows_set set, ms_kernel **kernel,
                           ms_net_options *opts)
{
    ms_status st = read_filter(rows, ctx, set);
    if (st == MS_OK)
        st = ms_plugin_kernel(ctx, kernel);
    return st != MS_OK ? st : net_options(ctx, opts);
}

static int wanted(const ms_netrows_filter *f, const ms_net_endpoint *e)
{
    if (f->plausible_only && !e->plausible)
        return 0;
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

static ms_value str_or_null(const char *s)
{
    return ms_val_str(s[0] ? s : NULL);
}

static ms_value pid_value(const ms_net_endpoint *e)
{
    return e->has_pid ? ms_val_uint(e->pid) : ms_val_null();
}

static ms_value phys_or_null(const ms_net_endpoint *e)
{
    return e->offset_phys ? ms_val_uint(e->offset_phys) : ms_val_null();
}

/* A walk's rows start with Offset(V) and Offset(P), a scan's with Offset(P). */
static size_t put_offsets(ms_value *row, const ms_net_endpoint *e, int walked)
{
    if (!walked) {
        row[0] = ms_val_uint(e->offset_phys);
        return 1;
    }
    row[0] = ms_val_uint(e->offset);
    row[1] = phys_or_null(e);
    return 2;
}

static void connection_row(ms_value *row, const ms_net_endpoint *e, int walked)
{
    size_t n = put_offsets(row, e, walked);
    row[n++] = ms_val_str(e->local_addr);
    row[n++] = ms_val_uint(e->local_port);
    row[n++] = ms_val_str(e->foreign_addr);
    row[n++] = ms_val_uint(e->foreign_port);
    row[n++] = pid_value(e);
    row[n++] = str_or_null(e->owner);
    row[n] = ms_val_bool(e->plausible);
}

static void socket_row(ms_value *row, const ms_net_endpoint *e, int walked)
{
    size_t n = put_offsets(row, e, walked);
    row[n++] = pid_value(e);
    row[n++] = ms_val_uint(e->local_port);
    row[n++] = ms_val_uint(e->protocol);
    row[n++] = ms_val_str(ms_net_protocol_name(e->protocol));
    row[n++] = ms_val_str(e->local_addr);
    row[n++] = ms_val_time(e->created);
    row[n++] = str_or_null(e->owner);
    row[n++] = str_or_null(e->role);
    row[n++] = str_or_null(e->role_peer);
    row[n] = ms_val_bool(e->plausible);
}

static const char *source_name(const ms_net_endpoint *e)
{
    unsigned both = MS_NET_FROM_WALK | MS_NET_FROM_SCAN;
    return (e->sources & both) == both ? "both" : (e->sources & MS_NET_FROM_WALK) ? "walk" : "scan";
}

static void endpoint_row(ms_value *row, const ms_net_endpoint *e, int with_source)
{
    int is_udp = e->protocol == 17 && e->kind != MS_NET_XP_CONNECTION;
    size_t n = 0;
    row[n++] = e->offset ? ms_val_uint(e->offset) : ms_val_null();
    row[n++] = ms_val_str(ms_net_proto_name(e));
    row[n++] = str_or_null(e->local_addr);
    row[n++] = ms_val_uint(e->local_port);
    row[n++] = ms_val_str(e->foreign_addr[0] ? e->foreign_addr : is_udp ? "*" : NULL);
    row[n++] = ms_val_uint(e->foreign_port);
    row[n++] = ms_val_str(e->state);
    row[n++] = pid_value(e);
    row[n++] = str_or_null(e->owner);
    row[n++] = ms_val_time(e->created);
    if (with_source)
        row[n++] = ms_val_str(source_name(e));
    row[n] = phys_or_null(e);
}

ms_status ms_netrows_put(ms_netrows *rows, const ms_net_endpoint *e)
{
    if (!wanted(&rows->filter, e))
        return MS_OK;
    ms_value row[12];
    switch (rows->set) {
    case MS_NETROWS_CONNECTIONS:
    case MS_NETROWS_CONNSCAN:
        connection_row(row, e, rows->set == MS_NETROWS_CONNECTIONS);
        break;
    case MS_NETROWS_SOCKETS:
    case MS_NETROWS_SOCKSCAN:
        socket_row(row, e, rows->set == MS_NETROWS_SOCKETS);
        break;
    case MS_NETROWS_NETSTAT:
    case MS_NETROWS_NETSCAN:
        endpoint_row(row, e, rows->set == MS_NETROWS_NETSCAN);
        break;
    default:
        return ms_fail(MS_ERR_ARG, "expected a network column set, found %d", (int)rows->set);
    }
    return ms_plugin_emit(rows->ctx, row);
}

int ms_netrows_emit(const ms_net_endpoint *e, void *user)
{
    ms_netrows *rows = user;
    rows->status = ms_netrows_put(rows, e);
    return rows->status != MS_OK;
}

ms_status ms_netrows_run(ms_plugin_context *ctx, ms_netrows_set set, ms_netrows_list_fn list)
{
    ms_netrows rows;
    ms_kernel *kernel;
    ms_net_options opts;
    ms_status st = ms_netrows_begin(&rows, ctx, set, &kernel, &opts);
    if (st == MS_OK)
        st = list(kernel, &opts, ms_netrows_emit, &rows);
    return st != MS_OK ? st : rows.status;
}

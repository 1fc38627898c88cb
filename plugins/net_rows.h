/* What the network plugins share: their options, their filters, their
 * column sets and the rows that fill them, from ms_net_endpoint. */
#ifndef MEMSIFT_PLUGINS_NET_ROWS_H
#define MEMSIFT_PLUGINS_NET_ROWS_H

#include <stdint.h>

#include "memsift/memsift.h"
#include "memsift/net.h"

/* A table and its length, as an ms_plugin initializer wants them. */
#define MS_NETROWS_TABLE(t) t, sizeof t / sizeof t[0]

extern const ms_option_spec ms_netrows_walk_options[1];      /* --plausible-only */
extern const ms_option_spec ms_netrows_scan_options[2];      /* --plausible-only, --threads */
/* --pid, --proto, --state, --listening, --established, --threads: netstat
 * declares the first MS_NETROWS_FILTER_OPTIONS, netscan all. */
extern const ms_option_spec ms_netrows_endpoint_options[6];
#define MS_NETROWS_FILTER_OPTIONS 5

typedef enum ms_netrows_set {
    MS_NETROWS_CONNECTIONS,  /* XP connections: Offset(V), Offset(P), addresses, ports, PID, Owner, Plausible */
    MS_NETROWS_CONNSCAN,     /* the same without Offset(V) */
    MS_NETROWS_SOCKETS,      /* XP address objects: Offset(V), Offset(P), PID, Port, Proto, ..., Role, Peer */
    MS_NETROWS_SOCKSCAN,     /* the same without Offset(V) */
    MS_NETROWS_NETSTAT,      /* any endpoint: Offset, Proto, ..., State, PID, Owner, Created, OffsetPhys */
    MS_NETROWS_NETSCAN       /* netstat's with Source before OffsetPhys */
} ms_netrows_set;

/* Each set's columns, in the order its rows fill them.  A size here larger
 * than net_rows.c's initializer would add a zeroed column: test_net_rows
 * checks. */
extern const ms_column ms_netrows_connections_columns[9];
extern const ms_column ms_netrows_connscan_columns[8];
extern const ms_column ms_netrows_sockets_columns[12];
extern const ms_column ms_netrows_sockscan_columns[11];
extern const ms_column ms_netrows_netstat_columns[11];
extern const ms_column ms_netrows_netscan_columns[12];

typedef struct ms_netrows_filter {
    int by_pid;
    int64_t pid;
    const char *proto, *state;
    int listening, established, plausible_only;
} ms_netrows_filter;

typedef struct ms_netrows {
    ms_plugin_context *ctx;
    ms_netrows_set set;
    ms_netrows_filter filter;
    ms_status status;          /* the first failure of ms_netrows_emit */
} ms_netrows;

/* Begin a plugin's run: the filter from the options it was given, then the
 * kernel, then the library's options (--threads when given, progress
 * through the host).  --proto must be one of the names netscan's help
 * lists; netstat takes any name beginning TCP, UDP or RAW (which then may
 * match nothing). */
ms_status ms_netrows_begin(ms_netrows *rows, ms_plugin_context *ctx, ms_netrows_set set, ms_kernel **kernel,
                           ms_net_options *opts);

/* Emit `e` as a row of the set unless the filter hides it. */
ms_status ms_netrows_put(ms_netrows *rows, const ms_net_endpoint *e);

/* ms_net_fn: ms_netrows_put into rows->status; stops at the first failure. */
int ms_netrows_emit(const ms_net_endpoint *e, void *rows);

typedef ms_status (*ms_netrows_list_fn)(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);

/* A plugin that is one library call: ms_netrows_begin, then every row
 * `list` reports. */
ms_status ms_netrows_run(ms_plugin_context *ctx, ms_netrows_set set, ms_netrows_list_fn list);

#endif

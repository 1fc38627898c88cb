/* memsift: network endpoints - connections, listeners and UDP endpoints -
 * recovered from tcpip.sys's tables (a walk) or from pool allocations (a
 * scan), with the process that owned each.
 *
 * Vista and later: TCP endpoints (TcpE), listeners (TcpL), UDP endpoints
 * (UdpA), TIME_WAIT and SYN endpoints.  XP and Server 2003: TCP connection
 * objects (TCPT) and address objects (TCPA).  One row type serves both, so
 * that one command works on every Windows version.
 */
#ifndef MEMSIFT_NET_H
#define MEMSIFT_NET_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/kernel.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ms_net_kind {
    MS_NET_TCP_ENDPOINT = 1,   /* Vista+: a TCB (TcpE), or a TIME_WAIT / SYN endpoint */
    MS_NET_TCP_LISTENER,       /* Vista+: TcpL */
    MS_NET_UDP_ENDPOINT,       /* Vista+: UdpA */
    MS_NET_XP_CONNECTION,      /* XP/2003: _TCPT_OBJECT */
    MS_NET_XP_ADDRESS          /* XP/2003: _ADDRESS_OBJECT (a socket) */
} ms_net_kind;

/* Where a row came from (bits of ms_net_endpoint.sources). */
#define MS_NET_FROM_WALK 0x1u
#define MS_NET_FROM_SCAN 0x2u

typedef struct ms_net_endpoint {
    ms_net_kind kind;
    uint64_t offset;           /* kernel virtual address of the object; 0 when reached only physically */
    uint64_t offset_phys;      /* physical address of the object; 0 when not translatable */
    char tag[5];               /* pool tag of the object's block, "" when unknown */
    unsigned family;           /* 4 or 6 */
    unsigned protocol;         /* IP protocol number: 6 TCP, 17 UDP, others for XP raw sockets */
    char local_addr[46];       /* textual IPv4/IPv6 ("0.0.0.0", "::") */
    uint16_t local_port;
    char foreign_addr[46];     /* "*" for UDP and listeners' unused side where Volatility prints it */
    uint16_t foreign_port;
    char state[16];            /* "ESTABLISHED", "LISTENING", ... ; "" for UDP and XP objects */
    int has_pid;               /* 0 when the owner could not be read */
    uint64_t pid;
    char owner[16];            /* ImageFileName of the owner, "" when unknown */
    uint64_t created;          /* FILETIME, 0 when the object has no creation time */
    unsigned sources;          /* MS_NET_FROM_* */
    int plausible;             /* 0: fields look like an overwritten freed block */
    /* XP/2003 address objects: "listener", or "connection" when a connection of
     * the same process uses the local port; role_peer then names its remote end. */
    char role[12];
    char role_peer[64];
} ms_net_endpoint;

/* Return non-zero to stop. */
typedef int (*ms_net_fn)(const ms_net_endpoint *endpoint, void *user);
typedef void (*ms_net_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct ms_net_options {
    unsigned threads;                 /* scans: 0 = one per CPU */
    ms_net_progress_fn progress;      /* scans: bytes done of total; may be NULL */
    void *progress_user;
} ms_net_options;

void ms_net_options_init(ms_net_options *opts);

/* ---- Windows Vista and later ---- */

/* Walk tcpip.sys's partition hash tables and port pools.  tcpip's globals
 * come from the symbol index, else code analysis, else a structural scan of
 * its data section; what was used is logged through the kernel's log. */
ms_status ms_net_walk(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);

/* Scan physical memory for the endpoint pool tags. */
ms_status ms_net_scan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);

/* ---- Windows XP and Server 2003 ---- */

/* Walk tcpip.sys's TCB table (connections) or address-object table (sockets). */
ms_status ms_net_xp_connections(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);
ms_status ms_net_xp_sockets(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);

/* Scan physical memory for TCPT (connections) or TCPA (address objects). */
ms_status ms_net_xp_connscan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);
ms_status ms_net_xp_sockscan(ms_kernel *kernel, const ms_net_options *opts, ms_net_fn fn, void *user);

/* ---- shared helpers ---- */

/* "TCPv4", "TCPv6", "UDPv4", "UDPv6"; "RAWv4"/"RAWv6" for other protocols
 * (XP raw sockets: the number and ms_net_protocol_name say which). */
const char *ms_net_proto_name(const ms_net_endpoint *endpoint);
/* Name of an IP protocol number ("TCP", "UDP", "ICMP", "GRE", ...), or NULL. */
const char *ms_net_protocol_name(unsigned protocol);

#ifdef __cplusplus
}
#endif
#endif

/* XP and Server 2003 network objects: shared declarations of src/net/xp_*.c.
 *
 * _TCPT_OBJECT (pool tag TCPT) is a TCP connection, _ADDRESS_OBJECT (TCPA)
 * a socket's address object.  Their layouts and tcpip.sys's table globals
 * come from the tcpip profiles (profiles/tcpip/xp-x86.prof, 2003*.prof). */
#ifndef MS_NET_XP_NET_H
#define MS_NET_XP_NET_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/kernel.h"
#include "memsift/net.h"
#include "memsift/scan.h"

/* Field offsets of one profile.  Addresses are 4 bytes in network order,
 * ports big-endian. */
typedef struct ms_xp_layout {
    const ms_profile *profile;
    unsigned ptr;                /* 4 or 8 */
    ms_pool_layout pool;
    unsigned hdr;                /* pool header bytes */
    uint32_t t_size;             /* _TCPT_OBJECT bytes decoded (up to its last field) */
    uint32_t t_next, t_raddr, t_laddr, t_rport, t_lport, t_pid;
    uint32_t a_size;             /* _ADDRESS_OBJECT bytes decoded */
    uint32_t a_next, a_laddr, a_lport, a_proto, a_pid, a_ctime;
} ms_xp_layout;

ms_status ms_xp_layout_from_profile(const ms_profile *p, ms_xp_layout *out);

/* Decode an object from `obj` (t_size / a_size bytes).  Fills kind, family,
 * protocol, addresses, ports, pid, created and plausible; the caller adds
 * offsets, tag, owner, sources and role.  `now` is the image's system time
 * (FILETIME, 0 if unknown), the latest plausible CreateTime. */
void ms_xp_decode_connection(const ms_xp_layout *l, const uint8_t *obj, ms_net_endpoint *out);
void ms_xp_decode_socket(const ms_xp_layout *l, const uint8_t *obj, uint64_t now, ms_net_endpoint *out);

/* The plausibility rules (see docs/usage.md, "XP and Server 2003"). */
int ms_xp_pid_plausible(uint64_t pid);
int ms_xp_connection_plausible(const uint8_t laddr[4], uint16_t lport, const uint8_t raddr[4], uint16_t rport,
                               uint64_t pid);
int ms_xp_socket_plausible(const uint8_t laddr[4], uint16_t lport, unsigned protocol, uint64_t pid,
                           uint64_t created, uint64_t now);

/* PID -> ImageFileName of the listed processes. */
typedef struct ms_xp_owner {
    uint64_t pid;
    char name[16];
} ms_xp_owner;

typedef struct ms_xp_owners {
    ms_xp_owner *items;
    size_t count;
} ms_xp_owners;

ms_status ms_xp_owners_load(ms_kernel *kernel, ms_xp_owners *out);
const char *ms_xp_owner_name(const ms_xp_owners *owners, uint64_t pid);
void ms_xp_owners_free(ms_xp_owners *owners);

/* Connections a socket's role is decided against. */
typedef struct ms_xp_conn {
    uint64_t pid;
    char local_addr[16], foreign_addr[16];
    uint16_t local_port, foreign_port;
} ms_xp_conn;

typedef struct ms_xp_conns {
    ms_xp_conn *items;
    size_t count, cap;
    size_t dropped;              /* not kept: the cap was reached */
} ms_xp_conns;

#define MS_XP_MAX_ROLE_CONNS (1u << 18)

/* Keep a plausible connection (others are ignored). */
ms_status ms_xp_conns_add(ms_xp_conns *conns, const ms_net_endpoint *conn);
void ms_xp_conns_free(ms_xp_conns *conns);
/* Set role and role_peer of a socket row ("" for implausible rows). */
void ms_xp_role(const ms_xp_conns *conns, ms_net_endpoint *sock);

/* What every XP entry point needs: the kernel, the layouts that may apply,
 * tcpip.sys, the owners. */
#define MS_XP_MAX_PROFILES 8

typedef struct ms_xp_ctx {
    ms_kernel *kernel;
    ms_vspace *vs;
    uint64_t now;
    size_t nlayouts;
    ms_xp_layout layouts[MS_XP_MAX_PROFILES];  /* best first */
    int have_module;
    ms_module tcpip;
    int revision;                /* tcpip.sys FileVersion revision, -1 if unknown */
    ms_xp_owners owners;
} ms_xp_ctx;

ms_status ms_xp_ctx_open(ms_kernel *kernel, ms_xp_ctx *ctx);
void ms_xp_ctx_close(ms_xp_ctx *ctx);

/* Fill the parts of a row common to every source. */
void ms_xp_finish_row(const ms_xp_ctx *ctx, const char tag[4], ms_net_endpoint *row);

/* ---- tcpip.sys's tables ---- */

typedef enum ms_xp_table_kind { MS_XP_TCB = 0, MS_XP_ADDROBJ = 1 } ms_xp_table_kind;

typedef struct ms_xp_table {
    uint64_t array;              /* VA of the bucket array */
    uint32_t count;              /* buckets */
    size_t layout;               /* index in ctx->layouts */
    char how[96];                /* how it was found, for the log */
} ms_xp_table;

/* Bucket counts accepted (MaxHashTableSize is at most 0x10000 on XP). */
#define MS_XP_MAX_BUCKETS 0x10000u
/* Objects followed along one chain, and in a whole table. */
#define MS_XP_MAX_CHAIN 4096u
#define MS_XP_MAX_OBJECTS 1000000u

/* Locate a table: candidate sets of the profiles, then code analysis of
 * tcpip.sys (xp_code.h), then a structural search of its image.
 * MS_ERR_NOT_FOUND with the reason otherwise. */
ms_status ms_xp_find_table(ms_xp_ctx *ctx, ms_xp_table_kind kind, ms_xp_table *out);

/* Score a table: -1 when a slot is not a pointer or an object is
 * unreadable, else the number of objects carrying the kind's pool tag
 * (objects without it count against: -1 when they are the majority). */
int ms_xp_table_score(ms_xp_ctx *ctx, const ms_xp_layout *l, ms_xp_table_kind kind, uint64_t array,
                      uint32_t count);

/* Whether `va` can be a kernel pool address for this pointer size. */
int ms_xp_kernel_pointer(unsigned ptr, uint64_t va);

/* The pool tag of the block an object starts right after, or 0. */
uint32_t ms_xp_object_tag(ms_vspace *vs, const ms_xp_layout *l, uint64_t object);

/* The scan, both tags in one pass; rows in ascending physical order. */
typedef int (*ms_xp_hit_fn)(ms_net_endpoint *row, void *user);
ms_status ms_xp_scan(ms_xp_ctx *ctx, const ms_net_options *opts, int want_conns, int want_socks, ms_xp_hit_fn fn,
                     void *user);

#endif

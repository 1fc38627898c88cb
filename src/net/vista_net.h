/* Vista and later network objects: shared declarations of src/net/vista_*.c
 * and src/net/tcpip_*.c.
 *
 * tcpip.sys keeps TCBs (TcpE/TTcb), TIME_WAIT (TcTW) and SYN_RCVD (TcSR)
 * endpoints in the RTL_DYNAMIC_HASH_TABLEs of its partitions, and
 * listeners (TcpL) and UDP endpoints (UdpA) in the port pools.  Layouts
 * come from the tcpip profiles; where no published layout exists
 * (TIME_WAIT and SYN objects from Windows 10 on) fixed facts are used. */
#ifndef MS_NET_VISTA_NET_H
#define MS_NET_VISTA_NET_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/kernel.h"
#include "memsift/net.h"
#include "memsift/scan.h"

typedef enum ms_vista_kind {
    MS_VK_TCB = 0,     /* _TCP_ENDPOINT */
    MS_VK_TIMEWAIT,    /* _TCP_TIMEWAIT_ENDPOINT */
    MS_VK_SYN,         /* _TCP_SYN_ENDPOINT */
    MS_VK_LISTENER,    /* _TCP_LISTENER */
    MS_VK_UDP,         /* _UDP_ENDPOINT */
    MS_VK_COUNT
} ms_vista_kind;

/* Field offsets of one object kind; -1 where the layout has none. */
typedef struct ms_vista_obj {
    int present;
    int64_t list, af, addrinfo, state, lport, rport, owner, ctime, laddr, raddr, port, next;
    int inline_remote;           /* the remote address bytes are in the object */
    uint32_t size;               /* bytes decoded: the end of the last field */
    char tags[2][5];             /* pool tags Windows gives it ("" unused) */
} ms_vista_obj;

typedef struct ms_vista_layout {
    const ms_profile *profile;
    unsigned ptr;                /* 4 or 8 */
    ms_pool_layout pool;
    unsigned hdr;                /* pool header bytes */
    int64_t inetaf_af;           /* _INETAF.AddressFamily */
    int64_t ai_local, ai_remote; /* _ADDRINFO */
    int64_t local_pdata;         /* _LOCAL_ADDRESS.pData */
    int udp_local_direct;        /* _LOCAL_ADDRESS_WIN10_UDP: UdpA's LocalAddr->pData is the address */
    int64_t udp_local_pdata;
    int64_t syn_process;         /* _SYN_OWNER.Process */
    uint32_t part_size;          /* _PARTITION */
    int64_t part_endpoints, part_unknown;
    int64_t pp_assign;           /* _INET_PORT_POOL.PortAssignments */
    int64_t pa_base;             /* _PORT_ASSIGNMENT.InPaBigPoolBase */
    uint32_t pae_size;           /* _PORT_ASSIGNMENT_ENTRY */
    int64_t pae_entry;
    int64_t cs_inet, ic_proto, pc_pool; /* compartment set -> compartment -> protocol compartment -> pool */
    /* nt!_RTL_DYNAMIC_HASH_TABLE */
    uint32_t ht_size;
    int64_t ht_table_size, ht_directory, ht_num_entries;
    ms_vista_obj obj[MS_VK_COUNT];
} ms_vista_layout;

/* Fill `out` from a tcpip profile (and the kernel profile for the hash
 * table); `build` chooses the fixed facts for what the profile lacks. */
ms_status ms_vista_layout_from_profile(const ms_profile *tcpip, const ms_profile *nt, uint32_t build,
                                       ms_vista_layout *out);

typedef struct ms_vista_owner_slot {
    uint64_t eprocess;
    int ok;
    uint64_t pid;
    char name[16];
} ms_vista_owner_slot;

#define MS_VISTA_OWNER_SLOTS 4096u

typedef struct ms_vista_ctx {
    ms_kernel *kernel;
    ms_vspace *vs;
    const ms_kernel_info *info;
    ms_vista_layout L;
    char profile_name[64];
    int have_module;
    ms_module tcpip;
    int revision;                /* tcpip.sys FileVersion revision, -1 if unknown */
    ms_vista_owner_slot *owners; /* open-addressing cache of EPROCESS reads */
} ms_vista_ctx;

/* Choose the layout and find tcpip.sys (a missing module is logged, not an
 * error: the scan does not need it). */
ms_status ms_vista_ctx_open(ms_kernel *kernel, ms_vista_ctx *ctx);
void ms_vista_ctx_close(ms_vista_ctx *ctx);

/* Whether `va` can be a kernel address for this pointer size. */
int ms_vista_kernel_ptr(unsigned ptr, uint64_t va);
/* Mask of the flag bits of tagged pointers (port pool links). */
uint64_t ms_vista_tag_mask(unsigned ptr);

/* The pool tag of the block whose header is `hdr` bytes before `va`, or 0. */
uint32_t ms_vista_tag_before(ms_vspace *vs, unsigned hdr, uint64_t va);
/* Whether the object at `obj` sits right after a pool header (or, on x64,
 * one header further on) carrying one of the kind's tags.  Fills `tag`. */
int ms_vista_object_tagged(ms_vista_ctx *ctx, ms_vista_kind kind, uint64_t obj, char tag[5]);

/* Decode an object held in `buf` (`len` bytes, at least obj.size).
 * Pointers are followed through the kernel's address space.  MS_OK when
 * the object passes the checks (address family, state, owner pointer);
 * MS_ERR_FORMAT with the reason otherwise.  The caller fills offsets,
 * tag and sources. */
ms_status ms_vista_decode(ms_vista_ctx *ctx, ms_vista_kind kind, const uint8_t *buf, size_t len,
                          ms_net_endpoint *out);

/* Text of an IPv4 (4 bytes) or IPv6 (16 bytes) address. */
void ms_vista_addr_text(int v6, const uint8_t *bytes, char *out, size_t size);
/* "ESTABLISHED", ... for a TCP state value; NULL when not a state. */
const char *ms_vista_state_name(uint32_t state);

/* ---- tcpip.sys's globals ---- */

typedef struct ms_tcpip_globals {
    uint64_t partition_table;    /* VA of the PartitionTable pointer, 0 if unknown */
    uint64_t partition_count;    /* VA of PartitionCount */
    unsigned count_width;        /* 2 or 4 */
    int compartments;            /* tcp/udp are compartment sets, else port pools */
    uint64_t tcp, udp;           /* VAs of the globals, 0 if unknown */
    int stride_unknown;          /* the profile gives no _PARTITION size */
    char partitions_how[160];
    char ports_how[160];
    char stride_how[96];
} ms_tcpip_globals;

/* Resolve the globals: symbol index, then code analysis, then a structural
 * scan of tcpip's data sections.  Every step is logged. */
ms_status ms_tcpip_resolve(ms_vista_ctx *ctx, ms_tcpip_globals *out);

/* Capstone analysis of tcpip's code for the compartment-set globals: the
 * globals loaded as a pointer and dereferenced at `inet_off`.  Candidate
 * RVAs are returned best first. */
ms_status ms_tcpip_find_compartment_sets(ms_vspace *vs, uint64_t base, uint64_t inet_off, uint32_t *rvas,
                                         size_t max, size_t *count);

/* ---- walking ---- */

/* Objects followed in all, and along one chain or bucket. */
#define MS_VISTA_MAX_OBJECTS (1u << 18)
#define MS_VISTA_MAX_CHAIN 100000u
#define MS_VISTA_MAX_PARTITIONS 256u
#define MS_VISTA_MAX_BUCKETS (1u << 22)

typedef int (*ms_vista_row_fn)(ms_net_endpoint *row, void *user);

/* Walk the partitions' hash tables / one port pool.  Rows get offset,
 * offset_phys, tag and sources.  `fn` may be NULL (counting only, for
 * validating candidates); *found counts the objects that passed. */
ms_status ms_vista_walk_partitions(ms_vista_ctx *ctx, uint64_t table, uint32_t count, ms_vista_row_fn fn,
                                   void *user, size_t *found);
ms_status ms_vista_walk_port_pool(ms_vista_ctx *ctx, uint64_t pool, ms_vista_row_fn fn, void *user,
                                  size_t *listeners, size_t *udp);

/* What one port-pool walk met.  An object's port should be its chain's
 * (PortAssignments index << 8 | assignment index): port_ok / port_bad. */
typedef struct ms_vista_pool_count {
    size_t listeners, udp, tcbs;
    size_t ranges;               /* InPA-tagged assignments followed */
    size_t port_ok, port_bad;
} ms_vista_pool_count;

/* The port-pool walk with PortAssignments at `assign` in the pool, over at
 * most `max_ranges` InPA assignments (0: all).  A chain also yields the
 * TCBs (bound, not yet connected) it holds, and goes on past them. */
ms_status ms_vista_walk_port_pool_at(ms_vista_ctx *ctx, uint64_t pool, int64_t assign, unsigned max_ranges,
                                     ms_vista_row_fn fn, void *user, ms_vista_pool_count *count);
/* The port pool a TCP/UDP global leads to (through the compartment set
 * when `compartments`), or 0. */
uint64_t ms_vista_port_pool(ms_vista_ctx *ctx, uint64_t global, int compartments);

/* ---- layout values the profile lacks, found at run time ---- */

/* _INET_PORT_POOL.PortAssignments of the pool at `pool`: 2 pointers after
 * an RTL_BITMAP of 0x10000 bits whose buffer lies in the pool, or where
 * the first pointer to an InPA block is (or up to 255 entries before it);
 * each candidate is kept only when walking a few assignments reaches
 * listeners or UDP endpoints on the ports their chains stand for.  `how`
 * says which evidence decided. */
ms_status ms_vista_find_port_assignments(ms_vista_ctx *ctx, uint64_t pool, int64_t *offset, char *how,
                                         size_t how_size);

/* sizeof(_PARTITION) for the `count` partitions at `table`: the smallest
 * stride at which every partition's first pointer leads to a TcHT block
 * and its Endpoints pointer to a hash table. */
ms_status ms_vista_measure_partition_size(ms_vista_ctx *ctx, uint64_t table, uint32_t count, uint32_t *size);

#endif

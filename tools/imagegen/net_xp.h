/* XP / Server 2003 tcpip.sys structures (net_xp*.c): shared declarations. */
#ifndef NET_XP_H
#define NET_XP_H

#include "ig.h"

#define XP_MAX_OBJS 64
#define XP_MAX_CANDS 48

/* The four tcpip.sys globals of one Volatility 2 address set
 * (volatility/win32/network.py module_versions_xp / _2003). */
enum { XP_TCB_TABLE = 0, XP_TCB_SIZE, XP_AO_TABLE, XP_AO_SIZE, XP_NGLOBALS };

typedef enum {
    XP_LIVE = 0,    /* allocated and linked from its table */
    XP_FREED,       /* pool block freed (PoolType 0), content intact */
    XP_LOOKASIDE,   /* freed to a lookaside list: header still allocated, unlinked */
    XP_GARBAGE,     /* freed block whose body was reused by something else */
} xp_state;

typedef struct xp_obj {
    int sock;                /* 0 = _TCPT_OBJECT, 1 = _ADDRESS_OBJECT */
    xp_state state;
    uint8_t laddr[4], raddr[4];  /* network order, as stored */
    uint16_t lport, rport;
    uint32_t pid;
    uint16_t proto;          /* sockets: IP protocol number */
    uint64_t ctime;          /* sockets: CreateTime FILETIME */
    int role_conn;           /* sockets: bound for an outgoing connection */
    int bucket;              /* -1: hashed */
    uint64_t va, pa;         /* object body (after the pool header) */
} xp_obj;

typedef struct xp_net {
    int x64;
    /* _TCPT_OBJECT and _ADDRESS_OBJECT field offsets (tcpip profile) */
    long t_next, t_raddr, t_laddr, t_rport, t_lport, t_pid;
    long a_next, a_laddr, a_lport, a_proto, a_pid, a_ctime;
    size_t t_body, a_body;   /* pool block body sizes */
    char set[16];            /* candidate set label */
    uint64_t rva[XP_NGLOBALS];
    uint64_t cand_rva[XP_MAX_CANDS]; /* every candidate slot of the profile */
    int ncand;
    uint16_t ver[4];         /* tcpip.sys FileVersion */
    uint32_t timestamp;
    const char *lab;         /* build lab suffix of the FileVersion string */
    uint64_t tcb_table, ao_table;
    uint32_t tcb_size, ao_size;
    uint8_t nic[4], server[4];
    xp_obj objs[XP_MAX_OBJS];
    int nobjs;
} xp_net;

/* net_xp_pe.c: FileVersion resource and timestamps of tcpip.sys. */
ig_status xp_tcpip_version(ig_ctx *c, const xp_net *n, ig_mod_truth *m);

/* net_xp_objs.c */
ig_status xp_objects_write(ig_ctx *c, xp_net *n);
ig_status xp_decoys_write(ig_ctx *c, const xp_net *n);
ig_status xp_truth_add(ig_ctx *c, const xp_net *n);

#endif

/* Network structures: tcpip.sys's tables and endpoints.  Vista and later
 * (partitions, hash tables, port pools) are built in net_vista*.c; XP and
 * 2003 (TCB and address-object tables, TCPT/TCPA objects) in net_xp*.c.
 * See README.md, "Internal API". */
#include "ig.h"

ig_status ig_network_build(ig_ctx *c)
{
    if (c->t->build < 6000)
        return ig_net_xp_build(c);
    return ig_net_vista_build(c);
}

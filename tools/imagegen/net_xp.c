/* XP/2003 tcpip structures (part 2). */
#include "ig.h"

ig_status ig_net_xp_build(ig_ctx *c)
{
    (void)c;
    return IG_OK;
}

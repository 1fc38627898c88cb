/* Vista+ tcpip structures (part 2). */
#include "ig.h"

ig_status ig_net_vista_build(ig_ctx *c)
{
    (void)c;
    return IG_OK;
}

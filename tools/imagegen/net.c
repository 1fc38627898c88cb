/* Network structures (tcpip.sys partitions, endpoints, port pools) are
 * added here by part 2 of the generator; see README.md, "Internal API". */
#include "ig.h"

ig_status ig_network_build(ig_ctx *c)
{
    (void)c;
    return IG_OK;
}

/* The tcpip symbol index: tcpip.pdb GUID/age -> RVAs of the globals the
 * network plugins need (profiles/tcpip/symbols.idx). */
#ifndef MS_SYMBOLS_TCPIP_INDEX_H
#define MS_SYMBOLS_TCPIP_INDEX_H

#include "memsift/profile.h"

typedef struct ms_tcpip_index {
    ms_tcpip_symbols *entries;
    size_t count;
    size_t capacity;
} ms_tcpip_index;

ms_status ms_tcpip_index_parse(ms_tcpip_index *index, const char *text, size_t len, const char *origin);
ms_status ms_tcpip_index_find(const ms_tcpip_index *index, const char *guid, uint32_t age, ms_tcpip_symbols *out);
void ms_tcpip_index_free(ms_tcpip_index *index);

#endif

/* Little-endian field access for the PE parser's own files. */
#ifndef MS_PE_UTIL_H
#define MS_PE_UTIL_H

#include <stdint.h>

#include "memsift/error.h"

static inline uint16_t ms_pe_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t ms_pe_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ms_pe_le64(const uint8_t *p)
{
    return (uint64_t)ms_pe_le32(p) | (uint64_t)ms_pe_le32(p + 4) << 32;
}

/* 1 when the paging layer, not the bytes, made a read fail. */
static inline int ms_pe_is_page_status(ms_status st)
{
    return st == MS_ERR_NOT_PRESENT || st == MS_ERR_PAGED_OUT;
}

#endif

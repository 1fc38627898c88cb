/* Open-addressing set of non-zero 64-bit keys. */
#ifndef MS_PAGING_TABLE_SET_H
#define MS_PAGING_TABLE_SET_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

typedef struct ms_table_set {
    uint64_t *slots;
    size_t capacity;
    size_t count;
} ms_table_set;

void ms_table_set_init(ms_table_set *set);
void ms_table_set_free(ms_table_set *set);
/* Add a non-zero key; *inserted is 0 when it was already there. */
ms_status ms_table_set_insert(ms_table_set *set, uint64_t key, int *inserted);

#endif

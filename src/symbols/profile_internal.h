/* The in-memory form of a parsed profile. */
#ifndef MS_SYMBOLS_PROFILE_INTERNAL_H
#define MS_SYMBOLS_PROFILE_INTERNAL_H

#include "memsift/profile.h"

typedef struct ms_profile_entry {
    const char *key1;     /* struct type, symbol name or constant name */
    const char *key2;     /* field path; "" for struct sizes, symbols, constants */
    uint64_t value;       /* offset, size or RVA */
    uint32_t bit_position;
    uint32_t bit_length;  /* 0: not a bit field */
    const char *text;     /* constants: the value as written */
    size_t seq;           /* order of appearance: the last one wins */
} ms_profile_entry;

typedef struct ms_profile_table {
    ms_profile_entry *entries;
    size_t count;
    size_t capacity;
} ms_profile_table;

struct ms_profile {
    char *buffer;         /* the text, tokenised in place; entries point into it */
    const char *name;
    const char *module;
    const char *version;
    const char *source;
    const char *pdb_name;
    const char *pdb_guid;
    uint32_t pdb_age;
    unsigned pointer_size;
    uint32_t build_min;
    uint32_t build_max;
    uint32_t revision_min;  /* file-version revision range, for layouts that changed in a servicing update */
    uint32_t revision_max;
    ms_profile_table structs;
    ms_profile_table fields;
    ms_profile_table symbols;
    ms_profile_table consts;
    ms_profile_table candidates;  /* key1 = set label, key2 = symbol */
};

/* Sort a table and keep, for each key, the entry written last. */
void ms_profile_table_finish(ms_profile_table *table);
const ms_profile_entry *ms_profile_table_find(const ms_profile_table *table, const char *key1, const char *key2);

#endif

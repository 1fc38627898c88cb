#include "tcpip_index.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_INDEX_LINES 100000

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    unsigned long long v = strtoull(buf, &end, 0);
    if (*end != '\0' || buf[0] == '-')
        return 0;
    *out = v;
    return 1;
}

static uint64_t *slot_for(ms_tcpip_symbols *e, const char *name, size_t n)
{
    static const struct { const char *name; size_t offset; } slots[] = {
        {"PartitionTable", offsetof(ms_tcpip_symbols, partition_table)},
        {"PartitionCount", offsetof(ms_tcpip_symbols, partition_count)},
        {"TcpPortPool", offsetof(ms_tcpip_symbols, tcp_port_pool)},
        {"UdpPortPool", offsetof(ms_tcpip_symbols, udp_port_pool)},
        {"TcpCompartmentSet", offsetof(ms_tcpip_symbols, tcp_compartment_set)},
        {"UdpCompartmentSet", offsetof(ms_tcpip_symbols, udp_compartment_set)},
    };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++)
        if (strlen(slots[i].name) == n && memcmp(slots[i].name, name, n) == 0)
            return (uint64_t *)((char *)e + slots[i].offset);
    return NULL; /* other symbols are kept for tools, not needed here */
}

/* One line: GUID AGE ARCH NAME=RVA ... */
static ms_status parse_line(const char *line, size_t len, const char *origin, unsigned lineno, ms_tcpip_symbols *e)
{
    const char *tok[64];
    size_t toklen[64], n = 0;
    size_t i = 0;
    while (i < len && n < 64) {
        while (i < len && isspace((unsigned char)line[i]))
            i++;
        if (i >= len || line[i] == '#')
            break;
        size_t start = i;
        while (i < len && !isspace((unsigned char)line[i]))
            i++;
        tok[n] = line + start;
        toklen[n++] = i - start;
    }
    if (n == 0)
        return MS_ERR_NOT_FOUND;
    uint64_t age;
    if (n < 3 || toklen[0] != 32 || !parse_u64(tok[1], toklen[1], &age))
        return ms_fail(MS_ERR_FORMAT, "%s:%u: expected 'GUID AGE ARCH NAME=RVA...'", origin, lineno);
    memset(e, 0, sizeof *e);
    for (size_t k = 0; k < 32; k++)
        e->guid[k] = (char)toupper((unsigned char)tok[0][k]);
    e->age = (uint32_t)age;
    if (toklen[2] == 3 && memcmp(tok[2], "x64", 3) == 0)
        e->pointer_size = 8;
    else if (toklen[2] == 3 && memcmp(tok[2], "x86", 3) == 0)
        e->pointer_size = 4;
    else
        return ms_fail(MS_ERR_FORMAT, "%s:%u: expected arch x86 or x64", origin, lineno);
    for (size_t k = 3; k < n; k++) {
        const char *eq = memchr(tok[k], '=', toklen[k]);
        uint64_t v;
        if (eq == NULL || !parse_u64(eq + 1, toklen[k] - (size_t)(eq + 1 - tok[k]), &v))
            return ms_fail(MS_ERR_FORMAT, "%s:%u: expected NAME=RVA, found '%.*s'", origin, lineno, (int)toklen[k],
                           tok[k]);
        uint64_t *slot = slot_for(e, tok[k], (size_t)(eq - tok[k]));
        if (slot != NULL)
            *slot = v;
    }
    return MS_OK;
}

ms_status ms_tcpip_index_parse(ms_tcpip_index *index, const char *text, size_t len, const char *origin)
{
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        if (++lineno > MAX_INDEX_LINES)
            return ms_fail(MS_ERR_LIMIT, "%s: more than %d lines", origin, MAX_INDEX_LINES);
        ms_tcpip_symbols e;
        ms_status st = parse_line(text + pos, end - pos, origin, lineno, &e);
        pos = end + 1;
        if (st == MS_ERR_NOT_FOUND)
            continue;
        if (st != MS_OK)
            return st;
        if (index->count == index->capacity) {
            size_t cap = index->capacity ? index->capacity * 2 : 128;
            ms_tcpip_symbols *n = realloc(index->entries, cap * sizeof *n);
            if (n == NULL)
                return ms_fail(MS_ERR_NOMEM, "%s: out of memory", origin);
            index->entries = n;
            index->capacity = cap;
        }
        index->entries[index->count++] = e;
    }
    return MS_OK;
}

ms_status ms_tcpip_index_find(const ms_tcpip_index *index, const char *guid, uint32_t age, ms_tcpip_symbols *out)
{
    for (size_t i = index->count; i-- > 0;)
        if (index->entries[i].age == age && strcasecmp(index->entries[i].guid, guid) == 0) {
            *out = index->entries[i];
            return MS_OK;
        }
    return ms_fail(MS_ERR_NOT_FOUND, "tcpip.pdb %s age %u is not in the symbol index", guid, age);
}

void ms_tcpip_index_free(ms_tcpip_index *index)
{
    free(index->entries);
    index->entries = NULL;
    index->count = index->capacity = 0;
}

/* Sizes and member paths over an ISF's type descriptors. */
#include <string.h>

#include "isf_internal.h"

int ms_isf_token_ok(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, n++)
        if (*p <= 0x20 || *p == 0x7f || *p == '#' || n >= MS_ISF_MAX_NAME)
            return 0;
    return n > 0;
}

/* An integer member `key` of `obj` in 0..max; 0 when absent, -1 when malformed. */
static int get_uint(json_t *obj, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 1;
}

static const char *kind_of(json_t *type)
{
    return json_is_object(type) ? json_string_value(json_object_get(type, "kind")) : NULL;
}

ms_status ms_isf_struct_size(const ms_isf_types *types, const char *name, json_t *ut, uint32_t *size)
{
    uint64_t v;
    if (!json_is_object(ut) || get_uint(ut, "size", UINT32_MAX, &v) != 1)
        return ms_fail(MS_ERR_FORMAT, "%s: user type %s: expected a size from 0 to 2^32-1", types->origin, name);
    *size = (uint32_t)v;
    return MS_OK;
}

ms_status ms_isf_type_size(const ms_isf_types *types, json_t *type, int depth, uint64_t *size, int *known)
{
    *known = 0;
    *size = 0;
    if (depth > MS_ISF_MAX_DEPTH)
        return ms_fail(MS_ERR_LIMIT, "%s: type descriptors nested deeper than %d", types->origin, MS_ISF_MAX_DEPTH);
    const char *kind = kind_of(type);
    if (kind == NULL)
        return ms_fail(MS_ERR_FORMAT, "%s: expected a type descriptor with a 'kind', found %s", types->origin,
                       json_is_object(type) ? "an object without one" : "another JSON value");
    const char *name = json_string_value(json_object_get(type, "name"));
    uint64_t v;
    int r;
    if (strcmp(kind, "base") == 0) {
        json_t *base = name ? json_object_get(types->base, name) : NULL;
        if (base == NULL)
            return MS_OK;
        if (!json_is_object(base) || get_uint(base, "size", UINT32_MAX, &v) != 1)
            return ms_fail(MS_ERR_FORMAT, "%s: base type %s: expected a size from 0 to 2^32-1", types->origin, name);
        *size = v;
    } else if (strcmp(kind, "pointer") == 0) {
        if ((r = get_uint(type, "size", 64, &v)) < 0)
            return ms_fail(MS_ERR_FORMAT, "%s: pointer type with a size that is not 0..64", types->origin);
        *size = r ? v : types->pointer_size;
    } else if (strcmp(kind, "struct") == 0 || strcmp(kind, "union") == 0 || strcmp(kind, "class") == 0) {
        json_t *ut = name ? json_object_get(types->user, name) : NULL;
        if (ut == NULL)
            return MS_OK;
        uint32_t s;
        ms_status st = ms_isf_struct_size(types, name, ut, &s);
        if (st != MS_OK)
            return st;
        *size = s;
    } else if (strcmp(kind, "enum") == 0) {
        if ((r = get_uint(type, "size", 64, &v)) < 0)
            return ms_fail(MS_ERR_FORMAT, "%s: enum type with a size that is not 0..64", types->origin);
        *size = r ? v : 4;
    } else if (strcmp(kind, "array") == 0) {
        uint64_t count, sub;
        int sub_known;
        if (get_uint(type, "count", UINT32_MAX, &count) != 1)
            return ms_fail(MS_ERR_FORMAT, "%s: array type: expected a count from 0 to 2^32-1", types->origin);
        ms_status st = ms_isf_type_size(types, json_object_get(type, "subtype"), depth + 1, &sub, &sub_known);
        if (st != MS_OK || !sub_known)
            return st;
        if (count * sub > UINT32_MAX)
            return ms_fail(MS_ERR_LIMIT, "%s: array of %llu elements of %llu bytes is larger than 4 GiB",
                           types->origin, (unsigned long long)count, (unsigned long long)sub);
        *size = count * sub;
    } else if (strcmp(kind, "bitfield") == 0) {
        return ms_isf_type_size(types, json_object_get(type, "type"), depth + 1, size, known);
    } else {
        return MS_OK; /* function, void: no size */
    }
    *known = 1;
    return MS_OK;
}

ms_status ms_isf_resolve(const ms_isf_types *types, const char *type, const char *path, uint32_t *offset,
                         json_t **member_type)
{
    uint64_t total = 0;
    const char *cur = type;
    json_t *t = NULL;
    const char *part = path;
    while (part != NULL) {
        const char *dot = strchr(part, '.');
        size_t n = dot ? (size_t)(dot - part) : strlen(part);
        json_t *ut = cur ? json_object_get(types->user, cur) : NULL;
        if (ut == NULL)
            return MS_ERR_NOT_FOUND;
        json_t *fields = json_object_get(ut, "fields");
        if (!json_is_object(fields))
            return ms_fail(MS_ERR_FORMAT, "%s: user type %s: expected a 'fields' object", types->origin, cur);
        json_t *f = json_object_getn(fields, part, n);
        if (f == NULL)
            return MS_ERR_NOT_FOUND;
        uint64_t off;
        if (!json_is_object(f) || get_uint(f, "offset", UINT32_MAX, &off) != 1 ||
            !json_is_object(json_object_get(f, "type")))
            return ms_fail(MS_ERR_FORMAT, "%s: %s.%.*s: expected {\"offset\": N, \"type\": {...}}", types->origin, cur,
                           (int)n, part);
        total += off;
        if (total > UINT32_MAX)
            return ms_fail(MS_ERR_LIMIT, "%s: %s.%s lies beyond 4 GiB", types->origin, type, path);
        t = json_object_get(f, "type");
        const char *kind = kind_of(t);
        cur = kind && (strcmp(kind, "struct") == 0 || strcmp(kind, "union") == 0)
                  ? json_string_value(json_object_get(t, "name"))
                  : NULL;
        part = dot ? dot + 1 : NULL;
    }
    *offset = (uint32_t)total;
    *member_type = t;
    return MS_OK;
}

ms_status ms_isf_member_line(const ms_isf_types *types, ms_isf_text *out, const char *type, const char *path,
                             uint32_t offset, json_t *member_type, size_t *lines)
{
    const char *kind = kind_of(member_type);
    if (kind != NULL && strcmp(kind, "bitfield") == 0) {
        uint64_t pos, len;
        if (get_uint(member_type, "bit_position", 63, &pos) != 1 || get_uint(member_type, "bit_length", 64, &len) != 1 ||
            len == 0 || pos + len > 64)
            return ms_fail(MS_ERR_FORMAT, "%s: %s.%s: expected a bit field within 64 bits", types->origin, type, path);
        ms_isf_text_printf(out, "bits %s %s 0x%x %u %u\n", type, path, offset, (unsigned)pos, (unsigned)len);
    } else {
        uint64_t size;
        int known;
        ms_status st = ms_isf_type_size(types, member_type, 0, &size, &known);
        if (st != MS_OK)
            return st;
        if (known)
            ms_isf_text_printf(out, "field %s %s 0x%x 0x%llx\n", type, path, offset, (unsigned long long)size);
        else
            ms_isf_text_printf(out, "field %s %s 0x%x\n", type, path, offset);
    }
    (*lines)++;
    return MS_OK;
}

/* Export directory: module name and name -> RVA lookup. */
#include "pe.h"

#include <stdlib.h>
#include <string.h>

#include "pe_util.h"

#define EXPORT_DIR_SIZE 40
#define MAX_EXPORT_NAME 512

typedef struct export_dir {
    uint32_t name_rva;
    uint32_t function_count;
    uint32_t name_count;
    uint32_t functions_rva;
    uint32_t names_rva;
    uint32_t ordinals_rva;
    uint32_t dir_rva;
    uint32_t dir_size;
} export_dir;

static ms_status read_dir(const ms_pe *pe, export_dir *out)
{
    const ms_pe_datadir *dd = ms_pe_datadir_get(pe, MS_PE_DIR_EXPORT);
    if (dd == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "the image has no export directory");
    uint8_t d[EXPORT_DIR_SIZE];
    ms_status st = ms_pe_read(pe, dd->rva, d, sizeof d);
    if (st != MS_OK)
        return st;
    out->name_rva = ms_pe_le32(d + 12);
    out->function_count = ms_pe_le32(d + 20);
    out->name_count = ms_pe_le32(d + 24);
    out->functions_rva = ms_pe_le32(d + 28);
    out->names_rva = ms_pe_le32(d + 32);
    out->ordinals_rva = ms_pe_le32(d + 36);
    out->dir_rva = dd->rva;
    out->dir_size = dd->size;
    if (out->function_count > MS_PE_MAX_EXPORTS || out->name_count > MS_PE_MAX_EXPORTS)
        return ms_fail(MS_ERR_LIMIT, "export directory claims %u functions and %u names, more than %u",
                       out->function_count, out->name_count, MS_PE_MAX_EXPORTS);
    return MS_OK;
}

ms_status ms_pe_export_name(const ms_pe *pe, char *buf, size_t cap)
{
    export_dir dir;
    ms_status st = read_dir(pe, &dir);
    if (st != MS_OK)
        return st;
    if (dir.name_rva == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "the export directory names no module");
    return ms_pe_read_string(pe, dir.name_rva, buf, cap);
}

static ms_status read_array(const ms_pe *pe, uint32_t rva, uint32_t count, size_t elem, void **out)
{
    size_t len = (size_t)count * elem;
    uint8_t *a = malloc(len ? len : 1);
    if (a == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory reading %u export entries", count);
    ms_status st = ms_pe_read(pe, rva, a, len);
    if (st != MS_OK) {
        free(a);
        return st;
    }
    *out = a;
    return MS_OK;
}

ms_status ms_pe_export_find(const ms_pe *pe, const char *name, uint32_t *rva)
{
    if (name == NULL || rva == NULL)
        return ms_fail(MS_ERR_ARG, "ms_pe_export_find needs a name and an out-parameter");
    export_dir dir;
    ms_status st = read_dir(pe, &dir);
    if (st != MS_OK)
        return st;
    if (dir.name_count == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "export '%s' not found: the module exports no names", name);

    uint8_t *names = NULL, *ordinals = NULL;
    st = read_array(pe, dir.names_rva, dir.name_count, 4, (void **)&names);
    if (st == MS_OK)
        st = read_array(pe, dir.ordinals_rva, dir.name_count, 2, (void **)&ordinals);
    ms_status page_status = MS_OK;
    uint32_t found = UINT32_MAX;
    for (uint32_t i = 0; st == MS_OK && i < dir.name_count; i++) {
        char buf[MAX_EXPORT_NAME];
        ms_status s = ms_pe_read_string(pe, ms_pe_le32(names + 4 * i), buf, sizeof buf);
        if (s != MS_OK) {
            if (ms_pe_is_page_status(s))
                page_status = s;
            continue;
        }
        if (strcmp(buf, name) == 0) {
            found = ms_pe_le16(ordinals + 2 * i);
            break;
        }
    }
    free(names);
    free(ordinals);
    if (st != MS_OK)
        return st;
    if (found == UINT32_MAX) {
        if (page_status != MS_OK)
            return ms_fail(page_status, "export '%s' not found, but some export names were %s", name,
                           ms_status_name(page_status));
        return ms_fail(MS_ERR_NOT_FOUND, "export '%s' not found among %u names", name, dir.name_count);
    }
    if (found >= dir.function_count)
        return ms_fail(MS_ERR_FORMAT, "export '%s' has ordinal index %u, but only %u functions", name, found,
                       dir.function_count);
    uint8_t f[4];
    st = ms_pe_read(pe, (uint64_t)dir.functions_rva + 4ull * found, f, sizeof f);
    if (st != MS_OK)
        return st;
    uint32_t target = ms_pe_le32(f);
    if (target >= dir.dir_rva && target - dir.dir_rva < dir.dir_size)
        return ms_fail(MS_ERR_UNSUPPORTED, "export '%s' is forwarded to another module", name);
    if (target == 0 || target >= pe->size_of_image)
        return ms_fail(MS_ERR_FORMAT, "export '%s' has RVA 0x%x, outside the 0x%x-byte image", name, target,
                       pe->size_of_image);
    *rva = target;
    return MS_OK;
}

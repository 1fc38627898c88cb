/* Resource directory walk to the version resource (VS_FIXEDFILEINFO). */
#include "pe.h"

#include <stdio.h>
#include <string.h>

#include "pe_util.h"

#define RT_VERSION 16
#define MAX_DIR_ENTRIES 4096u      /* per directory */
#define MAX_VERSION_SIZE 0x10000u
#define FIXED_SIGNATURE 0xFEEF04BDu
#define FIXED_SIZE 52
/* wLength, wValueLength, wType, L"VS_VERSION_INFO\0", padded to 4 bytes. */
#define FIXED_OFFSET 40

/* The OffsetToData word of an entry of the directory at `offset` (from the
 * resource base): the entry with integer id `want_id`, or the first entry
 * when `want_id` is negative. */
static ms_status find_entry(const ms_pe *pe, const ms_pe_datadir *rsrc, uint32_t offset, long want_id, int level,
                            uint32_t *out)
{
    uint8_t hdr[16];
    if (offset > rsrc->size || rsrc->size - offset < sizeof hdr)
        return ms_fail(MS_ERR_FORMAT, "resource directory at offset 0x%x (level %d) is outside the 0x%x-byte "
                       "resource section", offset, level, rsrc->size);
    ms_status st = ms_pe_read(pe, (uint64_t)rsrc->rva + offset, hdr, sizeof hdr);
    if (st != MS_OK)
        return st;
    uint32_t count = (uint32_t)ms_pe_le16(hdr + 12) + ms_pe_le16(hdr + 14);
    if (count > MAX_DIR_ENTRIES)
        return ms_fail(MS_ERR_LIMIT, "resource directory at offset 0x%x has %u entries, more than %u", offset,
                       count, MAX_DIR_ENTRIES);
    if ((uint64_t)offset + 16 + 8ull * count > rsrc->size)
        return ms_fail(MS_ERR_FORMAT, "the %u entries of the resource directory at offset 0x%x pass the end of "
                       "the resource section", count, offset);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[8];
        st = ms_pe_read(pe, (uint64_t)rsrc->rva + offset + 16 + 8 * i, e, sizeof e);
        if (st != MS_OK)
            return st;
        uint32_t name = ms_pe_le32(e);
        if (want_id >= 0 && ((name & 0x80000000u) != 0 || name != (uint32_t)want_id))
            continue;
        *out = ms_pe_le32(e + 4);
        return MS_OK;
    }
    if (want_id >= 0)
        return ms_fail(MS_ERR_NOT_FOUND, "the image has no resource of type %ld", want_id);
    return ms_fail(MS_ERR_NOT_FOUND, "resource directory at offset 0x%x (level %d) is empty", offset, level);
}

/* Type -> name -> language: three directory levels, then a data entry.  A
 * directory pointing back at itself or at an ancestor ends as a format
 * error at the third level, because data entries have the high bit clear. */
static ms_status find_version_data(const ms_pe *pe, uint32_t *rva, uint32_t *size)
{
    const ms_pe_datadir *rsrc = ms_pe_datadir_get(pe, MS_PE_DIR_RESOURCE);
    if (rsrc == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "the image has no resource directory");
    uint32_t offset = 0;
    for (int level = 0; level < 3; level++) {
        uint32_t next = 0;
        ms_status st = find_entry(pe, rsrc, offset, level == 0 ? RT_VERSION : -1, level, &next);
        if (st != MS_OK)
            return st;
        int is_dir = (next & 0x80000000u) != 0;
        if (level < 2 && !is_dir)
            return ms_fail(MS_ERR_FORMAT, "resource entry at level %d points at data, expected a directory",
                           level);
        if (level == 2 && is_dir)
            return ms_fail(MS_ERR_FORMAT, "resource tree deeper than 3 levels (a loop?) under the version "
                           "resource");
        offset = next & 0x7fffffffu;
    }
    if (offset > rsrc->size || rsrc->size - offset < 16)
        return ms_fail(MS_ERR_FORMAT, "resource data entry at offset 0x%x is outside the resource section",
                       offset);
    uint8_t d[16];
    ms_status st = ms_pe_read(pe, (uint64_t)rsrc->rva + offset, d, sizeof d);
    if (st != MS_OK)
        return st;
    *rva = ms_pe_le32(d);
    *size = ms_pe_le32(d + 4);
    return MS_OK;
}

static int key_is_version_info(const uint8_t *p)
{
    static const char key[] = "VS_VERSION_INFO";
    for (size_t i = 0; i < sizeof key; i++)
        if (p[2 * i] != (uint8_t)key[i] || p[2 * i + 1] != 0)
            return 0;
    return 1;
}

ms_status ms_pe_version_get(const ms_pe *pe, ms_pe_version *out)
{
    uint32_t rva = 0, size = 0;
    ms_status st = find_version_data(pe, &rva, &size);
    if (st != MS_OK)
        return st;
    if (size < FIXED_OFFSET + FIXED_SIZE || size > MAX_VERSION_SIZE)
        return ms_fail(MS_ERR_FORMAT, "version resource is %u bytes, expected %u to %u", size,
                       FIXED_OFFSET + FIXED_SIZE, MAX_VERSION_SIZE);
    uint8_t v[FIXED_OFFSET + FIXED_SIZE];
    st = ms_pe_read(pe, rva, v, sizeof v);
    if (st != MS_OK)
        return st;
    if (!key_is_version_info(v + 6))
        return ms_fail(MS_ERR_FORMAT, "version resource at RVA 0x%x lacks the VS_VERSION_INFO key", rva);
    if (ms_pe_le16(v + 2) < FIXED_SIZE)
        return ms_fail(MS_ERR_NOT_FOUND, "version resource has no VS_FIXEDFILEINFO (value length %u)",
                       ms_pe_le16(v + 2));
    const uint8_t *f = v + FIXED_OFFSET;
    if (ms_pe_le32(f) != FIXED_SIGNATURE)
        return ms_fail(MS_ERR_FORMAT, "VS_FIXEDFILEINFO signature is 0x%08x, expected 0x%08x", ms_pe_le32(f),
                       FIXED_SIGNATURE);
    uint32_t fms = ms_pe_le32(f + 8), fls = ms_pe_le32(f + 12);
    uint32_t pms = ms_pe_le32(f + 16), pls = ms_pe_le32(f + 20);
    out->file[0] = (uint16_t)(fms >> 16);
    out->file[1] = (uint16_t)fms;
    out->file[2] = (uint16_t)(fls >> 16);
    out->file[3] = (uint16_t)fls;
    out->product[0] = (uint16_t)(pms >> 16);
    out->product[1] = (uint16_t)pms;
    out->product[2] = (uint16_t)(pls >> 16);
    out->product[3] = (uint16_t)pls;
    snprintf(out->file_string, sizeof out->file_string, "%u.%u.%u.%u", out->file[0], out->file[1], out->file[2],
             out->file[3]);
    return MS_OK;
}

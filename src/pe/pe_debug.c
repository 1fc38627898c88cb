/* Debug directory: the CodeView record naming the PDB (RSDS or NB10). */
#include "pe.h"

#include <stdio.h>
#include <string.h>

#include "pe_util.h"

#define DEBUG_ENTRY_SIZE 28
#define MAX_DEBUG_ENTRIES 32
#define DEBUG_TYPE_CODEVIEW 2
#define RSDS_HEADER 24            /* 'RSDS', GUID, age */
#define NB10_HEADER 16            /* 'NB10', offset, signature, age */
#define MAX_CV_SIZE 0x1000

/* The PDB name: bytes up to the NUL (or the record's end), control and
 * non-ASCII bytes shown as '?'. */
static void copy_name(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t n = 0;
    while (n < len && n + 1 < cap && src[n] != 0) {
        uint8_t c = src[n];
        dst[n] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
        n++;
    }
    dst[n] = '\0';
}

static ms_status parse_record(const uint8_t *cv, uint32_t size, ms_pe_codeview *out)
{
    memset(out, 0, sizeof *out);
    if (size >= RSDS_HEADER && memcmp(cv, "RSDS", 4) == 0) {
        out->kind = MS_PE_CV_RSDS;
        snprintf(out->guid, sizeof out->guid, "%08X%04X%04X", ms_pe_le32(cv + 4), ms_pe_le16(cv + 8),
                 ms_pe_le16(cv + 10));
        for (int i = 0; i < 8; i++)
            snprintf(out->guid + 16 + 2 * i, 3, "%02X", cv[12 + i]);
        out->age = ms_pe_le32(cv + 20);
        copy_name(out->pdb_name, sizeof out->pdb_name, cv + RSDS_HEADER, size - RSDS_HEADER);
        return MS_OK;
    }
    if (size >= NB10_HEADER && memcmp(cv, "NB10", 4) == 0) {
        out->kind = MS_PE_CV_NB10;
        out->signature = ms_pe_le32(cv + 8);
        snprintf(out->guid, sizeof out->guid, "%08X", out->signature);
        out->age = ms_pe_le32(cv + 12);
        copy_name(out->pdb_name, sizeof out->pdb_name, cv + NB10_HEADER, size - NB10_HEADER);
        return MS_OK;
    }
    return ms_fail(MS_ERR_FORMAT, "CodeView record of %u bytes starts with %02x %02x %02x %02x, expected "
                   "'RSDS' or 'NB10'", size, cv[0], cv[1], cv[2], cv[3]);
}

ms_status ms_pe_codeview_get(const ms_pe *pe, ms_pe_codeview *out)
{
    const ms_pe_datadir *dir = ms_pe_datadir_get(pe, MS_PE_DIR_DEBUG);
    if (dir == NULL)
        return ms_fail(MS_ERR_NOT_FOUND, "the image has no debug directory");
    uint32_t count = dir->size / DEBUG_ENTRY_SIZE;
    if (count > MAX_DEBUG_ENTRIES)
        count = MAX_DEBUG_ENTRIES;
    if (count == 0)
        return ms_fail(MS_ERR_FORMAT, "debug directory of %u bytes holds no %u-byte entry", dir->size,
                       DEBUG_ENTRY_SIZE);

    ms_status page_status = MS_OK;
    ms_status bad_status = MS_OK;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[DEBUG_ENTRY_SIZE];
        ms_status st = ms_pe_read(pe, (uint64_t)dir->rva + i * DEBUG_ENTRY_SIZE, e, sizeof e);
        if (st != MS_OK) {
            if (!ms_pe_is_page_status(st))
                return st;
            page_status = st;
            continue;
        }
        if (ms_pe_le32(e + 12) != DEBUG_TYPE_CODEVIEW)
            continue;
        uint32_t size = ms_pe_le32(e + 16);
        uint32_t rva = ms_pe_le32(e + 20);
        if (rva == 0 || size < NB10_HEADER) {
            bad_status = ms_fail(MS_ERR_FORMAT, "CodeView entry %u has data RVA 0x%x and size %u, expected a "
                                 "mapped record", i, rva, size);
            continue;
        }
        if (size > MAX_CV_SIZE)
            size = MAX_CV_SIZE;
        uint8_t cv[MAX_CV_SIZE];
        st = ms_pe_read(pe, rva, cv, size);
        if (st != MS_OK) {
            if (!ms_pe_is_page_status(st))
                return st;
            page_status = st;
            continue;
        }
        st = parse_record(cv, size, out);
        if (st == MS_OK)
            return MS_OK;
        bad_status = st;
    }
    if (page_status != MS_OK)
        return ms_fail(page_status, "the CodeView record could not be read: a page of the debug data is %s",
                       ms_status_name(page_status));
    if (bad_status != MS_OK)
        return bad_status;
    return ms_fail(MS_ERR_NOT_FOUND, "none of the %u debug directory entries is a CodeView record", count);
}

/* Windows crash dumps: detection, the main header, and dispatch on DumpType. */
#include <string.h>

#include "crashdump_internal.h"
#include "crashdump_layout.h"
#include "formats.h"

int ms_crashdump_detect(ms_source *src)
{
    uint8_t magic[8];
    if (src->size < sizeof magic || ms_source_read(src, 0, magic, sizeof magic) != MS_OK)
        return 0;
    return memcmp(magic, "PAGEDUMP", 8) == 0 || memcmp(magic, "PAGEDU64", 8) == 0;
}

/* The comment is kept only when it is printable ASCII text, not the PAGE fill. */
static void read_comment(const uint8_t *p, char *out)
{
    out[0] = '\0';
    if (memcmp(p, "PAGE", 4) == 0)
        return;
    size_t n = 0;
    while (n < DH_COMMENT_SIZE && p[n] != 0) {
        if (p[n] < 0x20 || p[n] > 0x7e)
            return;
        n++;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

/* Windows writes the Attributes word only when it has something to say; an
 * untouched word is the PAGE fill (both real triage samples show it), and
 * 0x45474150 has bit 8, EncryptedDumpData, set.  Treat it as no attributes. */
static uint32_t read_attributes(const uint8_t *p)
{
    uint32_t v = ms_cd_le32(p);
    return v == MS_CD_FILL ? 0 : v;
}

static void decode_header32(const uint8_t *raw, ms_dump_header *h)
{
    h->is_64bit = 0;
    h->major_version = ms_cd_le32(raw + DH32_MAJOR_VERSION);
    h->minor_version = ms_cd_le32(raw + DH32_MINOR_VERSION);
    h->directory_table_base = ms_cd_le32(raw + DH32_DTB);
    h->pfn_database = ms_cd_le32(raw + DH32_PFN_DATABASE);
    h->ps_loaded_module_list = ms_cd_le32(raw + DH32_PS_LOADED_MODS);
    h->ps_active_process_head = ms_cd_le32(raw + DH32_PS_ACTIVE_PROCS);
    h->machine_type = ms_cd_le32(raw + DH32_MACHINE_TYPE);
    h->num_processors = ms_cd_le32(raw + DH32_NUM_PROCESSORS);
    h->bugcheck_code = ms_cd_le32(raw + DH32_BUGCHECK_CODE);
    for (int i = 0; i < 4; i++)
        h->bugcheck_params[i] = ms_cd_le32(raw + DH32_BUGCHECK_PARAMS + 4 * i);
    h->kd_debugger_data_block = ms_cd_le32(raw + DH32_KDBG);
    uint8_t pae = raw[DH32_PAE_ENABLED];
    h->pae_enabled = pae <= 1 ? pae : -1;
    read_comment(raw + DH32_COMMENT, h->comment);
    h->attributes = read_attributes(raw + DH32_ATTRIBUTES);
    h->dump_type = ms_cd_le32(raw + DH32_DUMP_TYPE);
    h->product_type = ms_cd_le32(raw + DH32_PRODUCT_TYPE);
    h->suite_mask = ms_cd_le32(raw + DH32_SUITE_MASK);
    h->system_uptime = ms_cd_le64(raw + DH32_SYSTEM_UPTIME);
    h->system_time = ms_cd_le64(raw + DH32_SYSTEM_TIME);
}

static void decode_header64(const uint8_t *raw, ms_dump_header *h)
{
    h->is_64bit = 1;
    h->major_version = ms_cd_le32(raw + DH64_MAJOR_VERSION);
    h->minor_version = ms_cd_le32(raw + DH64_MINOR_VERSION);
    h->directory_table_base = ms_cd_le64(raw + DH64_DTB);
    h->pfn_database = ms_cd_le64(raw + DH64_PFN_DATABASE);
    h->ps_loaded_module_list = ms_cd_le64(raw + DH64_PS_LOADED_MODS);
    h->ps_active_process_head = ms_cd_le64(raw + DH64_PS_ACTIVE_PROCS);
    h->machine_type = ms_cd_le32(raw + DH64_MACHINE_TYPE);
    h->num_processors = ms_cd_le32(raw + DH64_NUM_PROCESSORS);
    h->bugcheck_code = ms_cd_le32(raw + DH64_BUGCHECK_CODE);
    for (int i = 0; i < 4; i++)
        h->bugcheck_params[i] = ms_cd_le64(raw + DH64_BUGCHECK_PARAMS + 8 * i);
    h->kd_debugger_data_block = ms_cd_le64(raw + DH64_KDBG);
    h->pae_enabled = -1;
    read_comment(raw + DH64_COMMENT, h->comment);
    h->attributes = read_attributes(raw + DH64_ATTRIBUTES);
    h->dump_type = ms_cd_le32(raw + DH64_DUMP_TYPE);
    h->product_type = ms_cd_le32(raw + DH64_PRODUCT_TYPE);
    h->suite_mask = ms_cd_le32(raw + DH64_SUITE_MASK);
    h->system_uptime = ms_cd_le64(raw + DH64_SYSTEM_UPTIME);
    h->system_time = ms_cd_le64(raw + DH64_SYSTEM_TIME);
}

static ms_status parse_memory(ms_source *src, const uint8_t *raw, ms_dump_header *h, ms_runmap *map)
{
    switch (h->dump_type) {
    case MS_DUMP_FULL:
        return ms_crashdump_parse_runs(src, raw, h->is_64bit, map);
    case MS_DUMP_SUMMARY:
    case MS_DUMP_BITMAP_FULL:
    case MS_DUMP_BITMAP_KERNEL:
        return ms_crashdump_parse_bitmap(src, h->is_64bit, h->dump_type, h, map);
    case MS_DUMP_HEADER:
    case MS_DUMP_TRIAGE:
        return MS_OK;   /* no physical memory; the header is all there is */
    case 8:
    case 9:
    case 0xa:
        return ms_fail(MS_ERR_UNSUPPORTED,
                       "crash dump has DumpType 0x%x, a WinDbg 'range' dump (RDMP); memsift reads DumpType 1, 2, 5 "
                       "and 6",
                       h->dump_type);
    }
    return ms_fail(MS_ERR_FORMAT, "crash dump has unknown DumpType 0x%x, expected 1 (full), 2 (summary), 3 (header), "
                   "4 (triage), 5 or 6 (bitmap)", h->dump_type);
}

ms_status ms_crashdump_parse(ms_source *src, ms_dump_header *hdr, ms_runmap *map)
{
    static uint8_t const page_du64[8] = {'P', 'A', 'G', 'E', 'D', 'U', '6', '4'};
    uint8_t raw[DH64_SIZE];
    ms_status st = ms_source_read(src, 0, raw, 8);
    if (st != MS_OK)
        return ms_fail(MS_ERR_TRUNCATED, "crash dump is %llu bytes, too short for its signature",
                       (unsigned long long)src->size);
    int is_64bit = memcmp(raw, page_du64, 8) == 0;
    uint32_t header_size = is_64bit ? DH64_SIZE : DH32_SIZE;
    if (src->size < header_size)
        return ms_fail(MS_ERR_TRUNCATED, "%s crash dump header needs 0x%x bytes, but the file has only 0x%llx",
                       is_64bit ? "64-bit" : "32-bit", header_size, (unsigned long long)src->size);
    st = ms_source_read(src, 0, raw, header_size);
    if (st != MS_OK)
        return st;

    ms_dump_header h;
    memset(&h, 0, sizeof h);
    h.has_header = 1;
    if (is_64bit)
        decode_header64(raw, &h);
    else
        decode_header32(raw, &h);

    if (h.attributes & MS_DUMP_ATTR_ENCRYPTED)
        return ms_fail(MS_ERR_UNSUPPORTED,
                       "crash dump is encrypted (DUMP_FILE_ATTRIBUTES 0x%x has EncryptedDumpData set); memsift cannot "
                       "read it without the key",
                       h.attributes);

    st = parse_memory(src, raw, &h, map);
    if (st != MS_OK)
        return st;
    *hdr = h;
    return MS_OK;
}

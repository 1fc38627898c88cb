/* DOS, NT and section headers. */
#include "pe.h"

#include <string.h>

#include "pe_util.h"

#define MAX_NT_OFFSET 0x10000u       /* e_lfanew; real images use < 0x200 */
#define MAX_OPTIONAL_HEADER 0x1000u
#define PE32_MAGIC 0x10b
#define PE32PLUS_MAGIC 0x20b

static ms_status read_header(const ms_pe *pe, uint64_t rva, void *buf, size_t len, const char *what)
{
    ms_status st = pe->read(pe->user, rva, buf, len);
    if (st != MS_OK)
        return ms_fail(st, "cannot read the %s (%zu bytes at RVA 0x%llx): %s", what, len,
                       (unsigned long long)rva, ms_status_name(st));
    return MS_OK;
}

static ms_status parse_optional(ms_pe *pe, const uint8_t *opt, uint32_t opt_size)
{
    uint16_t magic = ms_pe_le16(opt);
    uint32_t dd_offset, count_offset;
    if (magic == PE32_MAGIC) {
        pe->is_64 = 0;
        if (opt_size < 96)
            return ms_fail(MS_ERR_FORMAT, "PE32 optional header is %u bytes, expected at least 96", opt_size);
        pe->image_base = ms_pe_le32(opt + 28);
        dd_offset = 96;
        count_offset = 92;
    } else if (magic == PE32PLUS_MAGIC) {
        pe->is_64 = 1;
        if (opt_size < 112)
            return ms_fail(MS_ERR_FORMAT, "PE32+ optional header is %u bytes, expected at least 112", opt_size);
        pe->image_base = ms_pe_le64(opt + 24);
        dd_offset = 112;
        count_offset = 108;
    } else {
        return ms_fail(MS_ERR_FORMAT, "optional header magic is 0x%x, expected 0x10b (PE32) or 0x20b (PE32+)",
                       magic);
    }
    pe->entry_point = ms_pe_le32(opt + 16);
    pe->size_of_image = ms_pe_le32(opt + 56);
    pe->size_of_headers = ms_pe_le32(opt + 60);
    pe->checksum = ms_pe_le32(opt + 64);
    pe->subsystem = ms_pe_le16(opt + 68);
    if (pe->size_of_image == 0 || pe->size_of_image > MS_PE_MAX_IMAGE)
        return ms_fail(pe->size_of_image ? MS_ERR_LIMIT : MS_ERR_FORMAT,
                       "SizeOfImage is 0x%x, expected 1 to 0x%x bytes", pe->size_of_image, MS_PE_MAX_IMAGE);

    uint32_t count = ms_pe_le32(opt + count_offset);
    uint32_t room = (opt_size - dd_offset) / 8;
    if (count > room)
        count = room;
    if (count > MS_PE_MAX_DATADIRS)
        count = MS_PE_MAX_DATADIRS;
    pe->datadir_count = count;
    for (uint32_t i = 0; i < count; i++) {
        pe->datadirs[i].rva = ms_pe_le32(opt + dd_offset + 8 * i);
        pe->datadirs[i].size = ms_pe_le32(opt + dd_offset + 8 * i + 4);
    }
    return MS_OK;
}

static void copy_section(ms_pe *pe, ms_pe_section *s, const uint8_t *h)
{
    for (int i = 0; i < 8; i++) {
        uint8_t c = h[i];
        s->name[i] = (char)(c == 0 || (c >= 0x20 && c < 0x7f) ? c : '?');
    }
    s->name[8] = '\0';
    s->virtual_size = ms_pe_le32(h + 8);
    s->rva = ms_pe_le32(h + 12);
    s->raw_size = ms_pe_le32(h + 16);
    s->raw_offset = ms_pe_le32(h + 20);
    s->characteristics = ms_pe_le32(h + 36);
    /* A zero VirtualSize means the raw size (old linkers). */
    if (s->virtual_size == 0)
        s->virtual_size = s->raw_size;
    if (s->rva >= pe->size_of_image)
        s->virtual_size = 0;
    else if (s->virtual_size > pe->size_of_image - s->rva)
        s->virtual_size = pe->size_of_image - s->rva;
}

ms_status ms_pe_parse(ms_pe_read_fn read, void *user, ms_pe *out)
{
    if (read == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_pe_parse needs a read callback and an out-parameter");
    ms_pe pe;
    memset(&pe, 0, sizeof pe);
    pe.read = read;
    pe.user = user;

    uint8_t dos[64];
    ms_status st = read_header(&pe, 0, dos, sizeof dos, "DOS header");
    if (st != MS_OK)
        return st;
    if (dos[0] != 'M' || dos[1] != 'Z')
        return ms_fail(MS_ERR_FORMAT, "DOS header starts with %02x %02x, expected 'MZ'", dos[0], dos[1]);
    pe.nt_offset = ms_pe_le32(dos + 0x3c);
    if (pe.nt_offset < 4 || pe.nt_offset > MAX_NT_OFFSET || (pe.nt_offset & 3) != 0)
        return ms_fail(MS_ERR_FORMAT, "e_lfanew is 0x%x, expected a 4-aligned offset below 0x%x", pe.nt_offset,
                       MAX_NT_OFFSET);

    uint8_t nt[24];
    st = read_header(&pe, pe.nt_offset, nt, sizeof nt, "NT headers");
    if (st != MS_OK)
        return st;
    if (memcmp(nt, "PE\0\0", 4) != 0)
        return ms_fail(MS_ERR_FORMAT, "NT signature at 0x%x is %02x %02x %02x %02x, expected 'PE\\0\\0'",
                       pe.nt_offset, nt[0], nt[1], nt[2], nt[3]);
    pe.machine = ms_pe_le16(nt + 4);
    uint16_t nsec = ms_pe_le16(nt + 6);
    pe.timestamp = ms_pe_le32(nt + 8);
    uint16_t opt_size = ms_pe_le16(nt + 20);
    pe.characteristics = ms_pe_le16(nt + 22);
    if (opt_size < 96 || opt_size > MAX_OPTIONAL_HEADER)
        return ms_fail(MS_ERR_FORMAT, "SizeOfOptionalHeader is %u, expected 96 to %u bytes", opt_size,
                       MAX_OPTIONAL_HEADER);
    if (nsec > MS_PE_MAX_SECTIONS)
        return ms_fail(MS_ERR_LIMIT, "NumberOfSections is %u, more than the %u Windows loads", nsec,
                       MS_PE_MAX_SECTIONS);

    uint8_t opt[MAX_OPTIONAL_HEADER];
    st = read_header(&pe, pe.nt_offset + 24, opt, opt_size, "optional header");
    if (st != MS_OK)
        return st;
    st = parse_optional(&pe, opt, opt_size);
    if (st != MS_OK)
        return st;

    uint8_t sec[MS_PE_MAX_SECTIONS * 40];
    uint64_t sec_rva = (uint64_t)pe.nt_offset + 24 + opt_size;
    if (nsec > 0) {
        st = read_header(&pe, sec_rva, sec, (size_t)nsec * 40, "section table");
        if (st != MS_OK)
            return st;
    }
    pe.section_count = nsec;
    for (uint16_t i = 0; i < nsec; i++)
        copy_section(&pe, &pe.sections[i], sec + 40 * i);
    *out = pe;
    return MS_OK;
}

ms_status ms_pe_read(const ms_pe *pe, uint64_t rva, void *buf, size_t len)
{
    if (rva > pe->size_of_image || len > pe->size_of_image - rva)
        return ms_fail(MS_ERR_FORMAT, "read of %zu bytes at RVA 0x%llx passes SizeOfImage 0x%x", len,
                       (unsigned long long)rva, pe->size_of_image);
    if (len == 0)
        return MS_OK;
    ms_status st = pe->read(pe->user, rva, buf, len);
    if (st != MS_OK)
        return ms_fail(st, "cannot read %zu bytes at RVA 0x%llx of the image: %s", len, (unsigned long long)rva,
                       ms_status_name(st));
    return MS_OK;
}

ms_status ms_pe_read_string(const ms_pe *pe, uint64_t rva, char *buf, size_t cap)
{
    if (cap == 0)
        return ms_fail(MS_ERR_ARG, "string buffer of 0 bytes");
    size_t got = 0;
    while (got < cap - 1) {
        uint64_t at = rva + got;
        if (at >= pe->size_of_image)
            return ms_fail(MS_ERR_FORMAT, "string at RVA 0x%llx runs past SizeOfImage 0x%x",
                           (unsigned long long)rva, pe->size_of_image);
        size_t chunk = 0x1000 - (size_t)(at & 0xfff);
        if (chunk > cap - 1 - got)
            chunk = cap - 1 - got;
        if (chunk > pe->size_of_image - at)
            chunk = (size_t)(pe->size_of_image - at);
        ms_status st = ms_pe_read(pe, at, buf + got, chunk);
        if (st != MS_OK)
            return st;
        char *nul = memchr(buf + got, '\0', chunk);
        if (nul != NULL)
            return MS_OK;
        got += chunk;
    }
    buf[cap - 1] = '\0';
    return ms_fail(MS_ERR_LIMIT, "string at RVA 0x%llx is longer than %zu bytes", (unsigned long long)rva, cap - 1);
}

const ms_pe_section *ms_pe_section_at(const ms_pe *pe, uint64_t rva)
{
    for (uint32_t i = 0; i < pe->section_count; i++) {
        const ms_pe_section *s = &pe->sections[i];
        if (rva >= s->rva && rva - s->rva < s->virtual_size)
            return s;
    }
    return NULL;
}

const ms_pe_datadir *ms_pe_datadir_get(const ms_pe *pe, unsigned index)
{
    if (index >= pe->datadir_count)
        return NULL;
    const ms_pe_datadir *d = &pe->datadirs[index];
    return d->rva == 0 || d->size == 0 ? NULL : d;
}

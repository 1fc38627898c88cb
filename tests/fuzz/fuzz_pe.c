/* libFuzzer target: the PE parser on arbitrary bytes, both as a file and
 * as a module in memory with some pages missing. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/pe/pe.h"

typedef struct fuzz_mem {
    const uint8_t *data;
    size_t len;
    uint8_t missing;          /* bit k set: pages with (page % 8) == k are absent */
} fuzz_mem;

static ms_status fuzz_read(void *user, uint64_t rva, void *buf, size_t len)
{
    const fuzz_mem *m = user;
    if (rva > m->len || len > m->len - rva)
        return MS_ERR_NOT_PRESENT;
    for (uint64_t page = rva >> 12; page <= (rva + len) >> 12; page++)
        if (m->missing & (1u << (page & 7)))
            return (page & 8) ? MS_ERR_PAGED_OUT : MS_ERR_NOT_PRESENT;
    memcpy(buf, m->data + rva, len);
    return MS_OK;
}

static void exercise(const ms_pe *pe)
{
    ms_pe_codeview cv;
    ms_pe_version v;
    char name[64];
    uint32_t rva;
    (void)ms_pe_codeview_get(pe, &cv);
    (void)ms_pe_version_get(pe, &v);
    (void)ms_pe_export_name(pe, name, sizeof name);
    (void)ms_pe_export_find(pe, "DriverEntry", &rva);
    for (uint32_t i = 0; i < pe->section_count; i++)
        (void)ms_pe_section_at(pe, pe->sections[i].rva);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_pe_file *f;
    if (ms_pe_file_from_buffer(data, size, &f) == MS_OK) {
        exercise(ms_pe_file_pe(f));
        ms_pe_file_close(f);
    }
    if (size > 0) {
        fuzz_mem m = {data, size, data[size - 1] & 0xfe};
        ms_pe pe;
        if (ms_pe_parse(fuzz_read, &m, &pe) == MS_OK)
            exercise(&pe);
    }
    return 0;
}

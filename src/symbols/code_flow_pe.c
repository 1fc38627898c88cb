/* The PE side of the code analyses: which bytes are code, read around
 * missing pages, and where the globals they name must live. */
#include "code_flow.h"

#include <stdlib.h>

#include "pe/pe_util.h"

#define PAGE 0x1000u

static int is_code(const ms_pe_section *sec)
{
    return (sec->characteristics & (MS_PE_SCN_EXECUTE | MS_PE_SCN_CODE)) != 0;
}

ms_status ms_cf_check_code(const ms_pe *pe, uint32_t max_bytes, const char *module)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < pe->section_count; i++)
        if (is_code(&pe->sections[i]))
            total += pe->sections[i].virtual_size;
    if (total == 0)
        return ms_fail(MS_ERR_NOT_FOUND, "%s has no executable section to analyse", module);
    if (total > max_bytes)
        return ms_fail(MS_ERR_LIMIT, "%s claims 0x%llx bytes of code, more than the 0x%x analysed", module,
                       (unsigned long long)total, max_bytes);
    return MS_OK;
}

/* The runs of readable pages of one section, read into `buf`. */
static ms_status section_runs(const ms_pe *pe, const ms_pe_section *sec, uint8_t *buf, ms_cf_run_fn fn, void *user)
{
    uint32_t size = sec->virtual_size;
    uint32_t run_start = 0, run_len = 0;
    for (uint32_t off = 0; off < size; off += PAGE) {
        uint32_t n = size - off < PAGE ? size - off : PAGE;
        ms_status st = ms_pe_read(pe, (uint64_t)sec->rva + off, buf + off, n);
        if (st == MS_OK) {
            if (run_len == 0)
                run_start = off;
            run_len += n;
            continue;
        }
        if (!ms_pe_is_page_status(st))
            return st;
        if (run_len > 0 && (st = fn(user, buf + run_start, run_len, sec->rva + run_start)) != MS_OK)
            return st;
        run_len = 0;
    }
    return run_len > 0 ? fn(user, buf + run_start, run_len, sec->rva + run_start) : MS_OK;
}

ms_status ms_cf_sections(const ms_pe *pe, uint32_t max_bytes, const char *module, ms_cf_run_fn fn, void *user)
{
    ms_status st = ms_cf_check_code(pe, max_bytes, module);
    for (uint32_t i = 0; i < pe->section_count && st == MS_OK; i++) {
        const ms_pe_section *sec = &pe->sections[i];
        if (!is_code(sec) || sec->virtual_size == 0)
            continue;
        uint8_t *buf = malloc(sec->virtual_size);
        if (buf == NULL)
            return ms_fail(MS_ERR_NOMEM, "out of memory reading section '%s' (%u bytes)", sec->name,
                           sec->virtual_size);
        st = section_runs(pe, sec, buf, fn, user);
        free(buf);
    }
    return st;
}

int ms_cf_writable_data(const ms_pe *pe, uint32_t rva)
{
    const ms_pe_section *sec = ms_pe_section_at(pe, rva);
    return sec != NULL && (sec->characteristics & MS_PE_SCN_WRITE) && !(sec->characteristics & MS_PE_SCN_EXECUTE);
}

ms_status ms_cf_check_writable(const ms_pe *pe, uint32_t rva, const char *what)
{
    const ms_pe_section *s = ms_pe_section_at(pe, rva);
    if (s == NULL)
        return ms_fail(MS_ERR_FORMAT, "code analysis chose RVA 0x%x for %s, which is in no section", rva, what);
    if (!ms_cf_writable_data(pe, rva))
        return ms_fail(MS_ERR_FORMAT, "code analysis chose RVA 0x%x for %s, in section '%s' which is not "
                       "writable data (characteristics 0x%08x)", rva, what, s->name, s->characteristics);
    return MS_OK;
}

int ms_cf_overlap(uint32_t a, unsigned a_width, uint32_t b, unsigned b_width)
{
    return a <= b ? b - a < a_width : a - b < b_width;
}

/* DumpType 1 (full dump): the PhysicalMemoryBlock run list of the header.
 * Pages of run 0, then run 1, ... are packed from the end of the header. */
#include "crashdump_internal.h"
#include "crashdump_layout.h"

/* Physical addresses stay below 2^52 bytes (PFN 2^40) on every machine Windows runs on. */
#define MS_CD_MAX_PFN (1ull << 40)

ms_status ms_crashdump_parse_runs(ms_source *src, const uint8_t *raw, int is_64bit, ms_runmap *map)
{
    const uint8_t *pmd = raw + (is_64bit ? DH64_PHYS_BLOCK : DH32_PHYS_BLOCK);
    uint32_t header_size = is_64bit ? DH64_SIZE : DH32_SIZE;
    uint32_t max_runs = is_64bit ? PMD64_MAX_RUNS : PMD32_MAX_RUNS;
    uint32_t nruns = ms_cd_le32(pmd + (is_64bit ? PMD64_NUMBER_OF_RUNS : PMD32_NUMBER_OF_RUNS));

    if (nruns == MS_CD_FILL)
        return ms_fail(MS_ERR_FORMAT, "full crash dump (DumpType 1) has no run list: NumberOfRuns is the unset PAGE fill");
    if (nruns == 0)
        return ms_fail(MS_ERR_FORMAT, "full crash dump (DumpType 1) lists no physical memory runs (NumberOfRuns 0)");
    if (nruns > max_runs)
        return ms_fail(MS_ERR_FORMAT, "crash dump NumberOfRuns is %u, but at most %u runs fit in the %s header", nruns,
                       max_runs, is_64bit ? "64-bit" : "32-bit");

    uint64_t file_pages = (src->size - header_size) / MS_CD_PAGE_SIZE;
    uint64_t page_index = 0;      /* pages of the runs before this one */
    uint64_t prev_end = 0;
    for (uint32_t i = 0; i < nruns; i++) {
        uint64_t base, count;
        if (is_64bit) {
            const uint8_t *r = pmd + PMD64_RUNS + (size_t)i * PMD64_RUN_SIZE;
            base = ms_cd_le64(r);
            count = ms_cd_le64(r + 8);
        } else {
            const uint8_t *r = pmd + PMD32_RUNS + (size_t)i * PMD32_RUN_SIZE;
            base = ms_cd_le32(r);
            count = ms_cd_le32(r + 4);
        }
        if (base >= MS_CD_MAX_PFN || count > MS_CD_MAX_PFN - base)
            return ms_fail(MS_ERR_FORMAT,
                           "crash dump run %u (BasePage 0x%llx, PageCount 0x%llx) lies beyond physical page 0x%llx", i,
                           (unsigned long long)base, (unsigned long long)count, (unsigned long long)MS_CD_MAX_PFN);
        if (i > 0 && base < prev_end)
            return ms_fail(MS_ERR_FORMAT,
                           "crash dump run %u starts at page 0x%llx, before run %u ends at page 0x%llx; runs must ascend",
                           i, (unsigned long long)base, i - 1, (unsigned long long)prev_end);
        if (count > file_pages - page_index)
            return ms_fail(MS_ERR_TRUNCATED,
                           "crash dump run %u (pages 0x%llx-0x%llx) needs file bytes up to 0x%llx, but the file ends at "
                           "0x%llx (truncated dump?)",
                           i, (unsigned long long)base, (unsigned long long)(base + count),
                           (unsigned long long)(header_size + (page_index + count) * MS_CD_PAGE_SIZE),
                           (unsigned long long)src->size);
        ms_status st = ms_runmap_add(map, base * MS_CD_PAGE_SIZE, count * MS_CD_PAGE_SIZE,
                                     header_size + page_index * MS_CD_PAGE_SIZE);
        if (st != MS_OK)
            return st;
        page_index += count;
        prev_end = base + count;
    }
    return MS_OK;
}

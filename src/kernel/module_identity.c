#include "module_identity.h"

#include <stdio.h>
#include <string.h>

ms_status ms_vspace_pe_read(void *user, uint64_t rva, void *buf, size_t len)
{
    ms_vspace_pe_reader *r = user;
    return ms_vspace_read(r->vs, r->base + rva, buf, len);
}

ms_status ms_module_identify(ms_vspace *vs, uint64_t base, uint64_t size, ms_pdb_id *pdb, char *version, size_t cap)
{
    (void)size;
    memset(pdb, 0, sizeof *pdb);
    if (cap > 0)
        version[0] = '\0';
    ms_vspace_pe_reader reader = {vs, base};
    ms_pe pe;
    ms_status st = ms_pe_parse(ms_vspace_pe_read, &reader, &pe);
    if (st != MS_OK)
        return st;
    ms_pe_codeview cv;
    if (ms_pe_codeview_get(&pe, &cv) == MS_OK) {
        /* Some linkers record a full build path; the file name identifies the PDB. */
        const char *name = strrchr(cv.pdb_name, '\\');
        snprintf(pdb->name, sizeof pdb->name, "%.63s", name ? name + 1 : cv.pdb_name);
        snprintf(pdb->guid, sizeof pdb->guid, "%s", cv.guid);
        pdb->age = cv.age;
    }
    ms_pe_version ver;
    if (cap > 0 && ms_pe_version_get(&pe, &ver) == MS_OK)
        snprintf(version, cap, "%s", ver.file_string);
    return MS_OK;
}

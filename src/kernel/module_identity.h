/* Reading a loaded module's own PE headers: PDB identity and file version. */
#ifndef MS_KERNEL_MODULE_IDENTITY_H
#define MS_KERNEL_MODULE_IDENTITY_H

#include "memsift/kernel.h"
#include "pe/pe.h"

/* Read callback context for a PE image mapped at `base` in `vs`. */
typedef struct ms_vspace_pe_reader {
    ms_vspace *vs;
    uint64_t base;
} ms_vspace_pe_reader;

ms_status ms_vspace_pe_read(void *user, uint64_t rva, void *buf, size_t len);

/* Fill the PDB identity and file version of the module at base; fields stay
 * empty when its headers are paged out.  Returns the status of the PE parse. */
ms_status ms_module_identify(ms_vspace *vs, uint64_t base, uint64_t size, ms_pdb_id *pdb, char *version, size_t cap);

#endif

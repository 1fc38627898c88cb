/* memsift: finding the Windows kernel in an image, offline.
 *
 * ms_kernel_open works out the paging mode and DTB, the kernel's base and
 * PDB identity, the build, KDBG (decoding it on Windows 8+ x64) and the list
 * heads, from the image alone: crash-dump header hints are used when present
 * but never required.  Every fact records how it was found.
 */
#ifndef MEMSIFT_KERNEL_H
#define MEMSIFT_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"
#include "memsift/image.h"
#include "memsift/paging.h"
#include "memsift/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ms_kernel ms_kernel;

typedef enum ms_kernel_log_level { MS_KLOG_DEBUG, MS_KLOG_INFO, MS_KLOG_WARNING } ms_kernel_log_level;
typedef void (*ms_kernel_log_fn)(void *user, ms_kernel_log_level level, const char *message);

typedef struct ms_kernel_options {
    int ignore_header_hints;   /* do not use the crash-dump header's DTB and list heads */
    uint64_t dtb;              /* a DTB the user knows; 0 to discover */
    uint64_t kernel_base;      /* a kernel base the user knows; 0 to discover */
    ms_profile_db *profiles;   /* NULL: the built-in profiles */
    ms_kernel_log_fn log;      /* warnings (fallbacks, partial results); may be NULL */
    void *log_user;
} ms_kernel_options;

void ms_kernel_options_init(ms_kernel_options *opts);

typedef struct ms_pdb_id {
    char name[64];             /* "ntkrnlmp.pdb" */
    char guid[33];             /* 32 upper-case hex digits, "" if unknown */
    uint32_t age;
} ms_pdb_id;

typedef struct ms_kernel_info {
    ms_paging_mode paging;
    unsigned pointer_size;
    uint64_t dtb;
    const char *dtb_source;          /* "crash dump header", "self-referencing page table", ... */
    uint64_t kernel_base;
    uint64_t kernel_size;
    const char *kernel_base_source;
    ms_pdb_id pdb;
    uint32_t build;                  /* e.g. 19041 */
    uint32_t nt_major, nt_minor;     /* e.g. 10.0 */
    const char *build_source;
    char file_version[32];           /* ntoskrnl FileVersion, "" if unreadable */
    uint64_t kdbg;                   /* VA of KDDEBUGGER_DATA64, 0 if not found */
    int kdbg_encoded;
    uint64_t kd_version_block;
    uint64_t ps_active_process_head;
    const char *ps_active_process_head_source;
    uint64_t ps_loaded_module_list;
    const char *ps_loaded_module_list_source;
    uint64_t system_time;            /* FILETIME from KUSER_SHARED_DATA, else the dump header */
    uint32_t processors;
    char profile[64];                /* name of the kernel profile in use */
    int profile_exact;               /* 0: nearest build, with a warning */
    /* Where the EPROCESS offsets came from: the profile, or a structure probe
     * of the live process list when no exact profile exists. */
    char eprocess_layout[192];
} ms_kernel_info;

/* `image` must outlive the kernel handle. */
ms_status ms_kernel_open(ms_image *image, const ms_kernel_options *opts, ms_kernel **out);
void ms_kernel_close(ms_kernel *kernel);

const ms_kernel_info *ms_kernel_get_info(const ms_kernel *kernel);
ms_vspace *ms_kernel_vspace(ms_kernel *kernel);
const ms_profile *ms_kernel_profile(const ms_kernel *kernel);
ms_profile_db *ms_kernel_profiles(ms_kernel *kernel);

/* ---- processes ---- */

typedef struct ms_process {
    uint64_t offset;                 /* EPROCESS virtual address */
    uint64_t pid;
    uint64_t ppid;
    char name[16];                   /* ImageFileName: 15 characters at most */
    char full_name[260];             /* from the image path when held, else "" */
    uint32_t threads;
    uint64_t create_time;            /* FILETIME, 0 if none */
    uint64_t exit_time;
    uint64_t dtb;
} ms_process;

/* Return non-zero from a callback to stop the walk. */
typedef int (*ms_process_fn)(const ms_process *process, void *user);

/* Walk PsActiveProcessHead, with a loop guard and a cap.  A broken link ends
 * the walk with a warning; processes read so far are kept. */
ms_status ms_kernel_processes(ms_kernel *kernel, ms_process_fn fn, void *user);

/* Decode one EPROCESS at a virtual address (used by scanners too). */
ms_status ms_kernel_read_process(ms_kernel *kernel, uint64_t eprocess, ms_process *out);

/* ---- modules ---- */

typedef struct ms_module {
    uint64_t offset;                 /* LDR_DATA_TABLE_ENTRY virtual address */
    uint64_t base;
    uint64_t size;
    char name[128];
    char path[520];
    ms_pdb_id pdb;                   /* guid "" when the headers are not readable */
    char file_version[32];
} ms_module;

typedef int (*ms_module_fn)(const ms_module *module, void *user);

ms_status ms_kernel_modules(ms_kernel *kernel, ms_module_fn fn, void *user);
/* The first module whose base name matches, case-insensitively. */
ms_status ms_kernel_find_module(ms_kernel *kernel, const char *name, ms_module *out);

#ifdef __cplusplus
}
#endif
#endif

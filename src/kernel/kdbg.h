/* KDDEBUGGER_DATA64 ("KDBG"): the kernel's debugger data block.  On x64
 * Windows 8 and later it is kept encoded while KdpDataBlockEncoded is set;
 * the keys are globals that nt!KdCopyDataBlock reads. */
#ifndef MS_KERNEL_KDBG_H
#define MS_KERNEL_KDBG_H

#include <stdint.h>

#include "memsift/paging.h"
#include "pe/pe.h"

/* Offsets in KDDEBUGGER_DATA64 (the same on x86, with 64-bit fields). */
#define MS_KDBG_OWNER_TAG 0x10
#define MS_KDBG_SIZE 0x14
#define MS_KDBG_KERN_BASE 0x18
#define MS_KDBG_PS_LOADED_MODULE_LIST 0x48
#define MS_KDBG_PS_ACTIVE_PROCESS_HEAD 0x50
#define MS_KDBG_MM_PFN_DATABASE 0xc0
#define MS_KDBG_NT_BUILD_LAB 0x208
#define MS_KDBG_KI_PROCESSOR_BLOCK 0x218
#define MS_KDBG_TAG 0x4742444bu /* "KDBG" */
#define MS_KDBG_MAX_SIZE 0x1000

typedef struct ms_kdbg_keys {
    uint64_t wait_never;        /* nt!KiWaitNever */
    uint64_t wait_always;       /* nt!KiWaitAlways */
    uint64_t encoded_flag_va;   /* address of nt!KdpDataBlockEncoded */
} ms_kdbg_keys;

typedef struct ms_kdbg {
    uint64_t address;
    int encoded;
    uint32_t size;
    uint64_t kern_base;
    uint64_t ps_loaded_module_list;
    uint64_t ps_active_process_head;
    uint64_t mm_pfn_database;
    uint64_t nt_build_lab;      /* VA of the NtBuildLab string */
    uint64_t ki_processor_block; /* VA of KiProcessorBlock, the array of KPRCB pointers */
} ms_kdbg;

/* Decode one encoded quadword. */
uint64_t ms_kdbg_decode(uint64_t value, const ms_kdbg_keys *keys);

/* What KdCopyDataBlock's code says: the globals' VAs. */
typedef struct ms_kdbg_code {
    uint64_t function;          /* VA of the matched code */
    uint64_t kdbg;              /* &KdDebuggerDataBlock */
    uint64_t encoded_flag;      /* &KdpDataBlockEncoded */
    uint64_t wait_never;        /* &KiWaitNever */
    uint64_t wait_always;       /* &KiWaitAlways */
} ms_kdbg_code;

/* Find KdCopyDataBlock in the kernel's code sections with capstone. */
ms_status ms_kdbg_find_code(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdbg_code *out);

/* Read a KDBG at `va`; `keys` NULL when it is plain.  Checks the tag, the
 * size and that KernBase is a kernel address. */
ms_status ms_kdbg_read(ms_vspace *vs, uint64_t va, const ms_kdbg_keys *keys, ms_kdbg *out);

/* Search the kernel image's sections for a plain KDBG whose KernBase is
 * `kernel_base`. */
ms_status ms_kdbg_scan_image(ms_vspace *vs, uint64_t kernel_base, const ms_pe *pe, ms_kdbg *out);

#endif

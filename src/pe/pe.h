/* PE images (drivers, the kernel, DLLs) read through an RVA callback.
 *
 * The same parser serves a module mapped in a virtual address space (the
 * callback reads base+rva and may report MS_ERR_NOT_PRESENT or
 * MS_ERR_PAGED_OUT for missing pages) and a PE file on disk (ms_pe_file maps
 * its sections to RVAs).  Every field is hostile input: counts, RVAs and
 * strings are bounded before use.
 */
#ifndef MS_PE_PE_H
#define MS_PE_PE_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/error.h"

/* Read exactly `len` bytes at `rva`.  MS_ERR_NOT_PRESENT / MS_ERR_PAGED_OUT
 * for missing pages; other statuses are passed through. */
typedef ms_status (*ms_pe_read_fn)(void *user, uint64_t rva, void *buf, size_t len);

#define MS_PE_MAX_SECTIONS 96            /* the Windows loader's own limit */
#define MS_PE_MAX_IMAGE (512u << 20)     /* SizeOfImage accepted */
#define MS_PE_MAX_DATADIRS 16

#define MS_PE_DIR_EXPORT 0
#define MS_PE_DIR_RESOURCE 2
#define MS_PE_DIR_EXCEPTION 3
#define MS_PE_DIR_DEBUG 6

#define MS_PE_SCN_CODE 0x00000020u
#define MS_PE_SCN_EXECUTE 0x20000000u
#define MS_PE_SCN_READ 0x40000000u
#define MS_PE_SCN_WRITE 0x80000000u

#define MS_PE_MACHINE_I386 0x014c
#define MS_PE_MACHINE_AMD64 0x8664
#define MS_PE_MACHINE_ARM64 0xaa64

typedef struct ms_pe_section {
    char name[9];                 /* NUL-terminated, non-printable bytes as '?' */
    uint32_t rva;
    uint32_t virtual_size;        /* clipped to SizeOfImage */
    uint32_t raw_offset;
    uint32_t raw_size;
    uint32_t characteristics;
} ms_pe_section;

typedef struct ms_pe_datadir {
    uint32_t rva;
    uint32_t size;
} ms_pe_datadir;

typedef struct ms_pe {
    ms_pe_read_fn read;
    void *user;
    uint32_t nt_offset;           /* e_lfanew */
    int is_64;                    /* PE32+ */
    uint16_t machine;
    uint16_t characteristics;
    uint32_t timestamp;
    uint64_t image_base;
    uint32_t entry_point;
    uint32_t size_of_image;
    uint32_t size_of_headers;
    uint32_t checksum;
    uint16_t subsystem;
    uint32_t datadir_count;
    ms_pe_datadir datadirs[MS_PE_MAX_DATADIRS];
    uint32_t section_count;
    ms_pe_section sections[MS_PE_MAX_SECTIONS];
} ms_pe;

/* Parse the DOS, NT and section headers.  `read` and `user` are kept in
 * `out` for the other calls and must outlive it. */
ms_status ms_pe_parse(ms_pe_read_fn read, void *user, ms_pe *out);

/* Read [rva, rva+len) of the image; fails when it passes SizeOfImage. */
ms_status ms_pe_read(const ms_pe *pe, uint64_t rva, void *buf, size_t len);

/* Read a NUL-terminated ASCII string of at most `cap`-1 bytes.  Reads page
 * by page so a short string next to a missing page still reads. */
ms_status ms_pe_read_string(const ms_pe *pe, uint64_t rva, char *buf, size_t cap);

/* The section holding `rva`, or NULL. */
const ms_pe_section *ms_pe_section_at(const ms_pe *pe, uint64_t rva);

/* A data directory, or NULL when absent or empty. */
const ms_pe_datadir *ms_pe_datadir_get(const ms_pe *pe, unsigned index);

/* CodeView debug record. */
typedef enum ms_pe_cv_kind {
    MS_PE_CV_RSDS = 1,            /* PDB 7.0: GUID + age */
    MS_PE_CV_NB10                 /* PDB 2.0: 32-bit signature + age */
} ms_pe_cv_kind;

typedef struct ms_pe_codeview {
    ms_pe_cv_kind kind;
    char guid[33];                /* RSDS: 32 uppercase hex digits; NB10: 8 */
    uint32_t signature;           /* NB10 only */
    uint32_t age;
    char pdb_name[260];
} ms_pe_codeview;

/* The first CodeView record of the debug directory.  MS_ERR_NOT_FOUND when
 * there is none; the page status when it could not be read. */
ms_status ms_pe_codeview_get(const ms_pe *pe, ms_pe_codeview *out);

#define MS_PE_MAX_EXPORTS 65536u

/* The export directory's module name ("tcpip.sys"). */
ms_status ms_pe_export_name(const ms_pe *pe, char *buf, size_t cap);

/* RVA of the export `name`.  MS_ERR_NOT_FOUND when absent,
 * MS_ERR_UNSUPPORTED for a forwarder. */
ms_status ms_pe_export_find(const ms_pe *pe, const char *name, uint32_t *rva);

typedef struct ms_pe_version {
    uint16_t file[4];             /* FileVersion: major, minor, build, revision */
    uint16_t product[4];
    char file_string[24];         /* "10.0.19041.4780" */
} ms_pe_version;

/* VS_FIXEDFILEINFO of the first RT_VERSION resource. */
ms_status ms_pe_version_get(const ms_pe *pe, ms_pe_version *out);

/* A PE file on disk, its sections placed at their RVAs. */
typedef struct ms_pe_file ms_pe_file;

/* Copies `data`; `len` must be at most MS_PE_MAX_IMAGE. */
ms_status ms_pe_file_from_buffer(const uint8_t *data, size_t len, ms_pe_file **out);
ms_status ms_pe_file_open(const char *path, ms_pe_file **out);
void ms_pe_file_close(ms_pe_file *file);

/* The parsed headers; their read callback is ms_pe_file_read on `file`. */
const ms_pe *ms_pe_file_pe(const ms_pe_file *file);

/* RVA read callback: headers and section raw data by RVA, zeros for the
 * part of a section past its raw data, MS_ERR_NOT_PRESENT elsewhere. */
ms_status ms_pe_file_read(void *file, uint64_t rva, void *buf, size_t len);

#endif

/* info: what the image container says about the system, one fact per row,
 * in the shape of Volatility 3's windows.info (Variable, Value). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memsift/memsift.h"
#include "registry.h"

/* Headers Windows never filled keep the "PAGE" fill pattern. */
#define PAGE_FILL 0x45474150u

static ms_status fact(ms_plugin_context *ctx, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ms_status fact(ms_plugin_context *ctx, const char *name, const char *fmt, ...)
{
    char value[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    ms_value row[2] = {ms_val_str(name), ms_val_str(value)};
    return ms_plugin_emit(ctx, row);
}

#define FACT(...)                                 \
    do {                                          \
        ms_status fact_st = fact(ctx, __VA_ARGS__); \
        if (fact_st != MS_OK)                     \
            return fact_st;                       \
    } while (0)

static const char *paging_mode(const ms_dump_header *h)
{
    switch (h->machine_type) {
    case MS_MACHINE_AMD64: return "x64 (4-level)";
    case MS_MACHINE_ARM64: return "ARM64 (not supported for translation)";
    case MS_MACHINE_I386:
        return h->pae_enabled == 1 ? "x86 PAE" : h->pae_enabled == 0 ? "x86" : "x86 (PAE not recorded)";
    }
    return "unknown";
}

static const char *product_type(uint32_t type)
{
    switch (type) {
    case 1: return "WinNt (workstation)";
    case 2: return "LanManNt (domain controller)";
    case 3: return "ServerNt (server)";
    }
    return NULL;
}

static void attributes_text(uint32_t attributes, char *buf, size_t size)
{
    static const char *const bits[] = {
        "HiberCrash",        "DumpDevicePowerOff",    "InsufficientDumpfileSize", "KernelGeneratedTriageDump",
        "LiveDumpGeneratedDump", "DumpIsGeneratedOffline", "FilterDumpFile",      "EarlyBootCrash",
        "EncryptedDumpData", "DecryptedDump",
    };
    if (attributes == PAGE_FILL) {
        snprintf(buf, size, "not recorded");
        return;
    }
    size_t n = (size_t)snprintf(buf, size, "0x%" PRIx32, attributes);
    const char *sep = " (";
    for (size_t i = 0; i < sizeof bits / sizeof bits[0] && n < size; i++) {
        if (attributes & (1u << i)) {
            n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, bits[i]);
            sep = ", ";
        }
    }
    if (n < size && sep[0] == ',')
        snprintf(buf + n, size - n, ")");
}

/* A comment made only of the PAGE fill is no comment. */
static int comment_is_fill(const char *comment)
{
    size_t len = strlen(comment);
    for (size_t i = 0; i < len; i++)
        if (comment[i] != "PAGE"[i % 4])
            return 0;
    return 1;
}

static ms_status header_facts(ms_plugin_context *ctx, const ms_dump_header *h)
{
    char buf[256];
    FACT("Dump type", "%s (DumpType %" PRIu32 ")", ms_dump_type_name(h->dump_type), h->dump_type);
    FACT("Machine", "%s (0x%04" PRIx32 ")", ms_machine_name(h->machine_type), h->machine_type);
    FACT("Paging mode", "%s", paging_mode(h));
    FACT("DTB", "0x%" PRIx64, h->directory_table_base);
    FACT("NT build", "%" PRIu32, h->minor_version);
    FACT("NT major version", "0x%" PRIx32 "%s", h->major_version,
         h->major_version == 0xF ? " (free build)" : h->major_version == 0xC ? " (checked build)" : "");
    FACT("Processors", "%" PRIu32, h->num_processors);
    FACT("Bugcheck code", "0x%08" PRIx32, h->bugcheck_code);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "Bugcheck parameter %d", i + 1);
        FACT(name, "0x%" PRIx64, h->bugcheck_params[i]);
    }
    if (h->system_time != 0 && ms_filetime_format_text(h->system_time, buf, sizeof buf) == MS_OK)
        FACT("System time", "%s", buf);
    else
        FACT("System time", "not recorded (0x%" PRIx64 ")", h->system_time);
    uint64_t secs = h->system_uptime / 10000000u;
    FACT("System uptime", "%" PRIu64 " days, %02u:%02u:%02u", secs / 86400, (unsigned)(secs / 3600 % 24),
         (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
    FACT("PsActiveProcessHead", "0x%" PRIx64, h->ps_active_process_head);
    FACT("PsLoadedModuleList", "0x%" PRIx64, h->ps_loaded_module_list);
    FACT("KdDebuggerDataBlock", "0x%" PRIx64, h->kd_debugger_data_block);
    FACT("PfnDataBase", "0x%" PRIx64, h->pfn_database);
    attributes_text(h->attributes, buf, sizeof buf);
    FACT("Dump attributes", "%s", buf);
    const char *product = product_type(h->product_type);
    if (product != NULL)
        FACT("Product type", "%s", product);
    else if (h->product_type != PAGE_FILL)
        FACT("Product type", "%" PRIu32, h->product_type);
    if (h->suite_mask != PAGE_FILL)
        FACT("Suite mask", "0x%" PRIx32, h->suite_mask);
    if (h->comment[0] != '\0' && !comment_is_fill(h->comment))
        FACT("Comment", "%s", h->comment);
    if (h->bitmap_bits > 0)
        FACT("Bitmap pages", "%" PRIu64 " of %" PRIu64 " present", h->bitmap_pages, h->bitmap_bits);
    return MS_OK;
}

static const char *source_note(const char *source)
{
    return source != NULL ? source : "not found";
}

/* What kernel discovery found in memory, each with how it was found. */
static ms_status kernel_facts(ms_plugin_context *ctx)
{
    ms_kernel *kernel;
    if (ms_plugin_kernel(ctx, &kernel) != MS_OK) {
        FACT("Kernel", "not found: %s", ms_last_error());
        return MS_OK;
    }
    const ms_kernel_info *k = ms_kernel_get_info(kernel);
    FACT("Kernel paging mode", "%s", ms_paging_mode_name(k->paging));
    FACT("Kernel DTB", "0x%" PRIx64 " (%s)", k->dtb, source_note(k->dtb_source));
    FACT("Kernel base", "0x%" PRIx64 " (%s)", k->kernel_base, source_note(k->kernel_base_source));
    if (k->kernel_size != 0)
        FACT("Kernel size", "0x%" PRIx64, k->kernel_size);
    if (k->pdb.guid[0] != '\0')
        FACT("Kernel PDB", "%s %s age %" PRIu32, k->pdb.name, k->pdb.guid, k->pdb.age);
    else
        FACT("Kernel PDB", "not readable (the kernel's PE headers or debug record are not in the image)");
    if (k->file_version[0] != '\0')
        FACT("Kernel file version", "%s", k->file_version);
    FACT("NT version", "%" PRIu32 ".%" PRIu32, k->nt_major, k->nt_minor);
    if (k->build != 0)
        FACT("Kernel build", "%" PRIu32 " (%s)", k->build, source_note(k->build_source));
    if (k->profile[0] != '\0')
        FACT("Kernel profile", "%s%s", k->profile, k->profile_exact ? "" : " (nearest build; no exact profile)");
    if (k->eprocess_layout[0] != '\0')
        FACT("EPROCESS layout", "%s", k->eprocess_layout);
    if (k->kdbg != 0)
        FACT("KDBG", "0x%" PRIx64 "%s", k->kdbg, k->kdbg_encoded ? " (encoded; decoded)" : "");
    else
        FACT("KDBG", "not found");
    if (k->kd_version_block != 0)
        FACT("KdVersionBlock", "0x%" PRIx64, k->kd_version_block);
    FACT("Process list head", "0x%" PRIx64 " (%s)", k->ps_active_process_head,
         source_note(k->ps_active_process_head_source));
    FACT("Module list head", "0x%" PRIx64 " (%s)", k->ps_loaded_module_list,
         source_note(k->ps_loaded_module_list_source));
    char when[64];
    if (k->system_time != 0 && ms_filetime_format_text(k->system_time, when, sizeof when) == MS_OK)
        FACT("Kernel system time", "%s", when);
    if (k->processors != 0)
        FACT("Kernel processors", "%" PRIu32, k->processors);
    return MS_OK;
}

static int kernel_discoverable(const ms_image_info *info)
{
    const ms_dump_header *h = &info->header;
    return info->has_physical_memory &&
           (!h->has_header || h->machine_type == MS_MACHINE_I386 || h->machine_type == MS_MACHINE_AMD64);
}

static ms_status info_run(ms_plugin_context *ctx)
{
    const ms_image_info *info = ms_image_get_info(ms_plugin_image(ctx));
    if (info->format == MS_FORMAT_VMWARE && info->vmware_metadata != NULL) {
        const char *slash = strrchr(info->vmware_metadata, '/');
        FACT("Image format", "%s with %s (%zu regions%s)%s", ms_image_format_name(info->format),
             slash != NULL ? slash + 1 : info->vmware_metadata, info->vmware_regions,
             info->vmware_regions == 0 ? ", read flat" : "", info->compressed ? ", gzip-compressed" : "");
    } else {
        FACT("Image format", "%s%s", ms_image_format_name(info->format), info->compressed ? ", gzip-compressed" : "");
    }
    FACT("Image size", "%" PRIu64 " bytes%s", info->file_size, info->compressed ? " (decompressed)" : "");
    if (info->header.has_header) {
        ms_status st = header_facts(ctx, &info->header);
        if (st != MS_OK)
            return st;
    }
    FACT("Physical memory present", "%" PRIu64 " bytes (%.1f MiB)", info->present_bytes,
         (double)info->present_bytes / (1024.0 * 1024.0));
    FACT("Physical ranges", "%zu", info->range_count);
    FACT("Max physical address", "0x%" PRIx64, info->max_address);
    if (kernel_discoverable(info))
        return kernel_facts(ctx);
    return MS_OK;
}

static const char *const info_aliases[] = {"windows.info", "windows.info.Info", NULL};

static const ms_column info_columns[] = {
    {"Variable", MS_VT_STR, 24},
    {"Value", MS_VT_STR, 0},
};

const ms_plugin ms_plugin_info = {
    "info",
    info_aliases,
    "Show what the image container says about the system",
    "Lists the facts the image's container records: its format, and for Windows crash dumps the header's "
    "dump type, machine, paging mode, DTB, NT build, processors, bugcheck, system time and uptime, the "
    "kernel list heads (PsActiveProcessHead, PsLoadedModuleList), KdDebuggerDataBlock and PfnDataBase; then "
    "how much physical memory the image holds. When the image holds memory, kernel discovery adds what it "
    "found offline (paging mode, DTB, kernel base, PDB GUID/age, build, KDBG, list heads, system time, "
    "processors and the profile in use), each with how it was found. Works on triage dumps (header facts only).",
    NULL,
    0,
    info_columns,
    sizeof info_columns / sizeof info_columns[0],
    0,
    info_run,
};
